"""AWS calls per event (issue 15), counted at botocore through the handlers' real entry points on the stack
provisioned from template.yaml. Counts are deterministic, so each budget is asserted; `make bench` reports the
same counts beside its times.

Budgets: a Completed event that starts the next round and its baseline, at most 12 calls, the same whatever the
chain's history (1, 10 or 50 earlier rounds; 1 or 20 earlier manifests); a duplicate Completed event at most 3;
a Completed event of a foreign or stale job at most 2; a manifest upload that starts a round at most 15,
whatever its size; into a chain that labeled objects already, at most 20.
"""

import json
from typing import Any

import pytest

from gtchain.domain.labeling_job import TAG_ROLE, TAG_ROUND
from tests.calls import Calls, counting
from tests.groundtruth import write_output
from tests.integration.budgets.history import LINES_PER_ROUND, write_history
from tests.integration.chain.flow import advance, drop, jobs
from tests.support import Stack, finish_job, manifest_lines, model_arn

NEXT_ROUND_BUDGET = 12
DUPLICATE_BUDGET = 3
FOREIGN_BUDGET = 2
UPLOAD_BUDGET = 15
UPLOAD_INTO_HISTORY_BUDGET = 20


def _job(chain_id: str, number: int, role: str = "round") -> str | None:
    for job in jobs().values():
        tags = {t["Key"]: t["Value"] for t in job.tags}
        if f"-{chain_id}-" in job.name and tags[TAG_ROLE] == role and tags[TAG_ROUND] == str(number):
            return job.name
    return None


def _spec(spec_document: dict[str, Any], *, rounds: int, baseline: bool) -> str:
    return json.dumps(spec_document | {"rounds": rounds, "baseline": baseline, "budgetUsd": 100000})


def _complete(stack: Stack, chain_id: str, number: int) -> str:
    """Round `number`'s jobs complete (the baseline's first); returns the round's job, whose event is not sent."""
    baseline = _job(chain_id, number, "baseline")
    if baseline is not None:
        finish_job(baseline, human=LINES_PER_ROUND)
        write_output(stack, baseline)
        advance(baseline, "Completed")
    name = _job(chain_id, number)
    assert name is not None, f"round {number} has not started"
    finish_job(name, human=4, machine=6, model=model_arn(f"{chain_id}-r{number}"))
    write_output(stack, name)
    return name


def _chain_with_history(
    stack: Stack, spec_document: dict[str, Any], *, manifests: int, rounds_each: int, baseline: bool
) -> tuple[str, int]:
    """A chain with `manifests` completed manifests of `rounds_each` rounds, then a manifest of two rounds whose
    first has completed at Ground Truth: returns that job (its event is the one counted) and the number of earlier
    rounds."""
    chain_id = f"h{manifests}x{rounds_each}{'b' if baseline else ''}"
    earlier = write_history(stack, spec_document, chain_id, manifests=manifests, rounds_each=rounds_each,
                            baseline=baseline)  # fmt: skip
    start = earlier * LINES_PER_ROUND
    drop(stack, f"chains/{chain_id}/inbox/last.manifest", manifest_lines(2 * LINES_PER_ROUND, start=start))
    return _complete(stack, chain_id, earlier + 1), earlier


def _counted_completed(name: str) -> Calls:
    with counting() as calls:
        outcome = advance(name, "Completed")
    assert outcome["action"] == "applied", outcome
    return calls


@pytest.mark.parametrize(("manifests", "rounds_each"), [(1, 1), (1, 10), (3, 17), (20, 1)])
def test_a_completed_event_that_starts_the_next_round_and_its_baseline_stays_in_budget_whatever_the_history(
    stack: Stack, spec_document: dict[str, Any], manifests: int, rounds_each: int
) -> None:
    name, earlier = _chain_with_history(stack, spec_document, manifests=manifests, rounds_each=rounds_each,
                                        baseline=True)  # fmt: skip
    calls = _counted_completed(name)
    chain_id = f"h{manifests}x{rounds_each}b"
    assert _job(chain_id, earlier + 2) and _job(chain_id, earlier + 2, "baseline"), "the next round and its baseline"
    assert calls.total <= NEXT_ROUND_BUDGET, str(calls)
    # What does not depend on the history: one read of the chain, one describe, the writes and the two creates.
    assert (calls["dynamodb.Query"], calls["sagemaker.CreateLabelingJob"], calls["s3.GetObject"]) == (2, 2, 0), str(
        calls
    )


