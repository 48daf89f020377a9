"""In-memory stand-ins for every port (tests only, never shipped). Each models the semantics of the
service behind the real adapter that the code relies on; tests/contract asserts the same behaviour of
both, so a test on fakes fails where the real thing would.

`fake_ports()` wires them together as `gtchain.adapters.aws_ports` wires the real ones."""

from dataclasses import dataclass

from gtchain.config import Settings
from gtchain.service.ports import Ports
from tests.fakes.labeling import FakeLabeling
from tests.fakes.objects import FakeLogs, FakeObjects, NoSuchKeyError
from tests.fakes.publisher import FakePublisher
from tests.fakes.store import FakeChainStore
from tests.support import settings as template_settings

__all__ = [
    "FakeChainStore", "FakeLabeling", "FakeLogs", "FakeObjects", "FakePorts", "FakePublisher", "NoSuchKeyError",
    "fake_ports",
]  # fmt: skip


@dataclass(frozen=True)
class FakePorts(Ports):
    """Ports whose members are the fakes (typed as such, so tests reach their injection points)."""

    store: FakeChainStore
    objects: FakeObjects
    labeling: FakeLabeling
    publisher: FakePublisher


def fake_ports(settings: Settings | None = None) -> FakePorts:
    """Fresh fakes, with the settings the template gives the functions."""
    return FakePorts(
        settings=settings or template_settings(),
        store=FakeChainStore(),
        objects=FakeObjects(),
        labeling=FakeLabeling(),
        publisher=FakePublisher(),
    )
