"""The chain store's contract: every transition's winner and loser, idempotent repeats, all-or-nothing, and
snapshots at one version, asserted alike of the in-memory fake and of DynamoDB (moto, the template's table).

A race is played the way it happens: another writer slips in between what a caller read and its write
(`chain_store.before("write", ...)`), and the caller's write must lose exactly as on DynamoDB."""

import json
import re
import time
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest

from gtchain.adapters.dynamo import TRANSITION_TTL, TTL_ATTRIBUTE
from gtchain.domain.names import Role
from gtchain.domain.records import (
    ChainRecord,
    JobRecord,
    LabelCounts,
    ManifestRecord,
    Rejection,
    RoundDraft,
    RoundRecord,
    RoundStatus,
)
from gtchain.domain.spec import ChainSpec, ChainState
from gtchain.service.ports import ContentionError
from gtchain.service.store import CONFLICT_ATTEMPTS, QUEUE_ATTEMPTS, SNAPSHOT_ATTEMPTS
from tests.contract.conftest import StoreHarness
from tests.support import ROOT, clients, settings, template

CHAIN = "birds"


def _spec(**changes: Any) -> ChainSpec:
    document = json.loads((ROOT / "tests" / "data" / "chain.json").read_text())
    return ChainSpec.model_validate(document | changes)


def _chain(chain_id: str = CHAIN, state: ChainState = ChainState.ACTIVE) -> ChainRecord:
    reason = None if state == ChainState.ACTIVE else f"chain.json says {state}"
    return ChainRecord(chain_id=chain_id, incarnation="a1b2c3", spec=_spec(), spec_version="v1", state=state,
                       pause_reason=reason)  # fmt: skip


def _manifest(name: str = "birds.manifest", version: str = "m1", lines: int = 20) -> ManifestRecord:
    return ManifestRecord(chain_id=CHAIN, name=name, version=version, lines=lines, rounds=[])


def _drafts(manifest: ManifestRecord, parts: int = 2) -> list[RoundDraft]:
    size = manifest.lines // parts
    return [
        RoundDraft(manifest_name=manifest.name, manifest_version=manifest.version, part=part, parts=parts,
                   objects=size, input_uri=f"s3://data/parts/{manifest.name}-{part}",
                   digests_uri=f"s3://data/parts/{manifest.name}-{part}.digests")
        for part in range(1, parts + 1)
    ]  # fmt: skip


def _queued(h: StoreHarness, rounds: int = 2, **chain: Any) -> list[int]:
    assert h.store.create_chain(_chain(**chain))
    manifest = _manifest(lines=10 * rounds)
    numbers = h.store.queue_manifest(manifest, _drafts(manifest, rounds))
    assert numbers is not None
    return numbers


def _claim(h: StoreHarness, number: int, *, baseline: bool = False, attempt: int = 1) -> RoundRecord:
    """The round as a claim prepares it (service.chain._prepare_claim's shape)."""
    queued = h.store.get_round(CHAIN, number)
    assert queued is not None
    return queued.model_copy(update={
        "status": RoundStatus.STARTING, "attempt": attempt, "spec": _spec(), "objects": queued.part_objects,
        "job": JobRecord(name=f"gtchain-birds-a1b2c3-r{number}-a{attempt}"),
        "baseline": JobRecord(name=f"gtchain-birds-a1b2c3-r{number}b-a{attempt}", role="baseline")
        if baseline else None,
        "job_input_uri": queued.input_uri, "job_digests_uri": queued.digests_uri,
        "worst_case_usd": Decimal("3.76") if baseline else Decimal("1.88"),
    })  # fmt: skip


def _running(h: StoreHarness, number: int = 1, *, baseline: bool = False) -> RoundRecord:
    record = _claim(h, number, baseline=baseline)
    assert h.store.claim_round(record)
    for role, job in record.jobs_by_role():
        assert h.store.mark_running(CHAIN, number, role, job.name, f"arn:aws:sagemaker:::labeling-job/{job.name}")
    current = h.store.get_round(CHAIN, number)
    assert current is not None
    return current


def _finished(job: JobRecord, status: RoundStatus = RoundStatus.COMPLETED, **changes: Any) -> JobRecord:
    counters = LabelCounts(total_labeled=10, human_labeled=10)
    cost = Decimal("1.88")
    return job.model_copy(update={"status": status, "counters": counters, "cost_usd": cost, "known_cost_usd": cost,
                                  **changes})  # fmt: skip


