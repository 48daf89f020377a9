"""Faults the service handles on its own: duplicate and racing events, lost events, a create that raised,
foreign jobs, odd keys, the budget. (Through the handlers on moto, with threads and SageMaker's retries:
tests/integration/chain/test_faults.py.)"""

import json
from typing import Any
from urllib.parse import quote_plus

import pytest
from botocore.exceptions import ClientError

from gtchain.domain.records import RoundStatus
from gtchain.service.chain import launch
from gtchain.service.ports import ContentionError
from gtchain.service.store import CONFLICT_ATTEMPTS
from tests.fakes import FakeChainStore
from tests.support import manifest_lines, model_arn
from tests.unit.service.world import World, advance, deliver, drop, finish_job, jobs, reconcile


def _roles(names: list[str]) -> list[str]:
    return sorted(next(t["Value"] for t in jobs()[n.lower()].tags if t["Key"] == "gtchain:role") for n in names)


@pytest.fixture
def running(world: World, spec_document: dict[str, Any]) -> World:
    """A chain whose round 1 runs, with round 2 queued behind it."""
    drop(world, "chains/birds/chain.json", json.dumps(spec_document))
    drop(world, "chains/birds/inbox/birds.manifest", manifest_lines(2500))
    world.published()
    return world


def _only_job() -> str:
    [job] = jobs().values()
    return job.name


def test_the_same_completed_event_five_times_starts_one_round_and_one_baseline(running: World) -> None:
    first = _only_job()
    finish_job(first, human=600, machine=650, model=model_arn("r1"))

    results = [advance(first, "Completed") for _ in range(5)]

    assert [r["action"] for r in results] == ["applied"] + ["duplicate"] * 4
    new = [j.name for j in jobs().values() if j.name != first]
    assert _roles(new) == ["baseline", "round"]
    published = running.published()
    assert len([e for e in published if e["detail-type"] == "Round Completed"]) == 1
    assert len([e for e in published if e["detail-type"] == "Round Started"]) == 2


def test_a_duplicate_event_racing_the_first_between_its_read_and_its_write_loses(running: World) -> None:
    # Given round 1's job completed, and its event delivered twice: the second delivery runs to its end after
    # the first read the round and before its conditional write landed
    first = _only_job()
    finish_job(first, human=600, machine=650, model=model_arn("r1"))
    store = running.ports.store
    assert isinstance(store, FakeChainStore)
    racing: list[dict[str, Any]] = []
    store.before("write", lambda: racing.append(advance(first, "Completed")))

    # When the first delivery goes on
    outcome = advance(first, "Completed")

    # Then the racing delivery applied the outcome and the first one lost its write: one of each
    assert [r["action"] for r in racing] == ["applied"] and outcome["action"] == "duplicate"
    assert _roles([j.name for j in jobs().values() if j.name != first]) == ["baseline", "round"]
    published = running.published()
    assert len([e for e in published if e["detail-type"] == "Round Completed"]) == 1
    assert len([e for e in published if e["detail-type"] == "Round Started"]) == 2


def test_two_manifests_racing_for_the_round_numbers_start_exactly_one_round(
    world: World, spec_document: dict[str, Any]
) -> None:
    # Given two manifests whose events arrive together: b's queueing runs to its end while a's is between
    # reading the chain's next round number and writing its rounds
    spec_document["rounds"] = 1
    drop(world, "chains/birds/chain.json", json.dumps(spec_document))
    versions = {n: world.put(f"chains/birds/inbox/{n}.manifest", manifest_lines(10, start=i * 10))
                for i, n in enumerate(("a", "b"))}  # fmt: skip
    store = world.ports.store
    assert isinstance(store, FakeChainStore)
    outcomes: list[dict[str, Any]] = []
    store.before("write", lambda: outcomes.append(deliver("chains/birds/inbox/b.manifest", versions["b"])))

    outcomes.append(deliver("chains/birds/inbox/a.manifest", versions["a"]))

    assert [o["action"] for o in outcomes] == ["queued", "queued"]
    assert len(jobs()) == 1
    rounds = world.ports.store.list_rounds("birds")
    assert [(r.number, r.manifest_name) for r in rounds] == [(1, "b.manifest"), (2, "a.manifest")]
    assert sorted(r.status for r in rounds) == ["queued", "running"]


def test_a_duplicate_manifest_event_queues_once_and_a_new_upload_is_new_work(running: World) -> None:
    info = running.ports.objects.head(running.ports.settings.data_bucket, "chains/birds/inbox/birds.manifest")
    assert info is not None
    again = deliver("chains/birds/inbox/birds.manifest", info.version)
    assert again["action"] == "duplicate"
    assert len(running.ports.store.list_rounds("birds")) == 2

    outcome = drop(running, "chains/birds/inbox/birds.manifest", manifest_lines(10, start=5000))
    assert outcome["action"] == "queued"
    assert [r.number for r in running.ports.store.list_rounds("birds")] == [1, 2, 3, 4]


