"""The reconciler's tick reads the live chains only, and takes out those with nothing left to do; the sweep finds
what an idle chain's lost uploads left. (The rule itself: tests/unit/domain/test_liveness.py.)"""

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from gtchain.domain import names
from gtchain.domain.liveness import REPORT_GRACE
from gtchain.domain.spec import ChainState
from gtchain.service import reconcile as reconcile_module
from gtchain.service.reconcile import ReconcileError, Repairs, reconcile_chain, sweep
from tests.groundtruth import round_job, status, write_output
from tests.support import manifest_lines
from tests.unit.service.world import World, drop, finish_job, jobs, reconcile


def _job(chain_id: str, number: int) -> str:
    [name] = [key for key in jobs() if f"-{chain_id}-" in key and key.endswith(f"-r{number}-a1")]
    return name


def _live(world: World) -> list[str]:
    return sorted(world.ports.store.iter_live_chains())


def _chains_read(world: World, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The chains whose items the store is asked for from now on."""
    read: list[str] = []
    store = world.ports.store
    for method in ("get_chain", "list_rounds", "list_manifests"):
        original = getattr(store, method)

        def spy(chain_id: str, *args: Any, original: Any = original) -> Any:
            read.append(chain_id)
            return original(chain_id, *args)

        monkeypatch.setattr(store, method, spy)
    return read


@pytest.fixture
def quiet_and_busy(world: World, spec_document: dict[str, Any]) -> World:
    """Chain quiet has a chain.json and nothing else to do; chain busy's round 1 runs."""
    drop(world, "chains/quiet/chain.json", json.dumps(spec_document))
    drop(world, "chains/busy/chain.json", json.dumps(spec_document | {"rounds": 1, "baseline": False}))
    drop(world, "chains/busy/inbox/birds.manifest", manifest_lines(20))
    assert _live(world) == ["busy", "quiet"]  # every transition marks its chain
    return world


def test_the_tick_takes_out_a_chain_with_nothing_to_do_and_reads_only_live_chains(
    quiet_and_busy: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # When the tick runs, the chain with nothing to do leaves the live chains; the one whose job runs stays
    assert reconcile()["idle"] == ["quiet"]
    assert _live(quiet_and_busy) == ["busy"]

    # Then the next tick reads the live chain alone
    read = _chains_read(quiet_and_busy, monkeypatch)
    repaired = reconcile()
    assert repaired["chains"] == 1 and repaired["idle"] == []
    assert set(read) == {"busy"}


def test_a_lost_completed_event_is_repaired_and_the_chain_taken_out_once_its_report_is_in(
    quiet_and_busy: World,
) -> None:
    world = quiet_and_busy
    reconcile()
    job = round_job(1)
    finish_job(job, human=20)  # its Completed event is lost
    write_output(world, job)

    # The tick applies the outcome and writes the results; the chain stays live while the report may still come
    repaired = reconcile()
    assert repaired["outcomes_applied"] == [job] and repaired["results_written"] == ["busy/birds.manifest"]
    assert _live(world) == ["busy"] and status(world, "busy")["state"] == "idle"

    # Past the reporter's own retries, a missing report is asked for again and keeps the chain live...
    later = datetime.now(UTC) + REPORT_GRACE
    repairs = Repairs()
    reconcile_chain(world.ports, "busy", repairs, later)
    assert repairs.reports_requested == [job] and _live(world) == ["busy"]
    # ...and once it is in, the chain leaves the live chains
    world.put(f"{names.job_report_prefix('busy', job)}{names.REPORT_SUMMARY}", "{}")
    repairs = Repairs()
    reconcile_chain(world.ports, "busy", repairs, later)
    assert repairs.idle == ["busy"] and _live(world) == []


def test_an_idle_chain_comes_back_with_its_next_transition(
    quiet_and_busy: World, spec_document: dict[str, Any]
) -> None:
    world = quiet_and_busy
    reconcile()
    assert "quiet" not in _live(world)

    # A paused chain with rounds queued is idle: only a new chain.json moves it, and applying one is a transition
    drop(world, "chains/quiet/chain.json", json.dumps(spec_document | {"state": "paused"}))
    drop(world, "chains/quiet/inbox/birds.manifest", manifest_lines(20))
    assert "quiet" in _live(world)
    reconcile()
    assert [r.status for r in world.ports.store.list_rounds("quiet")] == ["queued", "queued"]
    assert "quiet" not in _live(world)

    drop(world, "chains/quiet/chain.json", json.dumps(spec_document))
    assert "quiet" in _live(world) and _job("quiet", 1) in jobs()


def test_a_chain_stays_live_when_a_repair_failed_or_a_transition_came_during_the_tick(
    quiet_and_busy: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = quiet_and_busy
    # Given SageMaker failing to describe busy's job: quiet is taken out, busy stays (and the run fails)
    failure = ClientError({"Error": {"Code": "InternalFailure"}, "ResponseMetadata": {"HTTPStatusCode": 500}}, "x")
    world.ports.labeling.fail("describe", failure, times=1)
    with pytest.raises(ReconcileError, match="busy"):
        reconcile()
    assert _live(world) == ["busy"]

    # Given a transition made between the tick's read of quiet and its verdict: the chain stays live
    world.ports.store.set_state("quiet", ChainState.PAUSED, "chain.json says paused")
    judge = reconcile_module.live_work

    def judged_during_a_transition(chain: Any, *args: Any) -> str | None:
        if chain.chain_id == "quiet":
            world.ports.store.set_state("quiet", ChainState.ACTIVE, None)
        return judge(chain, *args)

    monkeypatch.setattr(reconcile_module, "live_work", judged_during_a_transition)
    assert "quiet" not in reconcile()["idle"]
    assert "quiet" in _live(world)
    monkeypatch.setattr(reconcile_module, "live_work", judge)
    assert "quiet" in reconcile()["idle"]


def test_the_sweep_finds_a_lost_upload_into_an_idle_chain(quiet_and_busy: World) -> None:
    world = quiet_and_busy
    reconcile()
    # Given a manifest uploaded into the idle chain, its event lost: the tick does not read the chain
    world.put("chains/quiet/inbox/lost.manifest", manifest_lines(20))
    assert reconcile()["manifests_picked_up"] == []

    # When the sweep runs, the manifest is queued and its round starts; the chain is live again
    repaired = sweep(world.ports)
    assert repaired.chains == 2 and repaired.manifests_picked_up == ["quiet/lost.manifest"]
    assert _job("quiet", 1) in jobs()
    assert "quiet" in _live(world) and [m["name"] for m in status(world, "quiet")["manifests"]] == ["lost.manifest"]
    assert sweep(world.ports).manifests_picked_up == []