def _events(h: StoreHarness, limit: int = 50) -> list[str]:
    """The chain's transitions, oldest first."""
    return [t.event for t in reversed(h.store.recent_transitions(CHAIN, limit))]


def _version(h: StoreHarness) -> int:
    version = h.store.chain_version(CHAIN)
    assert version is not None
    return version


# ---- chains ----------------------------------------------------------------------------------------------


def test_a_chain_is_created_once(chain_store: StoreHarness) -> None:
    h = chain_store
    assert h.store.create_chain(_chain(state=ChainState.PAUSED))
    assert not h.store.create_chain(_chain().model_copy(update={"incarnation": "ffffff"}))  # the loser

    chain = h.store.get_chain(CHAIN)
    assert chain is not None and (chain.incarnation, chain.version, chain.state) == ("a1b2c3", 1, "paused")
    assert chain.spec == _spec()
    [created] = h.store.recent_transitions(CHAIN, 10)
    assert (created.event, created.state, created.detail) == ("chain created", "paused", "chain.json says paused")
    assert created.at.endswith("Z")
    assert h.store.get_chain("nobody") is None and h.store.chain_version("nobody") is None


def test_a_new_chain_json_is_applied_and_raises_the_version(chain_store: StoreHarness) -> None:
    h = chain_store
    h.store.create_chain(_chain())
    h.store.update_spec(CHAIN, _spec(budgetUsd=50), "v2")

    chain = h.store.get_chain(CHAIN)
    assert chain is not None and chain.spec.budget_usd == 50 and chain.spec_version == "v2" and chain.version == 2
    assert chain.updated_at >= chain.created_at
    assert h.store.recent_transitions(CHAIN, 1)[0].detail == "version v2"
    # no chain: nothing is written (an update never creates the chain)
    h.store.update_spec("nobody", _spec(), "v1")
    assert h.store.get_chain("nobody") is None and h.store.recent_transitions("nobody", 10) == []


def test_a_state_change_wins_once_and_only_from_the_state_it_expects(chain_store: StoreHarness) -> None:
    h = chain_store
    h.store.create_chain(_chain())

    assert h.store.set_state(CHAIN, ChainState.PAUSED, "budget", only_from=ChainState.ACTIVE)
    assert not h.store.set_state(CHAIN, ChainState.PAUSED, "again", only_from=ChainState.ACTIVE)  # not active now
    assert not h.store.set_state(CHAIN, ChainState.PAUSED, "same state")  # a repeat changes nothing
    assert h.store.set_state(CHAIN, ChainState.STOPPED, "chain.json says stopped")
    assert h.store.set_state(CHAIN, ChainState.ACTIVE, None)
    assert not h.store.set_state("nobody", ChainState.PAUSED, "x")

    chain = h.store.get_chain(CHAIN)
    assert chain is not None and (chain.state, chain.pause_reason, chain.version) == ("active", None, 4)
    assert _events(h) == ["chain created", "chain paused", "chain stopped", "chain active"]
    assert h.store.get_chain("nobody") is None


def test_a_pause_loses_to_a_stop_that_slipped_in_after_it_read_the_chain(chain_store: StoreHarness) -> None:
    h = chain_store
    h.store.create_chain(_chain())
    h.before("write", lambda: h.store.set_state(CHAIN, ChainState.STOPPED, "chain.json says stopped"))

    assert not h.store.set_state(CHAIN, ChainState.PAUSED, "budget", only_from=ChainState.ACTIVE)

    chain = h.store.get_chain(CHAIN)
    assert chain is not None and (chain.state, chain.pause_reason) == ("stopped", "chain.json says stopped")
    assert _events(h) == ["chain created", "chain stopped"]


def test_every_chain_is_listed(chain_store: StoreHarness) -> None:
    h = chain_store
    for chain_id in ("birds", "cats", "dogs-2"):
        h.store.create_chain(_chain(chain_id))
    queued = _manifest()
    h.store.queue_manifest(queued, _drafts(queued))  # rounds and manifests are not chains
    assert sorted(c.chain_id for c in h.store.iter_chains()) == ["birds", "cats", "dogs-2"]


# ---- manifests -------------------------------------------------------------------------------------------


