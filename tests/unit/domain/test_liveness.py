"""domain.liveness alone: when the reconciler may take a chain out of the live chains, and when it must not."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from gtchain.domain.liveness import REPORT_GRACE, REPORT_WINDOW, live_work, reports_due
from gtchain.domain.records import (
    AuditJob,
    AuditResult,
    ChainRecord,
    JobRecord,
    LabelCounts,
    ManifestRecord,
    RoundRecord,
    RoundStatus,
)
from gtchain.domain.spec import Audit, ChainSpec, ChainState, parse_chain_spec
from tests.support import ROOT

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
LONG_AGO = NOW - REPORT_WINDOW - timedelta(minutes=1)  # past every report window


def _spec(**changes: Any) -> ChainSpec:
    spec, issues = parse_chain_spec((ROOT / "tests" / "data" / "chain.json").read_bytes())
    assert spec is not None and not issues
    return spec.model_copy(update=changes)


def _at(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _chain(**changes: Any) -> ChainRecord:
    return ChainRecord(chain_id="birds", incarnation="abc123", spec=_spec(), spec_version="v1", version=7,
                       **changes)  # fmt: skip


def _job(number: int, status: RoundStatus = RoundStatus.COMPLETED, finished: datetime | None = LONG_AGO,
         machine: int = 0) -> JobRecord:  # fmt: skip
    counters = LabelCounts(total_labeled=10, human_labeled=10 - machine, machine_labeled=machine)
    return JobRecord(name=f"gtchain-birds-abc123-r{number}-a1", status=status,
                     finished_at=_at(finished) if finished else None, counters=counters)  # fmt: skip


def _round(number: int, status: RoundStatus = RoundStatus.COMPLETED, **changes: Any) -> RoundRecord:
    claimed = {"spec": _spec()} | ({"job": _job(number)} if status == RoundStatus.COMPLETED else {})
    return RoundRecord(chain_id="birds", number=number, manifest_name="birds.manifest", manifest_version="m1",
                       part=number, parts=2, objects=10, part_objects=10, input_uri="s3://b/part",
                       digests_uri="s3://b/digests", status=status, attempt=1, **(claimed | changes))  # fmt: skip


def _manifest(**changes: Any) -> ManifestRecord:
    announced = {"status": "completed", "results_uri": "s3://b/results", "announced": True}
    return ManifestRecord(chain_id="birds", name="birds.manifest", version="m1", lines=20, rounds=[1, 2],
                          **(announced | changes))  # fmt: skip


def _audit(status: RoundStatus, *, scored: bool = False, finished: datetime = LONG_AGO) -> AuditJob:
    result = AuditResult(audited=5, agreed=5, accuracy=Decimal(1), lower=Decimal("0.5"), upper=Decimal(1))
    return AuditJob(name="gtchain-birds-abc123-r1v-a1", status=status, kind="verification",
                    audited_job=_job(1).name, label_attribute="category-audit", objects=5, machine_labeled=8,
                    input_uri="s3://b/audit", min_accuracy=Decimal("0.9"), scored=scored,
                    result=result if scored else None, finished_at=_at(finished))  # fmt: skip


def _gated(audit: AuditJob | None = None) -> RoundRecord:
    """Round 1 completed with machine labels, its chain.json asking for an audit with a bar."""
    spec = _spec(audit=Audit(sample_size=20, min_accuracy=Decimal("0.9")))
    return _round(1, job=_job(1, machine=8), spec=spec, audit=audit)


def _done() -> list[RoundRecord]:
    return [_round(1), _round(2)]


@pytest.mark.parametrize(
    ("state", "rounds", "manifest"),
    [
        pytest.param(ChainState.ACTIVE, _done(), _manifest(), id="active, everything done and announced"),
        pytest.param(
            ChainState.PAUSED,
            [_round(1), _round(2, RoundStatus.QUEUED)],
            _manifest(status="queued", announced=False),
            id="paused with a queued round",
        ),
        pytest.param(
            ChainState.PAUSED,
            [_round(1), _round(2, RoundStatus.FAILED)],
            _manifest(status="queued", announced=False),
            id="paused by a failed round",
        ),
        pytest.param(
            ChainState.STOPPED,
            [_round(1), _round(2, RoundStatus.STOPPED)],
            _manifest(status="queued", announced=False),
            id="stopped, its jobs ended",
        ),
        pytest.param(
            ChainState.PAUSED,
            [_gated(), _round(2, RoundStatus.QUEUED)],
            _manifest(status="queued", announced=False),
            id="paused while an audit is due",
        ),
        pytest.param(
            ChainState.ACTIVE,
            [_gated(_audit(RoundStatus.COMPLETED, scored=True)), _round(2)],
            _manifest(),
            id="active, its audit scored",
        ),
    ],
)
def test_a_chain_nothing_can_happen_to_without_a_transition_is_idle(
    state: ChainState, rounds: list[RoundRecord], manifest: ManifestRecord
) -> None:
    assert live_work(_chain(state=state), rounds, [manifest], set(), NOW) is None


@pytest.mark.parametrize(
    ("chain", "rounds", "manifest", "work"),
    [
        pytest.param(
            _chain(active_round=2),
            [_round(1), _round(2, RoundStatus.RUNNING, job=_job(2, RoundStatus.RUNNING, None))],
            _manifest(status="queued", announced=False),
            "job gtchain-birds-abc123-r2-a1 is running",
            id="a running job",
        ),
        pytest.param(
            _chain(state=ChainState.STOPPED),
            [_round(1), _round(2, RoundStatus.COMPLETED, baseline=_job(2, RoundStatus.RUNNING, None))],
            _manifest(status="queued", announced=False),
            "is running",
            id="a stopped chain's baseline still running",
        ),
        pytest.param(
            _chain(active_round=2),
            [_round(1), _round(2, RoundStatus.STARTING, job=_job(2, RoundStatus.STARTING, None))],
            _manifest(status="queued", announced=False),
            "is starting",
            id="a claimed job not created yet",
        ),
        pytest.param(
            _chain(active_round=2), _done(), _manifest(), "round 2 holds the chain", id="the chain held by a round"
        ),
        pytest.param(
            _chain(),
            [_round(1), _round(2, RoundStatus.QUEUED)],
            _manifest(status="queued", announced=False),
            "round 2 is queued",
            id="an active chain's queued round",
        ),
        pytest.param(
            _chain(),
            [_round(1), _round(2, RoundStatus.FAILED)],
            _manifest(status="queued", announced=False),
            "round 2 failed: the chain pauses",
            id="an active chain's failed round (its pause was lost)",
        ),
        pytest.param(
            _chain(),
            [_gated(), _round(2, RoundStatus.QUEUED)],
            _manifest(status="queued", announced=False),
            "the audit of round 1 waits for the round's output",
            id="a queued round behind an audit due",
        ),
        pytest.param(
            _chain(),
            [_gated(), _round(2)],
            _manifest(status="queued", announced=False),
            "the audit of round 1 waits for the round's output",
            id="an audit due",
        ),
        pytest.param(
            _chain(state=ChainState.PAUSED),
            [_gated(_audit(RoundStatus.COMPLETED)), _round(2)],
            _manifest(status="queued", announced=False),
            "the audit of round 1 waits for its output",
            id="a completed audit not scored yet, even paused",
        ),
        pytest.param(
            _chain(),
            _done(),
            _manifest(status="queued", announced=False),
            "the results of birds.manifest are pending",
            id="results waiting for output",
        ),
        pytest.param(
            _chain(state=ChainState.PAUSED),
            _done(),
            _manifest(announced=False),
            "the results of birds.manifest are pending",
            id="results written, not announced",
        ),
        pytest.param(
            _chain(state=ChainState.PAUSED).model_copy(update={"unannounced": True}),
            _done(),
            _manifest(),
            "its paused state is not announced yet",
            id="a pause whose announcement failed",
        ),
    ],
)
def test_a_chain_a_later_tick_could_move_stays_live(
    chain: ChainRecord, rounds: list[RoundRecord], manifest: ManifestRecord, work: str
) -> None:
    assert work in (live_work(chain, rounds, [manifest], set(), NOW) or "idle")


def test_a_finished_job_keeps_its_chain_live_until_its_report_is_in_or_the_window_closed() -> None:
    def rounds(finished: datetime) -> list[RoundRecord]:
        return [_round(1), _round(2, job=_job(2, finished=finished))]

    just_now, a_while_ago = NOW - timedelta(minutes=1), NOW - REPORT_GRACE - timedelta(minutes=1)
    name = _job(2).name
    # Within the reporter's grace: live until a listing shows the report
    assert live_work(_chain(), rounds(just_now), [_manifest()], set(), NOW) == f"job {name} has no report yet"
    assert live_work(_chain(), rounds(just_now), [_manifest()], {name}, NOW) is None
    # Past it: the report is due (asked again while missing), idle once it is in
    assert [job.name for _, _, job in reports_due(rounds(a_while_ago), NOW)] == [name]
    assert live_work(_chain(), rounds(a_while_ago), [_manifest()], set(), NOW) == f"job {name} has no report yet"
    assert live_work(_chain(), rounds(a_while_ago), [_manifest()], {name}, NOW) is None
    # Past the window: never asked again, so nothing to wait for
    assert reports_due(rounds(LONG_AGO), NOW) == []
    assert live_work(_chain(), rounds(LONG_AGO), [_manifest()], set(), NOW) is None


def test_an_audit_is_reported_once_scored() -> None:
    unscored = [_gated(_audit(RoundStatus.COMPLETED, finished=NOW - REPORT_GRACE)), _round(2)]
    scored = [_gated(_audit(RoundStatus.COMPLETED, scored=True, finished=NOW - REPORT_GRACE)), _round(2)]
    assert [role for _, role, _ in reports_due(unscored, NOW)] == []
    assert [role for _, role, _ in reports_due(scored, NOW)] == ["audit"]