@pytest.mark.parametrize("encode", [False, True], ids=["raw key", "url-encoded key"])
def test_keys_with_spaces_plus_and_percent_work_encoded_or_not(
    world: World, spec_document: dict[str, Any], encode: bool
) -> None:
    drop(world, "chains/birds/chain.json", json.dumps(spec_document))
    key = "chains/birds/inbox/my batch+1 100%.manifest"
    event_key = "/".join(quote_plus(part) for part in key.split("/")) if encode else key

    outcome = drop(world, key, manifest_lines(10), event_key=event_key)

    assert outcome["action"] == "queued"
    [record] = world.ports.store.list_rounds("birds")[:1]
    assert record.manifest_name == "my batch+1 100%.manifest"


def test_a_manifest_that_arrives_before_its_chain_json_waits_and_is_picked_up(
    world: World, spec_document: dict[str, Any]
) -> None:
    assert drop(world, "chains/birds/inbox/early.manifest", manifest_lines(10))["action"] == "waiting"
    assert jobs() == {}

    outcome = drop(world, "chains/birds/chain.json", json.dumps(spec_document))

    assert "1 waiting manifest(s) picked up" in outcome["detail"]
    assert len(jobs()) == 1


def test_a_manifest_dropped_mid_chain_queues_behind_the_running_round(running: World) -> None:
    drop(running, "chains/birds/inbox/later.manifest", manifest_lines(4, start=9000))
    assert len(jobs()) == 1
    assert [r.status for r in running.ports.store.list_rounds("birds")] == ["running", "queued", "queued", "queued"]


def test_a_create_that_raised_leaves_the_claim_and_the_reconciler_finishes_the_start(
    world: World, spec_document: dict[str, Any]
) -> None:
    # Given SageMaker throttling CreateLabelingJob until the client's retries ran out
    drop(world, "chains/birds/chain.json", json.dumps(spec_document))
    throttled = ClientError({"Error": {"Code": "ThrottlingException"}}, "CreateLabelingJob")
    world.ports.labeling.fail("create", throttled, times=1)
    with pytest.raises(ClientError, match="Throttling"):
        drop(world, "chains/birds/inbox/birds.manifest", manifest_lines(20))

    # Then the table is consistent: the round is claimed and 'starting', with its deterministic job name
    assert jobs() == {}
    record = world.ports.store.list_rounds("birds")[0]
    assert record.status == "starting" and record.job is not None
    chain = world.ports.store.get_chain("birds")
    assert chain is not None and chain.active_round == 1

    repaired = reconcile()

    assert repaired["launched"] and list(jobs()) == [record.job.name]
    assert world.ports.store.list_rounds("birds")[0].status == "running"


def test_a_lost_completed_event_is_repaired_by_the_reconciler(running: World) -> None:
    first = _only_job()
    finish_job(first, human=1250, machine=0)  # trained no model: the chain carries none, and says why

    repaired = reconcile()

    assert repaired["outcomes_applied"] == [first]
    record = running.ports.store.get_round("birds", 1)
    assert record is not None and record.job is not None and "trained no model" in (record.job.note or "")
    [second] = [j for j in jobs().values() if j.name != first]
    assert "InitialActiveLearningModelArn" not in second.request["LabelingJobAlgorithmsConfig"]
    assert reconcile()["outcomes_applied"] == []


def test_events_for_unknown_or_foreign_jobs_are_ignored(running: World) -> None:
    assert advance("gtchain-nobody-000000-r1-a1", "Completed")["action"] == "ignored"
    request = json.loads(json.dumps(jobs()[_only_job().lower()].request))
    request.update(LabelingJobName="someone-elses-job", Tags=[{"Key": "team", "Value": "vision"}])
    running.ports.labeling.create_job(request)
    finish_job("someone-elses-job")
    assert advance("someone-elses-job", "Completed") == {"action": "ignored", "detail": "not a gtchain job"}
    assert running.ports.store.get_round("birds", 1).status == "running"  # type: ignore[union-attr]


