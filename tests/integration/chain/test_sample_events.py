"""Every file in events/ (what `sam local invoke -e` takes) goes through its handler, as AWS would deliver it."""

import json
from pathlib import Path
from typing import Any

import pytest

from functions.advance import app as advance_app
from functions.reconcile import app as reconcile_app
from functions.start import app as start_app
from tests.integration.chain.flow import jobs, manifest_lines
from tests.support import DATA_BUCKET, EVENTS, LambdaContext, Stack, finish_job, load_event

HANDLED_ELSEWHERE = {"round-completed.json"}  # the reporter's tests invoke it


def test_every_sample_event_is_covered() -> None:
    covered = {
        "s3-object-created-chain-json.json", "s3-object-created-manifest.json",
        "labeling-job-state-change-completed.json", "labeling-job-state-change-failed.json",
        "scheduled-reconcile.json", "scheduled-reconcile-sweep.json",
    } | HANDLED_ELSEWHERE  # fmt: skip
    assert {p.name for p in Path(EVENTS).glob("*.json")} <= covered


def _deliver_s3(stack: Stack, name: str, body: str) -> dict[str, Any]:
    event = load_event(name)
    key = event["detail"]["object"]["key"]
    event["detail"]["bucket"]["name"] = DATA_BUCKET  # the sample names an example bucket; the stack's is generated
    event["detail"]["object"]["version-id"] = stack.put(key.replace("+", " "), body)
    return dict(start_app.lambda_handler(event, LambdaContext()))


@pytest.fixture
def started(stack: Stack, spec_document: dict[str, Any]) -> Stack:
    assert (
        _deliver_s3(stack, "s3-object-created-chain-json.json", json.dumps(spec_document))["action"] == "spec-applied"
    )
    # the sample's key is URL-encoded ("batch+one.manifest"): the object is "batch one.manifest"
    assert _deliver_s3(stack, "s3-object-created-manifest.json", manifest_lines(2500))["action"] == "queued"
    return stack


@pytest.mark.parametrize("name,status", [("labeling-job-state-change-completed.json", "Completed"),
                                         ("labeling-job-state-change-failed.json", "Failed")])  # fmt: skip
def test_state_change_samples(started: Stack, name: str, status: str) -> None:
    [job] = jobs().values()
    finish_job(job.name, status, human=1250, reason="sample failure" if status == "Failed" else None)
    event = load_event(name)
    assert event["detail"] == {"LabelingJobStatus": status}
    event["resources"] = [job.arn]  # the sample names a job of another chain incarnation

    result = advance_app.lambda_handler(event, LambdaContext())

    assert result["action"] == "applied"
    assert started.ports.store.get_round("birds", 1).status == status.lower()  # type: ignore[union-attr]


def test_the_state_change_sample_as_is_names_an_unknown_job(started: Stack) -> None:
    result = advance_app.lambda_handler(load_event("labeling-job-state-change-completed.json"), LambdaContext())
    assert result == {"action": "ignored", "detail": "unknown job"}


def test_the_schedule_sample(started: Stack) -> None:
    result = reconcile_app.lambda_handler(load_event("scheduled-reconcile.json"), LambdaContext())
    assert result["chains"] == 1 and result["outcomes_applied"] == []


def test_the_sweep_schedule_sample(started: Stack) -> None:
    result = reconcile_app.lambda_handler(load_event("scheduled-reconcile-sweep.json"), LambdaContext())
    assert result["chains"] == 1 and result["failed"] == []


def test_a_malformed_event_raises_so_the_on_failure_destination_keeps_it(stack: Stack) -> None:
    event = load_event("labeling-job-state-change-completed.json")
    del event["resources"]
    with pytest.raises(Exception, match="resources"):
        advance_app.lambda_handler(event, LambdaContext())
