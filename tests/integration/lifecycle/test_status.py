"""status.json: derived from the table after every transition, right even when transitions race."""

import json
import threading
from typing import Any
from unittest import mock

from gtchain.adapters.s3 import S3ObjectStore
from gtchain.domain.spec import ChainState
from local import moto_labeling
from tests.integration.chain.flow import advance, drop, manifest_lines, model_arn, reconcile
from tests.integration.lifecycle.groundtruth import complete, round_job, status, write_output
from tests.support import ACCOUNT, DATA_BUCKET, REGION, Stack, finish_job

STATUS = "chains/birds/status.json"


def _status_writes(stack: Stack) -> int:
    versions = stack.s3.list_object_versions(Bucket=DATA_BUCKET, Prefix=STATUS).get("Versions", [])
    return len(versions)


def test_status_shows_where_the_chain_stands(stack: Stack, spec_document: dict[str, Any]) -> None:
    # Given the seed's chain (2 rounds, baselines, $1,000 budget) and a 20-line manifest
    drop(stack, "chains/birds/chain.json", json.dumps(spec_document))
    drop(stack, "chains/birds/inbox/birds.manifest", manifest_lines(20))

    # Then the status shows round 1 running, round 2 queued, the worst case committed, and the transitions
    document = status(stack, "birds")
    chain = stack.ports.store.get_chain("birds")
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
    complete(stack, round_job(1), machine=4, model=model_arn("r1"))
    moto_labeling.update_job(ACCOUNT, REGION, round_job(2), label_counters={"HumanLabeled": 3, "TotalLabeled": 3})
    reconcile()

    # Then the status shows round 2 and its baseline, the last known counters, the model and the spend
    document = status(stack, "birds")
    running = document["running"]
    assert (running["job"]["name"], running["baseline"]["name"]) == (round_job(2), round_job(2, role="baseline"))
    assert running["job"]["labelCounters"]["human_labeled"] == 3
    assert document["latestModelArn"] == model_arn("r1") and document["latestModelRound"] == 1
    # round 1: 6 x 0.188 + 4 x 0.08 = 1.448; round 2 and its baseline at their worst case, 2 x 1.88
    assert document["spentUsd"] == "5.21"
    assert document["manifests"][0]["roundsCompleted"] == 1

    # When everything has finished, the chain is idle
    complete(stack, round_job(2, role="baseline"))
    complete(stack, round_job(2))
    document = status(stack, "birds")
    assert document["state"] == "idle" and document["running"] is None and document["queued"] == []
    assert document["manifests"][0]["status"] == "completed"
    assert len(document["transitions"]) == 10 and document["transitions"][0]["event"] == "manifest completed"


def test_status_is_right_when_two_transitions_race(stack: Stack, spec_document: dict[str, Any]) -> None:
    # Given round 2 and its baseline running
    drop(stack, "chains/birds/chain.json", json.dumps(spec_document))
    drop(stack, "chains/birds/inbox/birds.manifest", manifest_lines(20))
    complete(stack, round_job(1), model=model_arn("r1"))
    round2, baseline = round_job(2), round_job(2, role="baseline")
    for name in (round2, baseline):
        finish_job(name, human=10)
        write_output(stack, name)

    # When both complete at once and the baseline's handler renders its status before the round's transition
    # but writes it after the round's handler has written its own (the worst interleaving for a last writer)
    original_put = S3ObjectStore.put
    rendered = threading.Event()
    release = threading.Event()
    writes: list[tuple[str, int]] = []

    def put(self: S3ObjectStore, bucket: str, key: str, body: bytes, content_type: str) -> None:
        if key == STATUS:
            writes.append((threading.current_thread().name, json.loads(body)["version"]))
            if threading.current_thread().name == "baseline" and not rendered.is_set():
                rendered.set()
                release.wait(timeout=60)
        original_put(self, bucket, key, body, content_type)

    errors: list[BaseException] = []

    def deliver(name: str) -> None:
        try:
            advance(name, "Completed")
        except BaseException as exc:  # a thread's failure must fail the test
            errors.append(exc)

    with moto_labeling.serialized_requests(), mock.patch.object(S3ObjectStore, "put", put):
        first = threading.Thread(target=deliver, args=(baseline,), name="baseline")
        first.start()
        assert rendered.wait(timeout=60)
        second = threading.Thread(target=deliver, args=(round2,), name="round")
        second.start()
        second.join()
        release.set()
        first.join()

    # Then the stale document was written last, noticed, and rendered again: the status shows both
    assert errors == []
    document = status(stack, "birds")
    chain = stack.ports.store.get_chain("birds")
    assert chain is not None and document["version"] == chain.version
    events = [(t["event"], t.get("role")) for t in document["transitions"]]
    assert ("job completed", "round") in events and ("job completed", "baseline") in events
    assert document["state"] == "idle" and document["manifests"][0]["status"] == "completed"
    # (the baseline's handler wrote an older version after the round's handler wrote a newer one, then again)
    assert writes[0][0] == "baseline" and writes[-1] == ("baseline", chain.version)
    assert any(name == "round" and version > writes[0][1] for name, version in writes)


def test_the_reconciler_rewrites_a_status_left_behind_and_only_then(
    stack: Stack, spec_document: dict[str, Any]
) -> None:
    drop(stack, "chains/birds/chain.json", json.dumps(spec_document))
    writes = _status_writes(stack)
    reconcile()
    assert _status_writes(stack) == writes  # up to date: not rewritten

    # a transition whose handler ended before writing the status
    stack.ports.store.set_state("birds", ChainState.PAUSED, "budget: test")
    reconcile()

    document = status(stack, "birds")
    assert (document["state"], document["reason"]) == ("paused", "budget: test")