def test_a_manifest_is_queued_once_under_the_next_round_numbers(chain_store: StoreHarness) -> None:
    h = chain_store
    h.store.create_chain(_chain())
    first, second = _manifest("a.manifest"), _manifest("b.manifest", lines=30)

    assert h.store.queue_manifest(first, _drafts(first)) == [1, 2]
    assert h.store.queue_manifest(first, _drafts(first)) is None  # the same manifest version again
    assert h.store.queue_manifest(second, _drafts(second, 3)) == [3, 4, 5]

    rounds = h.store.list_rounds(CHAIN)
    assert [(r.number, r.manifest_name, r.part, r.parts, r.status) for r in rounds] == [
        (1, "a.manifest", 1, 2, "queued"), (2, "a.manifest", 2, 2, "queued"), (3, "b.manifest", 1, 3, "queued"),
        (4, "b.manifest", 2, 3, "queued"), (5, "b.manifest", 3, 3, "queued"),
    ]  # fmt: skip
    assert all(r.part_objects == r.objects == 10 and r.attempt == 0 and r.job is None for r in rounds)
    stored = h.store.get_manifest(CHAIN, "a.manifest", "m1")
    assert stored is not None and stored.rounds == [1, 2] and stored.status == "queued" and not stored.announced
    assert [m.name for m in h.store.list_manifests(CHAIN)] == ["a.manifest", "b.manifest"]
    assert h.store.get_manifest(CHAIN, "a.manifest", "other") is None
    chain = h.store.get_chain(CHAIN)
    assert chain is not None and chain.next_round == 6 and chain.version == 3
    [latest] = h.store.recent_transitions(CHAIN, 1)
    assert (latest.event, latest.detail) == ("manifest queued", "b.manifest (version m1): 30 objects as rounds 3-5")


def test_a_manifest_that_lost_its_round_numbers_takes_the_next_ones(chain_store: StoreHarness) -> None:
    h = chain_store
    h.store.create_chain(_chain())
    mine, theirs = _manifest("mine.manifest"), _manifest("theirs.manifest")
    # another manifest takes rounds 1-2 after this call read next_round 1, before its write
    h.before("write", lambda: h.store.queue_manifest(theirs, _drafts(theirs)))

    assert h.store.queue_manifest(mine, _drafts(mine)) == [3, 4]

    assert [(r.number, r.manifest_name) for r in h.store.list_rounds(CHAIN)] == [
        (1, "theirs.manifest"), (2, "theirs.manifest"), (3, "mine.manifest"), (4, "mine.manifest"),
    ]  # fmt: skip
    assert _events(h) == ["chain created", "manifest queued", "manifest queued"]


def test_the_same_manifest_queued_by_a_racing_invocation_is_a_duplicate(chain_store: StoreHarness) -> None:
    h = chain_store
    h.store.create_chain(_chain())
    manifest = _manifest()
    h.before("write", lambda: h.store.queue_manifest(manifest, _drafts(manifest)))

    assert h.store.queue_manifest(manifest, _drafts(manifest)) is None
    assert [r.number for r in h.store.list_rounds(CHAIN)] == [1, 2]


def test_queueing_gives_up_with_contention_when_others_always_win(chain_store: StoreHarness) -> None:
    h = chain_store
    h.store.create_chain(_chain())
    mine = _manifest("mine.manifest")
    for attempt in range(QUEUE_ATTEMPTS):
        other = _manifest(f"other-{attempt}.manifest", lines=10)
        h.before("write", lambda other=other: h.store.queue_manifest(other, _drafts(other, 1)))

    with pytest.raises(ContentionError):
        h.store.queue_manifest(mine, _drafts(mine))

    assert h.store.get_manifest(CHAIN, "mine.manifest", "m1") is None
    assert len(h.store.list_rounds(CHAIN)) == QUEUE_ATTEMPTS


def test_queueing_needs_the_chain(chain_store: StoreHarness) -> None:
    manifest = _manifest()
    with pytest.raises(LookupError):
        chain_store.store.queue_manifest(manifest, _drafts(manifest))


