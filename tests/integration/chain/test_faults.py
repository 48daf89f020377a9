"""Faults: duplicate and concurrent events, lost events, throttling, foreign jobs, odd keys."""

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
from tests.integration.chain.flow import (
    advance,
    drop,
    finish_job,
    jobs,
    manifest_lines,
    model_arn,
    object_created,
    reconcile,
)
from tests.support import DATA_BUCKET, LambdaContext, Stack


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


def test_a_duplicate_manifest_event_queues_once_and_a_new_upload_is_new_work(running: Stack) -> None:
    version = running.s3.head_object(Bucket=DATA_BUCKET, Key="chains/birds/inbox/birds.manifest")["VersionId"]
    again = start_app.lambda_handler(object_created("chains/birds/inbox/birds.manifest", version), LambdaContext())
    assert again["action"] == "duplicate"
    assert len(running.ports.store.list_rounds("birds")) == 2

    outcome = drop(running, "chains/birds/inbox/birds.manifest", manifest_lines(10, start=5000))
    assert outcome["action"] == "queued"
    assert [r.number for r in running.ports.store.list_rounds("birds")] == [1, 2, 3, 4]


@pytest.mark.parametrize("encode", [False, True], ids=["raw key", "url-encoded key"])
def test_keys_with_spaces_plus_and_percent_work_encoded_or_not(
    stack: Stack, spec_document: dict[str, Any], encode: bool
) -> None:
    from urllib.parse import quote_plus

    drop(stack, "chains/birds/chain.json", json.dumps(spec_document))
    key = "chains/birds/inbox/my batch+1 100%.manifest"
    event_key = "/".join(quote_plus(part) for part in key.split("/")) if encode else key

    outcome = drop(stack, key, manifest_lines(10), event_key=event_key)

    assert outcome["action"] == "queued"
    [record] = stack.ports.store.list_rounds("birds")[:1]
    assert record.manifest_name == "my batch+1 100%.manifest"


def test_a_manifest_that_arrives_before_its_chain_json_waits_and_is_picked_up(
    stack: Stack, spec_document: dict[str, Any]
) -> None:
    assert drop(stack, "chains/birds/inbox/early.manifest", manifest_lines(10))["action"] == "waiting"
    assert jobs() == {}

    outcome = drop(stack, "chains/birds/chain.json", json.dumps(spec_document))

    assert "1 waiting manifest(s) picked up" in outcome["detail"]
    assert len(jobs()) == 1


def test_a_manifest_dropped_mid_chain_queues_behind_the_running_round(running: Stack) -> None:
    drop(running, "chains/birds/inbox/later.manifest", manifest_lines(4, start=9000))
    assert len(jobs()) == 1
    assert [r.status for r in running.ports.store.list_rounds("birds")] == ["running", "queued", "queued", "queued"]


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


def test_a_lost_completed_event_is_repaired_by_the_reconciler(running: Stack) -> None:
    first = _only_job()
    finish_job(first, human=1250, machine=0)  # trained no model: the chain carries none, and says why

    repaired = reconcile()

    assert repaired["outcomes_applied"] == [first]
    record = running.ports.store.get_round("birds", 1)
    assert record is not None and record.job is not None and "trained no model" in (record.job.note or "")
    [second] = [j for j in jobs().values() if j.name != first]
    assert "InitialActiveLearningModelArn" not in second.request["LabelingJobAlgorithmsConfig"]
    assert reconcile()["outcomes_applied"] == []


def test_events_for_unknown_or_foreign_jobs_are_ignored(running: Stack) -> None:
    assert advance("gtchain-nobody-000000-r1-a1", "Completed")["action"] == "ignored"
    request = json.loads(json.dumps(jobs()[_only_job()].request))
    request.update(LabelingJobName="someone-elses-job", Tags=[{"Key": "team", "Value": "vision"}])
    running.sagemaker.create_labeling_job(**request)
    moto_labeling.update_job("123456789012", "us-east-1", "someone-elses-job", status="Completed")
    assert advance("someone-elses-job", "Completed") == {"action": "ignored", "detail": "not a gtchain job"}
    assert running.ports.store.get_round("birds", 1).status == "running"  # type: ignore[union-attr]


def test_a_failed_round_pauses_the_chain_and_chain_json_resumes_it_under_a_new_name(
    running: Stack, spec_document: dict[str, Any]
) -> None:
    first = _only_job()
    finish_job(first, "Failed", reason="ClientError: the manifest could not be read")
    advance(first, "Failed")
    chain = running.ports.store.get_chain("birds")
    assert chain is not None and chain.state == "paused" and "could not be read" in (chain.pause_reason or "")
    kinds = [e["detail-type"] for e in running.published()]
    assert "Round Failed" in kinds and "Chain Paused" in kinds
    assert any("paused" in n["Subject"] for n in running.notifications())

    drop(running, "chains/birds/chain.json", json.dumps(spec_document))

    retried = [j for j in jobs().values() if j.name != first]
    assert [j.name for j in retried] == [first.replace("-a1", "-a2")]
    assert running.ports.store.get_chain("birds").state == "active"  # type: ignore[union-attr]
    assert "Chain Resumed" in [e["detail-type"] for e in running.published()]


def test_a_job_name_taken_by_an_earlier_attempt_of_this_chain_counts_as_created(running: Stack) -> None:
    record = running.ports.store.get_round("birds", 1)
    assert record is not None and record.job is not None
    with pytest.raises(ClientError, match="ResourceInUse"):
        running.sagemaker.create_labeling_job(**jobs()[record.job.name].request)
    # a second launch of the same round (e.g. the reconciler after a crash) adopts the existing job
    from gtchain.service.chain import launch

    chain = running.ports.store.get_chain("birds")
    assert chain is not None
    launch(
        running.ports, chain, record.model_copy(update={"job": record.job.model_copy(update={"status": "starting"})})
    )
    assert len(jobs()) == 1


def test_the_budget_pauses_the_chain_before_a_round_that_could_exceed_it(
    stack: Stack, spec_document: dict[str, Any]
) -> None:
    # each round's worst case: 1,250 x (0.08 + 3 x 0.036) = $235; with its baseline, $470
    spec_document["budgetUsd"] = 600
    drop(stack, "chains/birds/chain.json", json.dumps(spec_document))
    drop(stack, "chains/birds/inbox/birds.manifest", manifest_lines(2500))
    first = _only_job()
    finish_job(first, human=1000, machine=250, model=model_arn("r1"))  # $188 + $20 = $208 spent

    advance(first, "Completed")

    chain = stack.ports.store.get_chain("birds")
    assert chain is not None and chain.state == "paused"
    assert "could cost up to $470" in (chain.pause_reason or "") and "$208" in (chain.pause_reason or "")
    assert len(jobs()) == 1