def test_the_count_is_the_same_after_1_and_after_50_earlier_rounds(stack: Stack, spec_document: dict[str, Any]) -> None:
    short, _ = _chain_with_history(stack, spec_document, manifests=1, rounds_each=1, baseline=True)
    long, earlier = _chain_with_history(stack, spec_document, manifests=3, rounds_each=17, baseline=True)
    assert earlier == 51
    assert _counted_completed(short) == _counted_completed(long)


def test_a_completed_event_that_starts_the_next_round_stays_in_budget(
    stack: Stack, spec_document: dict[str, Any]
) -> None:
    name, earlier = _chain_with_history(stack, spec_document, manifests=1, rounds_each=3, baseline=False)
    calls = _counted_completed(name)
    assert _job("h1x3", earlier + 2) is not None
    assert calls.total <= NEXT_ROUND_BUDGET - 1, str(calls)  # one job to create, not two


def test_a_duplicate_completed_event_costs_at_most_three_calls(stack: Stack, spec_document: dict[str, Any]) -> None:
    name, _ = _chain_with_history(stack, spec_document, manifests=1, rounds_each=2, baseline=True)
    _counted_completed(name)
    with counting() as calls:
        outcome = advance(name, "Completed")
    assert outcome["action"] == "duplicate", outcome
    assert calls.total <= DUPLICATE_BUDGET, str(calls)


def test_a_foreign_or_stale_job_costs_at_most_two_calls(stack: Stack, spec_document: dict[str, Any]) -> None:
    name, _ = _chain_with_history(stack, spec_document, manifests=1, rounds_each=1, baseline=False)
    stack.sagemaker.create_labeling_job(**{**jobs()[name.lower()].request, "LabelingJobName": "someone-elses-job",
                                           "Tags": []})  # fmt: skip
    stale = name.replace("-a1", "-a9")  # named like the chain's job, but not the one its round ran
    stack.sagemaker.create_labeling_job(**{**jobs()[name.lower()].request, "LabelingJobName": stale})
    for job, reason in (("someone-elses-job", "not a gtchain job"), (stale, "stale job")):
        with counting() as calls:
            outcome = advance(job, "Completed")
        assert (outcome["action"], outcome["detail"]) == ("ignored", reason)
        assert calls.total <= FOREIGN_BUDGET, str(calls)


@pytest.mark.parametrize("lines", [1_000, 20_000])
def test_a_manifest_upload_that_starts_a_round_stays_in_budget_whatever_its_size(
    stack: Stack, spec_document: dict[str, Any], lines: int
) -> None:
    drop(stack, "chains/fresh/chain.json", _spec(spec_document, rounds=2, baseline=True))
    with counting() as calls:
        outcome = drop(stack, "chains/fresh/inbox/birds.manifest", manifest_lines(lines))
    assert outcome["action"] == "queued" and _job("fresh", 1) is not None, outcome
    assert calls.total - 1 <= UPLOAD_BUDGET, str(calls)  # less the test's own PutObject of the manifest


def test_a_manifest_upload_into_a_chain_that_labeled_objects_stays_in_budget(
    stack: Stack, spec_document: dict[str, Any]
) -> None:
    # Given a chain whose rounds labeled 2,000 objects
    drop(stack, "chains/big/chain.json", _spec(spec_document, rounds=2, baseline=False))
    drop(stack, "chains/big/inbox/first.manifest", manifest_lines(2_000))
    for number in (1, 2):
        advance(_complete(stack, "big", number), "Completed")
    # When a manifest arrives that repeats 100 of them beside 900 new ones
    with counting() as calls:
        outcome = drop(stack, "chains/big/inbox/second.manifest", manifest_lines(1_000, start=1_900))
    # Then its first round starts without the repeated objects, within budget
    assert outcome["action"] == "queued", outcome
    started = jobs()[str(_job("big", 3)).lower()]
    job_input = started.request["InputConfig"]["DataSource"]["S3DataSource"]["ManifestS3Uri"]
    assert len(stack.get(job_input.split("/", 3)[3]).splitlines()) == 400
    assert calls.total - 1 <= UPLOAD_INTO_HISTORY_BUDGET, str(calls)
