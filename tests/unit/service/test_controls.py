"""Controls through chain.json's "state": paused holds, stopped stops the jobs, active resumes."""

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from gtchain.service.chain import launch
from tests.groundtruth import complete, of_type, round_job, status
from tests.support import manifest_lines, model_arn
from tests.unit.service.world import World, advance, deliver, drop, finish_job, jobs, reconcile

SPEC = "chains/birds/chain.json"


def _state(world: World) -> str:
    chain = world.ports.store.get_chain("birds")
    assert chain is not None
    return chain.state


def test_stop_while_a_round_and_its_baseline_run_stops_both_and_starts_nothing(
    world: World, spec_document: dict[str, Any]
) -> None:
    # Given round 2 and its baseline running (round 1 trained a model)
    drop(world, SPEC, json.dumps(spec_document))
    drop(world, "chains/birds/inbox/birds.manifest", manifest_lines(20))
    complete(world, round_job(1), model=model_arn("r1"))
    running = [round_job(2), round_job(2, role="baseline")]
    world.published()

    # When chain.json says stopped
    drop(world, SPEC, json.dumps(spec_document | {"state": "stopped"}))

    # Then both jobs are stopped, the chain is stopped, and the user is told
    assert [jobs()[name.lower()].status for name in running] == ["Stopping", "Stopping"]
    assert _state(world) == "stopped"
    [paused] = of_type(world.published(), "Chain Paused")
    assert paused == {"chainId": "birds", "state": "stopped", "reason": "chain.json says stopped"}
    document = status(world, "birds")
    assert (document["state"], document["reason"]) == ("stopped", "chain.json says stopped")
    assert document["transitions"][0]["event"] == "chain stopped"

    # When Ground Truth reports both stopped, and the reconciler runs
    for name in running:
        finish_job(name, "Stopped", human=3)
        advance(name, "Stopped")
    assert reconcile()["launched"] == []

    # Then no new job started, the round is stopped, and what the stopped jobs labeled is spent
    assert len(jobs()) == 3
    assert world.ports.store.get_round("birds", 2).status == "stopped"  # type: ignore[union-attr]
    document = status(world, "birds")
    assert document["state"] == "stopped" and document["running"] is None
    assert document["spentUsd"] == "3.01"  # round 1: 10 x 0.188; the two stopped jobs: 3 x 0.188 each

    # When chain.json says active again, round 2 is retried under new names, baseline included
    drop(world, SPEC, json.dumps(spec_document))
    assert sorted(job.name for job in jobs().values() if job.name.endswith("-a2")) == sorted(
        [round_job(2, attempt=2), round_job(2, attempt=2, role="baseline")]
    )
    assert _state(world) == "active" and of_type(world.published(), "Chain Resumed")
    assert status(world, "birds")["running"]["attempt"] == 2


def test_paused_lets_the_running_job_finish_and_starts_nothing_until_resumed(
    world: World, spec_document: dict[str, Any]
) -> None:
    spec_document["baseline"] = False
    drop(world, SPEC, json.dumps(spec_document))
    drop(world, "chains/birds/inbox/birds.manifest", manifest_lines(20))
    first = round_job(1)

    drop(world, SPEC, json.dumps(spec_document | {"state": "paused"}))

    assert jobs()[first.lower()].status == "InProgress" and _state(world) == "paused"
    complete(world, first)
    reconcile()
    assert len(jobs()) == 1
    document = status(world, "birds")
    assert (document["state"], document["reason"]) == ("paused", "chain.json says paused")
    assert [q["round"] for q in document["queued"]] == [2]

    drop(world, SPEC, json.dumps(spec_document))

    assert len(jobs()) == 2 and _state(world) == "active"
    assert of_type(world.published(), "Chain Resumed") == [{"chainId": "birds", "state": "active"}]


def test_a_stopped_chain_never_creates_a_job_it_had_claimed(world: World, spec_document: dict[str, Any]) -> None:
    # Given a round claimed whose job could not be created yet (SageMaker throttled until retries ran out)
    drop(world, SPEC, json.dumps(spec_document))
    throttled = ClientError({"Error": {"Code": "ThrottlingException"}}, "CreateLabelingJob")
    world.ports.labeling.fail("create", throttled, times=1)
    with pytest.raises(ClientError):
        drop(world, "chains/birds/inbox/birds.manifest", manifest_lines(20))
    claimed = world.ports.store.get_round("birds", 1)
    assert claimed is not None and claimed.status == "starting" and jobs() == {}
    active_chain = world.ports.store.get_chain("birds")
    assert active_chain is not None

    # When the chain is stopped, and the reconciler runs
    drop(world, SPEC, json.dumps(spec_document | {"state": "stopped"}))
    reconcile()

    # Then the job is never created and the round is recorded stopped
    assert jobs() == {}
    record = world.ports.store.get_round("birds", 1)
    assert record is not None and record.status == "stopped" and record.job is not None
    assert "before the job was created" in (record.job.failure_reason or "")

    # And an invocation that read the chain before the stop, and creates the job anyway, stops it at once
    launch(world.ports, active_chain, claimed)
    assert [job.status for job in jobs().values()] == ["Stopping"]


def test_a_late_event_for_an_older_chain_json_does_not_undo_a_newer_one(
    world: World, spec_document: dict[str, Any]
) -> None:
    drop(world, SPEC, json.dumps(spec_document))
    stopped = world.put(SPEC, json.dumps(spec_document | {"state": "stopped"}))
    active = world.put(SPEC, json.dumps(spec_document))

    deliver(SPEC, active)
    late = deliver(SPEC, stopped)

    assert late["action"] == "superseded"
    assert _state(world) == "active"
