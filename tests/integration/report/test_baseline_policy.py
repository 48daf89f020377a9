"""chain.json's baseline policy and the eligibility warnings, through the handlers (start, advance) as EventBridge
drives them: "once" pays for exactly one baseline in a chain of four rounds; a round under 1,250 objects says,
before it starts, why nothing will be machine-labeled."""

import json
from typing import Any

from tests.integration.chain.flow import advance, drop, jobs, manifest_lines, model_arn
from tests.support import DATA_BUCKET, Stack, finish_job


def _role(job: Any) -> str:
    return str(next(t["Value"] for t in job.tags if t["Key"] == "gtchain:role"))


def _round(job: Any) -> int:
    return int(next(t["Value"] for t in job.tags if t["Key"] == "gtchain:round"))


def _new_jobs(seen: set[str]) -> dict[tuple[int, str], Any]:
    fresh = {(_round(j), _role(j)): j for j in jobs().values() if j.name not in seen}
    seen.update(j.name for j in fresh.values())
    return fresh


def test_once_runs_exactly_one_baseline_across_four_rounds(stack: Stack, spec_document: dict[str, Any]) -> None:
    # Given a chain of 4 rounds with baseline "once" and 5,000 objects (4 rounds of 1,250)
    drop(stack, "chains/birds/chain.json", json.dumps({**spec_document, "rounds": 4, "baseline": "once"}))
    drop(stack, "chains/birds/inbox/birds.manifest", manifest_lines(5000))
    seen: set[str] = set()

    # Then round 1 starts cold, alone
    first = _only(_new_jobs(seen), 1)
    finish_job(first.name, human=650, machine=600, model=model_arn("birds-r1"))
    assert advance(first.name, "Completed")["action"] == "applied"

    # Then round 2, the first with a carried model, gets the chain's one baseline
    second = _new_jobs(seen)
    assert set(second) == {(2, "round"), (2, "baseline")}

    # When round 2 completes while its baseline still runs, and rounds 3 and 4 follow
    for number, model in ((2, "birds-r2"), (3, "birds-r3"), (4, "birds-r4")):
        current = second[(2, "round")] if number == 2 else _only(_new_jobs(seen), number)
        finish_job(current.name, human=400, machine=850, model=model_arn(model))
        assert advance(current.name, "Completed")["action"] == "applied"
    baseline = second[(2, "baseline")]
    finish_job(baseline.name, human=700, machine=550)
    assert advance(baseline.name, "Completed")["action"] == "applied"

    # Then four rounds ran and exactly one baseline, beside round 2
    ran = sorted((_round(j), _role(j)) for j in jobs().values())
    assert ran == [(1, "round"), (2, "baseline"), (2, "round"), (3, "round"), (4, "round")]
    rounds = stack.ports.store.list_rounds("birds")
    assert [r.baseline is not None for r in sorted(rounds, key=lambda r: r.number)] == [False, True, False, False]


def _only(fresh: dict[tuple[int, str], Any], number: int) -> Any:
    assert set(fresh) == {(number, "round")}, fresh
    return fresh[(number, "round")]


def test_a_round_of_500_objects_says_why_nothing_will_be_machine_labeled_before_it_starts(
    stack: Stack, spec_document: dict[str, Any]
) -> None:
    # Given a chain of 2 rounds over 1,000 objects: 500 per round, under Ground Truth's 1,250
    drop(stack, "chains/birds/chain.json", json.dumps({**spec_document, "rounds": 2}))
    drop(stack, "chains/birds/inbox/birds.manifest", manifest_lines(1000))

    # Then Round Started carries the warning
    [started] = [e["detail"] for e in stack.published() if e["detail-type"] == "Round Started"]
    [warning] = started["warnings"]
    assert "round 1 has 500 objects" in warning and "at least 1,250 objects" in warning
    assert "none is machine-labeled" in warning

    # And status.json shows it on the running round, and forecasts the next one with its own warning
    status = json.loads(stack.s3.get_object(Bucket=DATA_BUCKET, Key="chains/birds/status.json")["Body"].read())
    assert status["running"]["warnings"] == [warning]
    upcoming = status["nextRound"]
    assert upcoming["round"] == 2 and upcoming["objects"] == 500
    assert upcoming["worstCaseUsd"] == upcoming["floorUsd"] == "94.00"  # 500 x (0.08 + 3 x 0.036)
    assert "round 2 has 500 objects" in upcoming["warnings"][0]