def test_a_manifest_completes_once_and_is_announced(chain_store: StoreHarness) -> None:
    h = chain_store
    _queued(h)
    manifest = h.store.get_manifest(CHAIN, "birds.manifest", "m1")
    assert manifest is not None
    version = _version(h)

    assert h.store.complete_manifest(manifest, "s3://data/chains/birds/results/birds.manifest", 2)
    assert not h.store.complete_manifest(manifest, "s3://elsewhere", 0)  # once
    h.store.mark_announced(manifest)

    stored = h.store.get_manifest(CHAIN, "birds.manifest", "m1")
    assert stored is not None and stored.status == "completed" and stored.announced
    assert (stored.results_uri, stored.unlabeled) == ("s3://data/chains/birds/results/birds.manifest", 2)
    assert stored.completed_at is not None and stored.rounds == [1, 2]
    assert _version(h) == version + 1  # completing is a transition; announcing is not
    assert _events(h)[-1] == "manifest completed"
    # a manifest that is not in the table is neither completed nor created
    ghost = _manifest("ghost.manifest")
    assert not h.store.complete_manifest(ghost, "s3://x/y", 0)
    assert h.store.get_manifest(CHAIN, "ghost.manifest", "m1") is None


# ---- rounds ----------------------------------------------------------------------------------------------


def test_a_claim_makes_the_round_active_and_records_what_it_decided(chain_store: StoreHarness) -> None:
    h = chain_store
    _queued(h)
    claimed = _claim(h, 1, baseline=True).model_copy(update={
        "objects": 8, "skipped_objects": 2, "skipped_uri": "s3://data/skipped", "warnings": ["small round"],
    })  # fmt: skip
    version = _version(h)

    assert h.store.claim_round(claimed)

    chain = h.store.get_chain(CHAIN)
    assert chain is not None and chain.active_round == 1 and chain.version == version + 1
    stored = h.store.get_round(CHAIN, 1)
    assert stored is not None and stored.status == "starting"
    assert stored.model_dump(exclude={"created_at"}) == claimed.model_dump(exclude={"created_at"})
    [latest] = h.store.recent_transitions(CHAIN, 1)
    assert (latest.event, latest.round, latest.detail) == (
        "round claimed", 1,
        "attempt 1: gtchain-birds-a1b2c3-r1-a1, gtchain-birds-a1b2c3-r1b-a1; 2 object(s) skipped as already labeled",
    )  # fmt: skip


def test_of_two_claims_racing_for_the_chain_one_wins(chain_store: StoreHarness) -> None:
    h = chain_store
    _queued(h)
    # another invocation claims round 1 after this one read the chain idle and round 2... and round 1 queued
    h.before("write", lambda: h.store.claim_round(_claim(h, 1)))

    assert not h.store.claim_round(_claim(h, 2))

    chain = h.store.get_chain(CHAIN)
    assert chain is not None and chain.active_round == 1
    second = h.store.get_round(CHAIN, 2)
    assert second is not None and second.status == "queued" and second.job is None  # nothing of the loser
    assert _events(h).count("round claimed") == 1


def test_a_claim_loses_when_the_chain_is_busy_or_not_active_or_the_round_not_queued(
    chain_store: StoreHarness,
) -> None:
    h = chain_store
    _queued(h, rounds=3)
    first = _running(h, 1)
    assert not h.store.claim_round(_claim(h, 2))  # round 1 is active

    assert h.store.finish_job(CHAIN, 1, "round", _finished(first.job))  # type: ignore[arg-type]
    h.store.set_state(CHAIN, ChainState.PAUSED, "x")
    assert not h.store.claim_round(_claim(h, 2))  # paused
    h.store.set_state(CHAIN, ChainState.ACTIVE, None)

    # all or nothing: the chain is idle and active, but round 1 is no longer queued, so the chain stays idle
    version = _version(h)
    assert not h.store.claim_round(_claim(h, 1, attempt=2).model_copy(update={"status": RoundStatus.STARTING}))
    chain = h.store.get_chain(CHAIN)
    assert chain is not None and chain.active_round == 0 and chain.version == version
    assert h.store.claim_round(_claim(h, 2))


def test_a_round_without_objects_left_completes_in_order_without_a_job(chain_store: StoreHarness) -> None:
    h = chain_store
    _queued(h)
    empty = _claim(h, 1).model_copy(update={
        "status": RoundStatus.COMPLETED, "objects": 0, "skipped_objects": 10, "job": None, "baseline": None,
        "worst_case_usd": Decimal(0),
    })  # fmt: skip

    assert h.store.complete_without_job(empty)
    assert not h.store.complete_without_job(empty)  # once: the round is no longer queued

    stored = h.store.get_round(CHAIN, 1)
    assert stored is not None and stored.status == "completed" and stored.job is None and stored.skipped_objects == 10
    chain = h.store.get_chain(CHAIN)
    assert chain is not None and chain.active_round == 0
    [latest] = h.store.recent_transitions(CHAIN, 1)
    assert (latest.event, latest.state, latest.detail) == (
        "round completed without a job", "completed", "all 10 object(s) were labeled already",
    )  # fmt: skip
    # it waits for the chain as a claim does
    _running(h, 2)
    assert not h.store.complete_without_job(empty.model_copy(update={"number": 2}))


