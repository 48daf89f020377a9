"""Faults through the handlers on moto: concurrent deliveries on threads (conditional writes racing on the
table) and SageMaker's 5xx and throttling (the client's retries). The service's own handling of duplicate,
lost and foreign events, odd keys and the budget runs on the fakes: tests/unit/service/test_faults.py."""

import json
import threading
from typing import Any
from unittest import mock

import pytest
from botocore.exceptions import ClientError
from moto.core.exceptions import JsonRESTError
from moto.sagemaker.responses import SageMakerResponse

from functions.start import app as start_app
from local import moto_labeling
from tests.integration.chain.flow import advance, drop, jobs, manifest_lines, model_arn, object_created, reconcile
from tests.support import LambdaContext, Stack, finish_job


def _roles(names: list[str]) -> list[str]:
    return sorted(next(t["Value"] for t in jobs()[n.lower()].tags if t["Key"] == "gtchain:role") for n in names)


@pytest.fixture
def running(stack: Stack, spec_document: dict[str, Any]) -> Stack:
    """A chain whose round 1 runs, with round 2 queued behind it."""
    drop(stack, "chains/birds/chain.json", json.dumps(spec_document))
    drop(stack, "chains/birds/inbox/birds.manifest", manifest_lines(2500))
    stack.published()
    return stack


def _only_job() -> str:
    [job] = jobs().values()
    return job.name


def test_the_same_completed_event_five_times_concurrently_starts_one_round_and_one_baseline(running: Stack) -> None:
    first = _only_job()
    finish_job(first, human=600, machine=650, model=model_arn("r1"))
    results: list[dict[str, Any]] = []
    errors: list[BaseException] = []

    def deliver() -> None:
        try:
            results.append(advance(first, "Completed"))
        except BaseException as exc:  # a thread's failure must fail the test
            errors.append(exc)

    with moto_labeling.serialized_requests():
        threads = [threading.Thread(target=deliver) for _ in range(5)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    assert errors == []
    assert sorted(r["action"] for r in results) == ["applied"] + ["duplicate"] * 4
    new = [j.name for j in jobs().values() if j.name != first]
    assert _roles(new) == ["baseline", "round"]
    published = running.published()
    assert len([e for e in published if e["detail-type"] == "Round Completed"]) == 1
    assert len([e for e in published if e["detail-type"] == "Round Started"]) == 2


def test_two_manifests_dropped_at_once_start_exactly_one_round(stack: Stack, spec_document: dict[str, Any]) -> None:
    spec_document["rounds"] = 1
    drop(stack, "chains/birds/chain.json", json.dumps(spec_document))
    versions = {n: stack.put(f"chains/birds/inbox/{n}.manifest", manifest_lines(10, start=i * 10))
                for i, n in enumerate(("a", "b"))}  # fmt: skip
    errors: list[BaseException] = []

    def deliver(name: str) -> None:
        try:
            start_app.lambda_handler(object_created(f"chains/birds/inbox/{name}.manifest", versions[name]),
                                     LambdaContext())  # fmt: skip
        except BaseException as exc:
            errors.append(exc)

    with moto_labeling.serialized_requests():
        threads = [threading.Thread(target=deliver, args=(n,)) for n in versions]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    assert errors == []
    assert len(jobs()) == 1
    rounds = stack.ports.store.list_rounds("birds")
    assert sorted(r.number for r in rounds) == [1, 2]
    assert sorted(r.status for r in rounds) == ["queued", "running"]


class _FailingCreate:
    """Makes the embedded SageMaker answer CreateLabelingJob with an error for its first `times` calls."""

    def __init__(self, status: int, code: str, times: int) -> None:
        self.status, self.code, self.times, self.calls = status, code, times, 0
        self.original = SageMakerResponse.create_labeling_job

    def __enter__(self) -> "_FailingCreate":
        failing = self

        class Refused(JsonRESTError):
            code = self.status

        def create(response: SageMakerResponse) -> Any:
            failing.calls += 1
            if failing.calls <= failing.times:
                raise Refused(failing.code, "Rate exceeded")
            return failing.original(response)

        SageMakerResponse.create_labeling_job = create
        return self

    def __exit__(self, *_: object) -> None:
        SageMakerResponse.create_labeling_job = self.original


@pytest.fixture
def sleeps() -> Any:
    with mock.patch("botocore.endpoint.time.sleep") as sleep:  # the client's backoff, without the wait
        yield sleep


def test_5xx_from_create_labeling_job_is_retried_with_backoff(
    stack: Stack, spec_document: dict[str, Any], sleeps: Any
) -> None:
    drop(stack, "chains/birds/chain.json", json.dumps(spec_document))
    with _FailingCreate(503, "ServiceUnavailable", times=3) as failing:
        drop(stack, "chains/birds/inbox/birds.manifest", manifest_lines(20))

    assert failing.calls == 4 and len(jobs()) == 1
    assert sleeps.call_count == 3


def test_throttled_create_raises_when_retries_run_out_and_the_reconciler_finishes_the_start(
    stack: Stack, spec_document: dict[str, Any], sleeps: Any
) -> None:
    drop(stack, "chains/birds/chain.json", json.dumps(spec_document))
    with _FailingCreate(400, "ThrottlingException", times=7) as failing, pytest.raises(ClientError, match="Throttling"):
        drop(stack, "chains/birds/inbox/birds.manifest", manifest_lines(20))

    assert failing.calls == 7 and jobs() == {}  # the first try and six retries
    # the table is consistent: the round is claimed and 'starting', with its deterministic job name
    record = stack.ports.store.list_rounds("birds")[0]
    assert record.status == "starting" and record.job is not None
    chain = stack.ports.store.get_chain("birds")
    assert chain is not None and chain.active_round == 1

    repaired = reconcile()

    assert repaired["launched"] and list(jobs()) == [record.job.name]
    assert stack.ports.store.list_rounds("birds")[0].status == "running"
