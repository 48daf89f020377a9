"""The `world` fixture: the emulated Ground Truth alone (see emulated.py)."""

from collections.abc import Iterator

import pytest

from tests.unit.local.emulated import World, emulated_ground_truth


@pytest.fixture
def world() -> Iterator[World]:
    with emulated_ground_truth() as emulated:
        yield emulated