@pytest.mark.parametrize("role", ["round", "baseline"])
def test_a_job_is_marked_running_once_and_only_under_its_name(chain_store: StoreHarness, role: Role) -> None:
    h = chain_store
    _queued(h)
    claimed = _claim(h, 1, baseline=True)
    h.store.claim_round(claimed)
    job = claimed.job_for(role)
    assert job is not None

    assert not h.store.mark_running(CHAIN, 1, role, job.name + "-other", "arn:x")
    assert h.store.mark_running(CHAIN, 1, role, job.name, "arn:aws:sagemaker:us-east-1:1:labeling-job/x")
    assert not h.store.mark_running(CHAIN, 1, role, job.name, "arn:y")  # no longer starting

    stored = h.store.get_round(CHAIN, 1)
    assert stored is not None
    running = stored.job_for(role)
    assert running is not None and running.status == "running" and running.started_at is not None
    assert running.arn == "arn:aws:sagemaker:us-east-1:1:labeling-job/x"
    other = stored.job_for("baseline" if role == "round" else "round")
    assert other is not None and other.status == "starting"
    # the round itself runs when its own job does
    assert stored.status == ("running" if role == "round" else "starting")
    [latest] = h.store.recent_transitions(CHAIN, 1)
    assert (latest.event, latest.round, latest.role, latest.job) == ("job running", 1, role, job.name)


def test_a_round_without_a_baseline_has_no_baseline_to_mark(chain_store: StoreHarness) -> None:
    h = chain_store
    _queued(h)
    h.store.claim_round(_claim(h, 1))
    version = _version(h)
    assert not h.store.mark_running(CHAIN, 1, "baseline", "gtchain-birds-a1b2c3-r1b-a1", "arn:x")
    assert not h.store.finish_job(CHAIN, 1, "baseline", JobRecord(name="gtchain-birds-a1b2c3-r1b-a1", role="baseline",
                                                                   status=RoundStatus.COMPLETED))  # fmt: skip
    stored = h.store.get_round(CHAIN, 1)
    assert stored is not None and stored.baseline is None and _version(h) == version


def test_progress_is_kept_for_a_running_job_and_raises_the_version_without_a_transition(
    chain_store: StoreHarness,
) -> None:
    h = chain_store
    _queued(h)
    record = _running(h, 1)
    assert record.job is not None
    version, events = _version(h), _events(h)
    counters = LabelCounts(total_labeled=3, human_labeled=3)

    assert h.store.record_progress(CHAIN, 1, "round", record.job.name, counters)
    assert not h.store.record_progress(CHAIN, 1, "round", "someone-else", counters)
    assert not h.store.record_progress(CHAIN, 1, "baseline", record.job.name, counters)

    stored = h.store.get_round(CHAIN, 1)
    assert stored is not None and stored.job is not None and stored.job.counters == counters
    assert _version(h) == version + 1 and _events(h) == events
    h.store.finish_job(CHAIN, 1, "round", _finished(record.job))
    assert not h.store.record_progress(CHAIN, 1, "round", record.job.name, counters)  # finished: not running


def test_the_rounds_job_finishes_once_frees_the_chain_and_carries_its_model(chain_store: StoreHarness) -> None:
    h = chain_store
    _queued(h)
    record = _running(h, 1)
    assert record.job is not None
    done = _finished(record.job, final_model_arn="arn:model/r1", finished_at="2026-03-02T08:00:00.000Z")

    assert h.store.finish_job(CHAIN, 1, "round", done, latest_model_arn="arn:model/r1")
    assert not h.store.finish_job(CHAIN, 1, "round", done, latest_model_arn="arn:model/r1")  # a duplicate event

    stored = h.store.get_round(CHAIN, 1)
    assert stored is not None and stored.status == "completed" and stored.job == done
    chain = h.store.get_chain(CHAIN)
    assert chain is not None and chain.active_round == 0
    assert (chain.latest_model_arn, chain.latest_model_round) == ("arn:model/r1", 1)
    [latest] = h.store.recent_transitions(CHAIN, 1)
    assert (latest.event, latest.round, latest.role, latest.job, latest.state) == (
        "job completed", 1, "round", record.job.name, "completed",
    )  # fmt: skip


