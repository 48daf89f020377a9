"""A round and its baseline finish at the same moment: two reporters at once still leave a chain report
that holds both, and their comparison."""

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from gtchain.adapters.report import aws_report_ports
from gtchain.service.ports import ObjectInfo
from gtchain.service.report.job import ReportPorts, handle_round_completed
from local.moto_labeling import serialized_requests
from tests.fixtures.job_outputs import IterationPlan, OutputPlan
from tests.integration.chain.flow import model_arn
from tests.integration.report.report_flow import (
    BASELINE_2,
    ROUND_2,
    complete,
    job_names_by_role,
    read_json,
    start_chain,
    write_output,
)
from tests.support import Stack

REPORTS = "chains/birds/reports/"


class PausingObjects:
    """The real object store, but the first listing of the chain's reports runs `pause` before returning:
    the reporter then builds its chain report from a listing that is already stale."""

    def __init__(self, inner: Any, pause: Callable[[], None]) -> None:
        self._inner = inner
        self._pause: Callable[[], None] | None = pause
        self.listings = 0

    def list_objects(self, bucket: str, prefix: str) -> Iterator[ObjectInfo]:
        listed = list(self._inner.list_objects(bucket, prefix))
        if prefix == REPORTS:
            self.listings += 1
            if self._pause is not None:
                pause, self._pause = self._pause, None
                pause()
        return iter(listed)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


@pytest.mark.parametrize("late", ["round", "baseline"])
def test_two_reporters_at_once_converge_on_a_chain_report_with_both_jobs(
    report_stack: Stack, spec_document: dict[str, Any], late: str
) -> None:
    # Given round 2 (with round 1's model) and its baseline both completed
    first = start_chain(report_stack, spec_document)
    complete(report_stack, first, write_output(first, OutputPlan((IterationPlan(1250),))), model=model_arn("birds-r1"))
    names = job_names_by_role()
    complete(report_stack, names["round"], write_output(names["round"], ROUND_2), model=model_arn("birds-r2"))
    complete(report_stack, names["baseline"], write_output(names["baseline"], BASELINE_2))

    # When both are reported at once, the `late` one stalling after it listed the summaries (which then
    # lacked the other's) until the other has written the chain report
    ports = aws_report_ports(report_stack.settings)
    listed, other_done = threading.Event(), threading.Event()

    def stall() -> None:
        listed.set()
        other_done.wait(timeout=60)

    late_objects = PausingObjects(ports.objects, stall)
    late_ports = ReportPorts(late_objects, ports.labeling, ports.logs, ports.store, ports.publisher,
                             ports.reports_bucket)  # fmt: skip
    outcomes: dict[str, str] = {}
    errors: list[BaseException] = []

    def run(role: str, ports_used: ReportPorts, before: Callable[[], Any], after: Callable[[], Any]) -> None:
        try:
            before()
            outcomes[role] = handle_round_completed(ports_used, names[role]).action
        except BaseException as exc:
            errors.append(exc)
        finally:
            after()

    early = "round" if late == "baseline" else "baseline"
    with serialized_requests():
        threads = [
            threading.Thread(target=run, args=(late, late_ports, lambda: None, listed.set)),
            threading.Thread(target=run, args=(early, ports, lambda: listed.wait(timeout=60), other_done.set)),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)

    # Then the late reporter saw the listing change, built again, and the chain report holds every job
    assert errors == [] and outcomes == {"round": "reported", "baseline": "reported"}
    chain = read_json(report_stack, f"{REPORTS}chain/summary.json")
    assert [(r["round"], r["role"]) for r in chain["rounds"]] == [(2, "round"), (2, "baseline")]
    [comparison] = chain["comparisons"]
    # with the model: 250 x 0.188 + 1000 x 0.08 = 127.00 (80%); without: 500 x 0.188 + 750 x 0.08 = 154.00 (60%)
    assert (comparison["withModel"]["machineFraction"], comparison["withoutModel"]["machineFraction"]) == (0.8, 0.6)
    assert (comparison["withModel"]["totalUsd"], comparison["withoutModel"]["totalUsd"]) == ("127.00", "154.00")
    assert comparison["savedUsd"] == "27.00" and chain["carriedModel"] == {"comparisons": 1, "savedUsd": "27.00"}
    assert chain["totals"]["totalUsd"] == "281.00"
    assert late_objects.listings == 3  # built on a stale listing, re-listed (changed), built, re-listed (same)
