"""Controls through chain.json's "state": paused holds, stopped stops the jobs, active resumes."""

import json
from typing import Any
from unittest import mock

import pytest
from botocore.exceptions import ClientError

from functions.start import app as start_app
from gtchain.adapters.sagemaker import SageMakerLabeling
from gtchain.service.chain import launch
from tests.integration.chain.flow import advance, drop, jobs, manifest_lines, model_arn, object_created
from tests.integration.chain.flow import reconcile as run_reconciler
from tests.integration.lifecycle.groundtruth import complete, of_type, round_job, status
from tests.support import LambdaContext, Stack, finish_job

SPEC = "chains/birds/chain.json"


def _state(stack: Stack) -> str:
    chain = stack.ports.store.get_chain("birds")
    assert chain is not None
    return chain.state


def test_stop_while_a_round_and_its_baseline_run_stops_both_and_starts_nothing(
    stack: Stack, spec_document: dict[str, Any]
) -> None:
    # Given round 2 and its baseline running (round 1 trained a model)
    drop(stack, SPEC, json.dumps(spec_document))
    drop(stack, "chains/birds/inbox/birds.manifest", manifest_lines(20))
    complete(stack, round_job(1), model=model_arn("r1"))
    running = [round_job(2), round_job(2, role="baseline")]
    stack.published()

    # When chain.json says stopped
    drop(stack, SPEC, json.dumps(spec_document | {"state": "stopped"}))

    # Then both jobs are stopped, the chain is stopped, and the user is told
    assert [jobs()[name.lower()].status for name in running] == ["Stopping", "Stopping"]
    assert _state(stack) == "stopped"
    [paused] = of_type(stack.published(), "Chain Paused")
    assert paused == {"chainId": "birds", "state": "stopped", "reason": "chain.json says stopped"}
    document = status(stack, "birds")
    assert (document["state"], document["reason"]) == ("stopped", "chain.json says stopped")
    assert document["transitions"][0]["event"] == "chain stopped"

    # When Ground Truth reports both stopped, and the reconciler runs
    for name in running:
        finish_job(name, "Stopped", human=3)
        advance(name, "Stopped")
    assert run_reconciler()["launched"] == []

    # Then no new job started, the round is stopped, and what the stopped jobs labeled is spent
    assert len(jobs()) == 3
    assert stack.ports.store.get_round("birds", 2).status == "stopped"  # type: ignore[union-attr]
    document = status(stack, "birds")
    assert document["state"] == "stopped" and document["running"] is None
    assert document["spentUsd"] == "3.01"  # round 1: 10 x 0.188; the two stopped jobs: 3 x 0.188 each

    # When chain.json says active again, round 2 is retried under new names, baseline included
    drop(stack, SPEC, json.dumps(spec_document))
    assert sorted(job.name for job in jobs().values() if job.name.endswith("-a2")) == sorted(
        [round_job(2, attempt=2), round_job(2, attempt=2, role="baseline")]
    )
    assert _state(stack) == "active" and of_type(stack.published(), "Chain Resumed")
    assert status(stack, "birds")["running"]["attempt"] == 2


def test_paused_lets_the_running_job_finish_and_starts_nothing_until_resumed(
    stack: Stack, spec_document: dict[str, Any]
) -> None:
    spec_document["baseline"] = False
    drop(stack, SPEC, json.dumps(spec_document))
    drop(stack, "chains/birds/inbox/birds.manifest", manifest_lines(20))
    first = round_job(1)

    drop(stack, SPEC, json.dumps(spec_document | {"state": "paused"}))

    assert jobs()[first.lower()].status == "InProgress" and _state(stack) == "paused"
    complete(stack, first)
    run_reconciler()
    assert len(jobs()) == 1
    document = status(stack, "birds")
    assert (document["state"], document["reason"]) == ("paused", "chain.json says paused")
    assert [q["round"] for q in document["queued"]] == [2]

    drop(stack, SPEC, json.dumps(spec_document))

    assert len(jobs()) == 2 and _state(stack) == "active"
    assert of_type(stack.published(), "Chain Resumed") == [{"chainId": "birds", "state": "active"}]


def test_a_stopped_chain_never_creates_a_job_it_had_claimed(stack: Stack, spec_document: dict[str, Any]) -> None:
    # Given a round claimed whose job could not be created yet (SageMaker throttled until retries ran out)
    drop(stack, SPEC, json.dumps(spec_document))
    throttled = ClientError({"Error": {"Code": "ThrottlingException"}}, "CreateLabelingJob")
    with mock.patch.object(SageMakerLabeling, "create_job", side_effect=throttled), pytest.raises(ClientError):
        drop(stack, "chains/birds/inbox/birds.manifest", manifest_lines(20))
    claimed = stack.ports.store.get_round("birds", 1)
    assert claimed is not None and claimed.status == "starting" and jobs() == {}
    active_chain = stack.ports.store.get_chain("birds")
    assert active_chain is not None

    # When the chain is stopped, and the reconciler runs
    drop(stack, SPEC, json.dumps(spec_document | {"state": "stopped"}))
    run_reconciler()

    # Then the job is never created and the round is recorded stopped
    assert jobs() == {}
    record = stack.ports.store.get_round("birds", 1)
    assert record is not None and record.status == "stopped" and record.job is not None
    assert "before the job was created" in (record.job.failure_reason or "")

    # And an invocation that read the chain before the stop, and creates the job anyway, stops it at once
    launch(stack.ports, active_chain, claimed)
    assert [job.status for job in jobs().values()] == ["Stopping"]


def test_a_late_event_for_an_older_chain_json_does_not_undo_a_newer_one(
    stack: Stack, spec_document: dict[str, Any]
) -> None:
    drop(stack, SPEC, json.dumps(spec_document))
    stopped = stack.put(SPEC, json.dumps(spec_document | {"state": "stopped"}))
    active = stack.put(SPEC, json.dumps(spec_document))

    start_app.lambda_handler(object_created(SPEC, active), LambdaContext())
    late = start_app.lambda_handler(object_created(SPEC, stopped), LambdaContext())

    assert late["action"] == "superseded"
    assert _state(stack) == "active"
