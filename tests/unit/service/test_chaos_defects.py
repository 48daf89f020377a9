"""Defects found under chaos (issue: never pay twice, never stall): each reproduced through the handlers."""

import json
from decimal import Decimal
from typing import Any

import pytest

from gtchain.service import start
from gtchain.service.reconcile import ReconcileError, reconcile_all, sweep
from tests.groundtruth import complete, of_type, round_job, status, write_output
from tests.support import manifest_lines, model_arn
from tests.unit.service.world import World, advance, drop, finish_job, jobs, reconcile


def _round_two_running_with_its_baseline(world: World, spec_document: dict[str, Any]) -> None:
    spec_document["rounds"] = 2
    drop(world, "chains/birds/chain.json", json.dumps(spec_document))
    drop(world, "chains/birds/inbox/birds.manifest", manifest_lines(20))
    complete(world, round_job(1), model=model_arn("r1"))
    assert sorted(name.rsplit("-", 2)[-2] for name in jobs() if "-r2" in name) == ["r2", "r2b"]


def test_retrying_a_round_keeps_its_running_baseline_and_pays_for_it_once(
    world: World, spec_document: dict[str, Any]
) -> None:
    # Given round 2 and its baseline running, and round 2's job failing after labeling 4 objects
    _round_two_running_with_its_baseline(world, spec_document)
    failed, baseline = round_job(2), round_job(2, role="baseline")
    finish_job(failed, "Failed", human=4, reason="ClientError: workers could not load the images")
    advance(failed, "Failed")

    # When chain.json is uploaded again to resume while the baseline is still in progress
    drop(world, "chains/birds/chain.json", json.dumps(spec_document))

    # Then round 2 runs again as attempt 2, and the baseline is neither started again nor forgotten
    assert [name for name in jobs() if name.endswith("-r2-a2")]
    assert not [name for name in jobs() if name.endswith("-r2b-a2")]
    record = world.ports.store.get_round("birds", 2)
    assert record is not None and record.baseline is not None and record.baseline.name == baseline
    assert [job.name for job in record.history] == [failed]

    # And when the baseline completes, its outcome is recorded (a report is asked for) exactly once
    complete(world, baseline)
    record = world.ports.store.get_round("birds", 2)
    assert record is not None and record.baseline is not None and record.baseline.status == "completed"
    assert advance(baseline, "Completed")["action"] == "duplicate"
    completed = of_type(world.published(), "Round Completed")
    assert [detail["jobName"] for detail in completed].count(baseline) == 1

    # And spent is the sum of the real job costs once everything has finished
    complete(world, round_job(2, attempt=2))
    document = status(world, "birds")
    every_job = [j for r in world.ports.store.list_rounds("birds") for j in r.all_jobs()]
    assert all(j.status in ("completed", "failed") for j in every_job)
    assert len(every_job) == 4  # round 1, round 2's failed attempt, its retry, one baseline
    real = sum((j.cost_usd or Decimal(0) for j in every_job), Decimal(0))
    assert Decimal(document["spentUsd"]) == real.quantize(Decimal("0.01"))
    assert document["state"] == "idle"  # finished, not paused by a phantom live baseline


def test_a_budget_that_fits_the_real_spend_does_not_pause_a_retried_round(
    world: World, spec_document: dict[str, Any]
) -> None:
    # Given a budget that fits what can really be spent (rounds of 10 at $0.188 an object: round 1 $1.88, the
    # failed attempt $0.752, the live baseline up to $1.88, the retry up to $1.88: $6.39), but not a second
    # baseline on top ($8.27)
    spec_document["budgetUsd"] = 7
    _round_two_running_with_its_baseline(world, spec_document)
    failed = round_job(2)
    finish_job(failed, "Failed", human=4, reason="ClientError: expired")
    advance(failed, "Failed")

    # When the chain is resumed while the baseline still runs
    drop(world, "chains/birds/chain.json", json.dumps(spec_document))

    # Then the retry starts: the running baseline is counted once, not as a new worst case
    assert [name for name in jobs() if name.endswith("-r2-a2")]
    assert status(world, "birds")["state"] == "active"


def test_a_new_chain_whose_first_chain_json_event_was_lost_starts_within_one_sweep(
    world: World, spec_document: dict[str, Any]
) -> None:
    # Given a new chain's chain.json and a manifest uploaded, and neither Object Created event delivered
    world.put("chains/birds/chain.json", json.dumps(spec_document))
    world.put("chains/birds/inbox/birds.manifest", manifest_lines(20))
    assert world.ports.store.get_chain("birds") is None

    # When the reconciler's sweep runs once
    sweep(world.ports)

    # Then the chain exists, its manifest is queued and round 1 runs; the next runs repeat nothing
    assert world.ports.store.get_chain("birds") is not None
    assert [name for name in jobs() if name.endswith("-r1-a1")]
    assert status(world, "birds")["state"] == "active"
    sweep(world.ports)
    reconcile()
    assert len(jobs()) == 1


def test_a_waiting_manifest_or_a_rejected_first_chain_json_is_left_alone_by_the_reconciler(
    world: World, spec_document: dict[str, Any]
) -> None:
    # Given a chain with only a manifest, and another whose first chain.json was rejected
    world.put("chains/early/inbox/birds.manifest", manifest_lines(20))
    drop(world, "chains/broken/chain.json", json.dumps(spec_document | {"rounds": "two"}))

    # When the reconciler's sweep runs
    sweep(world.ports)

    # Then neither chain is created, and nothing raised
    assert world.ports.store.get_chain("early") is None and world.ports.store.get_chain("broken") is None
    assert jobs() == {}


def test_a_repair_that_fails_never_keeps_the_chains_other_repairs_from_being_made(
    world: World, spec_document: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given round 1 whose Completed event was lost, and a manifest (event lost too) that cannot be processed
    spec_document["rounds"] = 2
    drop(world, "chains/birds/chain.json", json.dumps(spec_document))
    drop(world, "chains/birds/inbox/birds.manifest", manifest_lines(20))
    first = round_job(1)
    finish_job(first, human=10, model=model_arn("r1"))
    write_output(world, first)
    world.put("chains/birds/inbox/poison.manifest", manifest_lines(5, start=100))

    def crash(*args: Any, **kwargs: Any) -> Any:
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(start, "scan_manifest", crash)

    # When the reconciler runs
    with pytest.raises(ReconcileError, match="inbox"):
        reconcile_all(world.ports)

    # Then round 1's outcome was applied and round 2 started all the same
    assert [name for name in jobs() if name.endswith("-r2-a1")]
    record = world.ports.store.get_round("birds", 1)
    assert record is not None and record.status == "completed"
