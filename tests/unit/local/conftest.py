"""The `world` fixture: the emulated Ground Truth alone (see emulated.py)."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.unit.local.emulated import World, emulated_ground_truth


@pytest.fixture
def world() -> Iterator[World]:
    with emulated_ground_truth() as emulated:
        yield emulated


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The emulated Ground Truth trains real models: these run in make test, not in make test-fast."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.slow)