def test_of_two_outcomes_racing_for_one_job_the_first_is_kept(chain_store: StoreHarness) -> None:
    h = chain_store
    _queued(h)
    record = _running(h, 1)
    assert record.job is not None
    job = record.job
    h.before("write", lambda: h.store.finish_job(CHAIN, 1, "round", _finished(job), latest_model_arn="arn:model/r1"))

    failed = _finished(job, RoundStatus.FAILED, failure_reason="late and wrong")
    assert not h.store.finish_job(CHAIN, 1, "round", failed)

    stored = h.store.get_round(CHAIN, 1)
    assert stored is not None and stored.status == "completed" and stored.job is not None
    assert stored.job.failure_reason is None
    chain = h.store.get_chain(CHAIN)
    assert chain is not None and chain.latest_model_arn == "arn:model/r1"
    assert _events(h).count("job completed") == 1 and "job failed" not in _events(h)


def test_a_job_that_ended_without_a_model_leaves_the_carried_model(chain_store: StoreHarness) -> None:
    h = chain_store
    _queued(h)
    first = _running(h, 1)
    h.store.finish_job(CHAIN, 1, "round", _finished(first.job), latest_model_arn="arn:model/r1")  # type: ignore[arg-type]
    second = _running(h, 2)
    assert h.store.finish_job(CHAIN, 2, "round", _finished(second.job, note="the job trained no model"))  # type: ignore[arg-type]
    chain = h.store.get_chain(CHAIN)
    assert chain is not None and (chain.latest_model_arn, chain.latest_model_round) == ("arn:model/r1", 1)
    assert h.store.recent_transitions(CHAIN, 1)[0].detail == "the job trained no model"


def test_a_baseline_finishes_once_and_leaves_the_chain_as_it_is(chain_store: StoreHarness) -> None:
    h = chain_store
    _queued(h)
    record = _running(h, 1, baseline=True)
    assert record.baseline is not None and record.job is not None
    failed = _finished(record.baseline, RoundStatus.FAILED, failure_reason="ClientError: worker template")

    assert h.store.finish_job(CHAIN, 1, "baseline", failed)
    assert not h.store.finish_job(CHAIN, 1, "baseline", _finished(record.baseline))

    stored = h.store.get_round(CHAIN, 1)
    assert stored is not None and stored.baseline == failed
    assert stored.status == "running" and stored.job is not None and stored.job.status == "running"
    chain = h.store.get_chain(CHAIN)
    assert chain is not None and chain.active_round == 1  # the round's own job still runs
    [latest] = h.store.recent_transitions(CHAIN, 1)
    assert (latest.event, latest.role, latest.detail) == ("job failed", "baseline", "ClientError: worker template")


def test_a_job_of_another_attempt_cannot_finish_this_one(chain_store: StoreHarness) -> None:
    h = chain_store
    _queued(h)
    record = _running(h, 1)
    assert record.job is not None
    stale = _finished(record.job.model_copy(update={"name": "gtchain-birds-a1b2c3-r1-a0"}))
    assert not h.store.finish_job(CHAIN, 1, "round", stale)
    stored = h.store.get_round(CHAIN, 1)
    assert stored is not None and stored.status == "running"


def test_a_job_claimed_but_never_created_can_be_finished(chain_store: StoreHarness) -> None:
    h = chain_store
    _queued(h)
    claimed = _claim(h, 1)
    h.store.claim_round(claimed)
    assert claimed.job is not None
    reason = "the chain was stopped before the job was created"
    stopped = claimed.job.model_copy(update={"status": RoundStatus.STOPPED, "failure_reason": reason})
    assert h.store.finish_job(CHAIN, 1, "round", stopped)
    stored = h.store.get_round(CHAIN, 1)
    assert stored is not None and stored.status == "stopped"


