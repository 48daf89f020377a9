"""The service's tests run on the fakes (tests/fakes): no moto, no handler, no network."""

import pytest

from tests import groundtruth
from tests.fakes import fake_ports
from tests.unit.service.world import World


@pytest.fixture
def world() -> World:
    created = World(fake_ports())
    groundtruth.use(created)
    return created
