"""What the bench's in-process moto scenarios share: the child's environment, moto's own time, and a scenario
counted in a fresh stack provisioned from template.yaml."""

import os
import time
from collections.abc import Callable
from typing import Any

from bench.proc import ROOT

CHILD_ENV = {
    "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(ROOT), "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
    "POWERTOOLS_SERVICE_NAME": "gtchain", "POWERTOOLS_METRICS_NAMESPACE": "gtchain", "POWERTOOLS_TRACE_DISABLED": "1",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
}  # fmt: skip


class MotoTime:
    """The time spent inside moto serving requests (what AWS's own service time would replace), so an
    invocation's time splits into gtchain's share and moto's. Counts from its creation on."""

    def __init__(self) -> None:
        from moto.core.botocore_stubber import BotocoreStubber

        self.seconds = 0.0
        original = BotocoreStubber.process_request

        def timed(stubber: BotocoreStubber, request: Any) -> Any:
            started = time.perf_counter()
            try:
                return original(stubber, request)
            finally:
                self.seconds += time.perf_counter() - started

        setattr(BotocoreStubber, "process_request", timed)  # noqa: B010 (mypy: method assignment)


def counted(prepare: Callable[[Any], Any], run: Callable[[Any], Any], moto: MotoTime | None = None) -> dict[str, Any]:
    """In a fresh stack: `prepared = prepare(stack)`, then `run(prepared)` with its AWS calls counted (and, with
    `moto`, the milliseconds it spent outside moto)."""
    from moto import mock_aws

    from gtchain.adapters import forget_clients
    from local import moto_labeling
    from tests import groundtruth
    from tests.calls import counting
    from tests.support import create_stack

    moto_labeling.install()
    with mock_aws():
        forget_clients()
        stack = create_stack()
        groundtruth.use(stack)
        os.environ.update({k: str(v) for k, v in stack.settings.model_dump(by_alias=True).items()})
        prepared = prepare(stack)
        if moto is not None:
            moto.seconds = 0.0
        with counting() as calls:
            started = time.perf_counter()
            result = run(prepared)
            elapsed = time.perf_counter() - started
    forget_clients()
    measured = {"calls": dict(calls), "total": calls.total, "result": result}
    if moto is not None:
        measured["own_ms"] = (elapsed - moto.seconds) * 1000
    return measured