def test_only_a_failed_or_stopped_round_is_requeued(chain_store: StoreHarness) -> None:
    h = chain_store
    _queued(h)
    record = _running(h, 1)
    assert record.job is not None
    assert not h.store.requeue_round(CHAIN, 1)  # running
    h.store.finish_job(CHAIN, 1, "round", _finished(record.job, RoundStatus.FAILED, failure_reason="x"))

    assert h.store.requeue_round(CHAIN, 1)
    assert not h.store.requeue_round(CHAIN, 1)  # once
    assert not h.store.requeue_round(CHAIN, 2)  # queued already
    assert not h.store.requeue_round(CHAIN, 9)  # no such round: nothing is created
    assert h.store.get_round(CHAIN, 9) is None

    stored = h.store.get_round(CHAIN, 1)
    assert stored is not None and stored.status == "queued" and stored.job is not None  # kept for the history
    [latest] = h.store.recent_transitions(CHAIN, 1)
    assert (latest.event, latest.round, latest.state, latest.detail) == (
        "round requeued", 1, "queued", "retried on resume",
    )  # fmt: skip


# ---- versions, transitions and snapshots -----------------------------------------------------------------


def test_every_transition_raises_the_version_by_one_and_is_recorded(chain_store: StoreHarness) -> None:
    h = chain_store
    _queued(h)  # created (1), queued (2)
    record = _running(h, 1)  # claimed (3), running (4)
    assert record.job is not None
    h.store.finish_job(CHAIN, 1, "round", _finished(record.job))  # 5
    assert _version(h) == 5
    assert _events(h) == ["chain created", "manifest queued", "round claimed", "job running", "job completed"]
    assert [t.event for t in h.store.recent_transitions(CHAIN, 2)] == ["job completed", "job running"]


def test_a_snapshot_is_read_at_one_version(chain_store: StoreHarness) -> None:
    h = chain_store
    _queued(h)
    snapshot = h.store.snapshot(CHAIN, transitions=2)
    assert snapshot is not None
    assert snapshot.chain.version == _version(h) == 2
    assert [r.number for r in snapshot.rounds] == [1, 2] and [m.name for m in snapshot.manifests] == ["birds.manifest"]
    assert [t.event for t in snapshot.transitions] == ["manifest queued", "chain created"]
    assert h.store.snapshot("nobody") is None


def test_a_snapshot_read_while_a_transition_lands_is_read_again(chain_store: StoreHarness) -> None:
    h = chain_store
    _queued(h)
    # a claim lands after the snapshot read the chain, before it listed the rounds
    h.before("list", lambda: h.store.claim_round(_claim(h, 1)))

    snapshot = h.store.snapshot(CHAIN)

    assert snapshot is not None and snapshot.chain.version == _version(h) == 3
    assert snapshot.chain.active_round == 1 and snapshot.rounds[0].status == "starting"
    assert snapshot.transitions[0].event == "round claimed"


def test_a_snapshot_gives_up_with_contention_when_the_chain_never_holds_still(chain_store: StoreHarness) -> None:
    h = chain_store
    _queued(h)
    changes = []

    def keep_changing() -> None:  # a transition lands during every listing
        changes.append(1)
        h.store.update_spec(CHAIN, _spec(), f"v{len(changes) + 1}")
        h.before("list", keep_changing)

    h.before("list", keep_changing)
    with pytest.raises(ContentionError):
        h.store.snapshot(CHAIN)
    assert len(changes) >= SNAPSHOT_ATTEMPTS


def test_a_write_that_conflicts_with_concurrent_ones_is_tried_again(chain_store: StoreHarness) -> None:
    h = chain_store
    h.store.create_chain(_chain())
    h.conflicts(CONFLICT_ATTEMPTS - 1)
    assert h.store.set_state(CHAIN, ChainState.PAUSED, "x")
    assert _version(h) == 2


def test_a_write_that_keeps_conflicting_raises_contention_and_writes_nothing(chain_store: StoreHarness) -> None:
    h = chain_store
    h.store.create_chain(_chain())
    h.conflicts(CONFLICT_ATTEMPTS)
    with pytest.raises(ContentionError):
        h.store.set_state(CHAIN, ChainState.PAUSED, "x")
    chain = h.store.get_chain(CHAIN)
    assert chain is not None and chain.state == "active" and chain.version == 1
    assert h.store.set_state(CHAIN, ChainState.PAUSED, "x")  # the next write goes through


# ---- rejected uploads ------------------------------------------------------------------------------------