def test_a_failed_round_pauses_the_chain_and_chain_json_resumes_it_under_a_new_name(
    running: World, spec_document: dict[str, Any]
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


def test_a_pause_whose_announcement_failed_is_announced_by_the_retry(
    running: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given round 1's job failed, and SNS refuses the pause's notification once
    first = _only_job()
    finish_job(first, "Failed", reason="ClientError: the manifest could not be read")
    publisher = running.ports.publisher
    notify = publisher.notify
    refusals = [ClientError({"Error": {"Code": "Throttling"}}, "Publish")]

    def flaky(subject: str, message: str) -> None:
        if refusals:
            raise refusals.pop()
        notify(subject, message)

    monkeypatch.setattr(publisher, "notify", flaky)
    with pytest.raises(ClientError):
        advance(first, "Failed")
    chain = running.ports.store.get_chain("birds")
    assert chain is not None and chain.state == "paused" and chain.unannounced
    assert not any("paused" in n["Subject"] for n in running.notifications())

    # When Lambda retries the event: the outcome is recorded already
    assert advance(first, "Failed")["action"] == "duplicate"

    # Then the pause is said once, and recorded as said
    assert [n["Subject"] for n in running.notifications()] == ["gtchain: chain birds paused"]
    assert [e["detail-type"] for e in running.published()].count("Chain Paused") == 1
    assert not running.ports.store.get_chain("birds").unannounced  # type: ignore[union-attr]
    reconcile()
    assert running.notifications() == []


def test_a_retried_completed_event_starts_the_next_round_its_first_delivery_could_not(running: World) -> None:
    # Given round 1 completed and its event's first delivery failed creating round 2's job (after the outcome)
    first = _only_job()
    finish_job(first, human=1000, machine=250, model=model_arn("r1"))
    running.ports.labeling.fail("create", RuntimeError("throttled"), times=1)
    with pytest.raises(RuntimeError):
        advance(first, "Completed")
    assert [j.name for j in jobs().values()] == [first]
    # When Lambda retries the event: a duplicate of the recorded outcome, which still starts round 2
    assert advance(first, "Completed")["action"] == "duplicate"
    assert sorted(_roles([j.name for j in jobs().values() if j.name != first])) == ["baseline", "round"]


def test_a_job_name_taken_by_an_earlier_attempt_of_this_chain_counts_as_created(running: World) -> None:
    record = running.ports.store.get_round("birds", 1)
    assert record is not None and record.job is not None
    with pytest.raises(Exception, match=record.job.name):  # JobAlreadyExistsError, as the adapter raises it
        running.ports.labeling.create_job(jobs()[record.job.name.lower()].request)
    # a second launch of the same round (e.g. the reconciler after a crash) adopts the existing job
    chain = running.ports.store.get_chain("birds")
    assert chain is not None
    launch(
        running.ports, chain,
        record.model_copy(update={"job": record.job.model_copy(update={"status": RoundStatus.STARTING})}),
    )  # fmt: skip
    assert len(jobs()) == 1


def test_the_budget_pauses_the_chain_before_a_round_that_could_exceed_it(
    world: World, spec_document: dict[str, Any]
) -> None:
    # each round's worst case: 1,250 x (0.08 + 3 x 0.036) = $235; with its baseline, $470
    spec_document["budgetUsd"] = 600
    drop(world, "chains/birds/chain.json", json.dumps(spec_document))
    drop(world, "chains/birds/inbox/birds.manifest", manifest_lines(2500))
    first = _only_job()
    finish_job(first, human=1000, machine=250, model=model_arn("r1"))  # $188 + $20 = $208 spent

    advance(first, "Completed")

    chain = world.ports.store.get_chain("birds")
    assert chain is not None and chain.state == "paused"
    assert "could cost up to $470" in (chain.pause_reason or "") and "$208" in (chain.pause_reason or "")
    assert len(jobs()) == 1


def test_a_transition_that_kept_conflicting_raises_and_the_retried_invocation_does_the_work_once(
    world: World, spec_document: dict[str, Any]
) -> None:
    # Given a chain, and its manifest's queueing conflicting with concurrent transactions until it gives up
    drop(world, "chains/birds/chain.json", json.dumps(spec_document))
    version = world.put("chains/birds/inbox/birds.manifest", manifest_lines(20))
    store = world.ports.store
    assert isinstance(store, FakeChainStore)
    store.conflicts(CONFLICT_ATTEMPTS)

    # When the event is delivered, the invocation raises (Lambda retries it) and nothing was queued
    with pytest.raises(ContentionError):
        deliver("chains/birds/inbox/birds.manifest", version)
    assert world.ports.store.list_rounds("birds") == [] and jobs() == {}

    # Then the retry queues the manifest and starts round 1, once
    assert deliver("chains/birds/inbox/birds.manifest", version)["action"] == "queued"
    assert deliver("chains/birds/inbox/birds.manifest", version)["action"] == "duplicate"
    assert [r.number for r in world.ports.store.list_rounds("birds")] == [1, 2] and len(jobs()) == 1
