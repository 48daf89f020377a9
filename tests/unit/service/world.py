"""The chain service on the fakes: what tests/integration/chain/flow.py does through the handlers on moto
(drop an object and deliver its Object Created event, deliver a job's state change, run the reconciler), here
as calls into gtchain.service with tests.fakes as the ports. Ground Truth's side is tests.groundtruth, the
same for both; the World is its Side.

Test bodies read as the moto ones did: `drop(world, ...)`, `advance(job, "Completed")`, `reconcile()`,
`jobs()`, `finish_job(...)`. The functions without a world act on the one the test's fixture set up."""

from dataclasses import asdict, dataclass
from typing import Any

from gtchain.service.advance import handle_job_state_change
from gtchain.service.reconcile import reconcile_all
from gtchain.service.start import handle_object_created
from local import moto_labeling
from tests import groundtruth
from tests.fakes import FakePorts
from tests.support import ACCOUNT, DATA_BUCKET, REGION
from tests.support import finish_job as finish_in

__all__ = ["World", "advance", "deliver", "drop", "finish_job", "jobs", "reconcile"]


@dataclass
class World:
    ports: FakePorts

    # ---- the data bucket ----------------------------------------------------------------------------------

    def put(self, key: str, body: str | bytes) -> str:
        """Put an object (no event is delivered); returns its version id."""
        self.ports.objects.put(DATA_BUCKET, key, body.encode() if isinstance(body, str) else body)
        info = self.ports.objects.head(DATA_BUCKET, key)
        assert info is not None
        return info.version

    def get(self, key: str) -> bytes:
        return self.ports.objects.get_bytes(DATA_BUCKET, key)

    def keys(self, prefix: str) -> list[str]:
        return [info.key for info in self.ports.objects.list_objects(DATA_BUCKET, prefix)]

    def versions(self, key: str) -> list[bytes]:
        """Every version written of a key, oldest first."""
        return self.ports.objects.history(DATA_BUCKET, key)

    # ---- what a subscriber receives (in the shapes EventBridge and SNS deliver to a queue) ----------------

    def published(self) -> list[dict[str, Any]]:
        """gtchain's events since the last call."""
        return [{"source": "gtchain", "detail-type": kind, "detail": detail}
                for kind, detail in self.ports.publisher.new_events()]  # fmt: skip

    def notifications(self) -> list[dict[str, Any]]:
        return [
            {"Subject": subject, "Message": message} for subject, message in self.ports.publisher.new_notifications()
        ]

    # ---- Ground Truth's side (tests.groundtruth.Side) ------------------------------------------------------

    def jobs(self) -> dict[str, moto_labeling.LabelingJob]:
        return self.ports.labeling.jobs

    def finish_job(self, name: str, status: str = "Completed", **kwargs: Any) -> None:
        finish_in(name, status, jobs=self.ports.labeling, **kwargs)

    def advance(self, job_name: str, status: str) -> dict[str, Any]:
        """A Labeling Job State Change for the job (the service describes the job; the status is the event's)."""
        arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:labeling-job/{job_name}"
        return handle_job_state_change(self.ports, arn).as_result()


def _world() -> World:
    side = groundtruth.current()
    assert isinstance(side, World), "take the world fixture"
    return side


def deliver(key: str, version: str | None, world: World | None = None) -> dict[str, Any]:
    """An Object Created event for the key's version, delivered to the start service."""
    world = world or _world()
    return handle_object_created(world.ports, DATA_BUCKET, key, version).as_result()


def drop(world: World, key: str, body: str | bytes, *, event_key: str | None = None) -> dict[str, Any]:
    """Upload an object, then deliver its Object Created event."""
    version = world.put(key, body)
    return deliver(event_key or key, version, world)


def advance(job_name: str, status: str) -> dict[str, Any]:
    return _world().advance(job_name, status)


def reconcile() -> dict[str, Any]:
    return asdict(reconcile_all(_world().ports))


def jobs() -> dict[str, moto_labeling.LabelingJob]:
    return _world().jobs()


def finish_job(name: str, status: str = "Completed", **kwargs: Any) -> None:
    _world().finish_job(name, status, **kwargs)
