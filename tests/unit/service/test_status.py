"""status.json: derived from the table after every transition, right even when transitions race."""

import json
from itertools import pairwise
from typing import Any

import pytest

from gtchain.domain.spec import ChainState
from tests.groundtruth import complete, round_job, status, write_output
from tests.support import manifest_lines, model_arn
from tests.unit.service.world import World, advance, drop, finish_job, reconcile

STATUS = "chains/birds/status.json"


def _status_writes(world: World) -> int:
    return len(world.versions(STATUS))


def test_status_shows_where_the_chain_stands(world: World, spec_document: dict[str, Any]) -> None:
    # Given the seed's chain (2 rounds, baselines, $1,000 budget) and a 20-line manifest
    drop(world, "chains/birds/chain.json", json.dumps(spec_document))
    drop(world, "chains/birds/inbox/birds.manifest", manifest_lines(20))

    # Then the status shows round 1 running, round 2 queued, the worst case committed, and the transitions
    document = status(world, "birds")
    chain = world.ports.store.get_chain("birds")
    assert chain is not None and document["version"] == chain.version
    assert document["state"] == "active" and document["reason"] is None
    running = document["running"]
    assert (running["round"], running["part"], running["job"]["name"], running["baseline"]) == (
        1, "1/2", round_job(1), None,
    )  # fmt: skip
    assert [(q["round"], q["objects"]) for q in document["queued"]] == [(2, 10)]
    assert document["manifests"] == [document["manifests"][0] | {
        "name": "birds.manifest", "objects": 20, "rounds": [1, 2], "roundsCompleted": 0, "status": "in progress",
    }]  # fmt: skip
    assert (document["spentUsd"], document["budgetUsd"], document["budgetLeftUsd"]) == ("1.88", "1000.00", "998.12")
    assert [t["event"] for t in document["transitions"]] == [
        "job running",
        "round claimed",
        "manifest queued",
        "chain created",
    ]
    assert all(t["at"].endswith("Z") for t in document["transitions"])

    # When round 1 completes with a model and the reconciler sees round 2's job progress
    complete(world, round_job(1), machine=4, model=model_arn("r1"))
    world.ports.labeling.update_job(round_job(2), label_counters={"HumanLabeled": 3, "TotalLabeled": 3})
    reconcile()

    # Then the status shows round 2 and its baseline, the last known counters, the model and the spend
    document = status(world, "birds")
    running = document["running"]
    assert (running["job"]["name"], running["baseline"]["name"]) == (round_job(2), round_job(2, role="baseline"))
    assert running["job"]["labelCounters"]["human_labeled"] == 3
    assert document["latestModelArn"] == model_arn("r1") and document["latestModelRound"] == 1
    # round 1: 6 x 0.188 + 4 x 0.08 = 1.448; round 2 and its baseline at their worst case, 2 x 1.88
    assert document["spentUsd"] == "5.21"
    assert document["manifests"][0]["roundsCompleted"] == 1

    # When everything has finished, the chain is idle
    complete(world, round_job(2, role="baseline"))
    complete(world, round_job(2))
    document = status(world, "birds")
    assert document["state"] == "idle" and document["running"] is None and document["queued"] == []
    assert document["manifests"][0]["status"] == "completed"
    assert len(document["transitions"]) == 10 and document["transitions"][0]["event"] == "manifest completed"


def test_status_is_right_when_two_transitions_race(
    world: World, spec_document: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given round 2 and its baseline running
    drop(world, "chains/birds/chain.json", json.dumps(spec_document))
    drop(world, "chains/birds/inbox/birds.manifest", manifest_lines(20))
    complete(world, round_job(1), model=model_arn("r1"))
    round2, baseline = round_job(2), round_job(2, role="baseline")
    for name in (round2, baseline):
        finish_job(name, human=10)
        write_output(world, name)

    # When both complete at once and the baseline's handler renders its status before the round's transition
    # but writes it after the round's handler has written its own (the worst interleaving for a last writer):
    # the round's handler runs to its end between the baseline's rendering and its write
    writer = ["baseline"]
    writes: list[tuple[str, int]] = []
    objects = world.ports.objects
    original_put = objects.put

    def put(bucket: str, key: str, body: bytes, content_type: str, metadata: dict[str, str] | None = None) -> None:
        if key == STATUS:
            writes.append((writer[0], json.loads(body)["version"]))
        original_put(bucket, key, body, content_type, metadata)

    def the_round_completes() -> None:
        writer[0] = "round"
        advance(round2, "Completed")
        writer[0] = "baseline"

    monkeypatch.setattr(objects, "put", put)
    objects.before_put(STATUS, the_round_completes)
    advance(baseline, "Completed")

    # Then the stale document was written last, noticed, and rendered again: the status shows both
    document = status(world, "birds")
    chain = world.ports.store.get_chain("birds")
    assert chain is not None and document["version"] == chain.version
    events = [(t["event"], t.get("role")) for t in document["transitions"]]
    assert ("job completed", "round") in events and ("job completed", "baseline") in events
    assert document["state"] == "idle" and document["manifests"][0]["status"] == "completed"
    # (the baseline's handler wrote an older version after the round's handler wrote a newer one, then again)
    assert writes[0][0] == "baseline" and writes[-1] == ("baseline", chain.version)
    assert any(name == "round" and version > writes[0][1] for name, version in writes)
    # (in the bucket: a stale version landed on a newer one, and the latest is the chain's)
    stored = [json.loads(body)["version"] for body in world.versions(STATUS)]
    assert any(later < earlier for earlier, later in pairwise(stored)) and stored[-1] == chain.version


def test_the_reconciler_rewrites_a_status_left_behind_and_only_then(
    world: World, spec_document: dict[str, Any]
) -> None:
    drop(world, "chains/birds/chain.json", json.dumps(spec_document))
    writes = _status_writes(world)
    reconcile()
    assert _status_writes(world) == writes  # up to date: not rewritten

    # a transition whose handler ended before writing the status
    world.ports.store.set_state("birds", ChainState.PAUSED, "budget: test")
    reconcile()

    document = status(world, "birds")
    assert (document["state"], document["reason"]) == ("paused", "budget: test")