def _rejection(key: str = "chains/birds/inbox/bad.manifest", version: str = "v1", at: str = "2026-03-02T08:00:00.000Z",
               ) -> Rejection:  # fmt: skip
    return Rejection(key=key, version=version, rejected_at=at, reason="1 error(s); first: line 1: not valid JSON",
                     report_key=f"chains/birds/errors/bad.manifest@{version}.json", errors=1)  # fmt: skip


def test_a_rejection_is_kept_once_before_the_chain_exists_and_noted_as_a_transition_after(
    chain_store: StoreHarness,
) -> None:
    h = chain_store
    early = _rejection("chains/birds/chain.json")
    h.store.record_rejection(CHAIN, early)
    assert h.store.get_chain(CHAIN) is None  # recording one creates no chain
    assert h.store.list_rejections(CHAIN) == [early]

    h.store.create_chain(_chain())
    later = _rejection(version="v2", at="2026-03-02T09:00:00.000Z")
    h.store.record_rejection(CHAIN, later)
    h.store.record_rejection(CHAIN, replace(later, rejected_at="2026-03-02T09:05:00.000Z"))  # a retry: once

    assert set(h.store.list_rejections(CHAIN)) == {early, later}
    assert _version(h) == 2 and _events(h) == ["chain created", "upload rejected"]
    [noted] = h.store.recent_transitions(CHAIN, 1)
    assert noted.detail == "bad.manifest (version v2): 1 error(s); first: line 1: not valid JSON"
    assert h.store.list_rejections("nobody") == []


def test_of_two_invocations_recording_one_rejection_one_notes_it(chain_store: StoreHarness) -> None:
    h = chain_store
    h.store.create_chain(_chain())
    h.before("write", lambda: h.store.record_rejection(CHAIN, _rejection()))
    h.store.record_rejection(CHAIN, _rejection())
    assert h.store.list_rejections(CHAIN) == [_rejection()]
    assert _events(h) == ["chain created", "upload rejected"] and _version(h) == 2


# ---- DynamoDB's own: the table layout the emulator, the CLI and the e2e tests read, and the TTL -------------


def test_the_table_layout_and_the_transitions_ttl(chain_store: StoreHarness) -> None:
    h = chain_store
    if h.side != "moto":
        pytest.skip("the table's layout is DynamoDB's")
    _queued(h)
    h.store.record_rejection(CHAIN, _rejection())
    items = clients().client("dynamodb").scan(TableName=settings().table_name)["Items"]
    keys = sorted((item["PK"]["S"], item["SK"]["S"]) for item in items)
    sort_keys = [sk for _, sk in keys]
    assert {pk for pk, _ in keys} == {"CHAIN#birds"}
    assert [sk for sk in sort_keys if not sk.startswith(("TRANSITION#", "REJECTION#"))] == [
        "CHAIN", "MANIFEST#birds.manifest#m1", "ROUND#0001", "ROUND#0002",
    ]  # fmt: skip
    [rejection] = [sk for sk in sort_keys if sk.startswith("REJECTION#")]
    assert re.fullmatch(r"REJECTION#[0-9a-f]{32}", rejection)
    transitions = [item for item in items if item["SK"]["S"].startswith("TRANSITION#")]
    assert len(transitions) == 3 and all(
        re.fullmatch(r"TRANSITION#\S+Z#[0-9a-f]{8}", t["SK"]["S"]) for t in transitions
    )
    # transitions and rejections expire through the TTL attribute template.yaml names
    [table] = template().plan().tables.values()
    assert table["TimeToLiveSpecification"] == {"AttributeName": TTL_ATTRIBUTE, "Enabled": True}
    dynamodb = clients().client("dynamodb")  # and the table provisioned from it (local.stack) has both
    ttl = dynamodb.describe_time_to_live(TableName=settings().table_name)["TimeToLiveDescription"]
    assert (ttl["TimeToLiveStatus"], ttl["AttributeName"]) == ("ENABLED", TTL_ATTRIBUTE)
    backups = dynamodb.describe_continuous_backups(TableName=settings().table_name)["ContinuousBackupsDescription"]
    assert backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"
    expiring = [item for item in items if item["SK"]["S"].startswith(("TRANSITION#", "REJECTION#"))]
    in_400_days = time.time() + TRANSITION_TTL.total_seconds()
    assert all(abs(int(item[TTL_ATTRIBUTE]["N"]) - in_400_days) < 60 for item in expiring)
    assert all(TTL_ATTRIBUTE not in item for item in items if item not in expiring)
