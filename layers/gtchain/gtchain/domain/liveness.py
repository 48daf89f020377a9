"""When the reconciler may leave a chain alone: the rule that takes a chain out of the table's index of live chains.

Every transition marks its chain live; the reconciler's tick reads only live chains and unmarks one when this rule
finds nothing a later tick could do for it. What could still happen without a transition is what keeps a chain
live: a job's state at Ground Truth, output Ground Truth has not written yet, a report not yet written, a queued
round an active chain can start. Uploads are not transitions either: an upload whose event was lost into an idle
chain is the sweep's (service.reconcile.sweep).

Pure: every function here works on what it is given.
"""

from collections.abc import Collection, Iterable
from datetime import datetime, timedelta

from gtchain.domain.audit import audit_due, gate_pending
from gtchain.domain.names import Role
from gtchain.domain.records import AuditJob, ChainRecord, JobRecord, ManifestRecord, RoundRecord, RoundStatus
from gtchain.domain.spec import ChainState

# The reporter retries for about 3 minutes after Round Completed; a report missing later than this was lost.
REPORT_GRACE = timedelta(minutes=15)
# Past this, a report that still fails is left to the reporter's failure queue (and the CLI), not re-asked forever.
REPORT_WINDOW = timedelta(days=1)

_LIVE_JOB = (RoundStatus.STARTING, RoundStatus.RUNNING)
_ENDED_ROUND = (RoundStatus.FAILED, RoundStatus.STOPPED)

ReportedJob = tuple[RoundRecord, Role, JobRecord]


def _reportable(rounds: Iterable[RoundRecord], now: datetime, since: timedelta) -> list[ReportedJob]:
    """Completed jobs of the current attempts that finished between `since` and REPORT_WINDOW ago (an audit once
    scored: it is reported then)."""
    return [
        (record, role, job)
        for record in rounds
        for role, job in record.jobs_by_role()
        if job.status == RoundStatus.COMPLETED and job.finished_at
        and (not isinstance(job, AuditJob) or job.result is not None)
        and since <= now - datetime.fromisoformat(job.finished_at) <= REPORT_WINDOW
    ]  # fmt: skip


def reports_due(rounds: Iterable[RoundRecord], now: datetime) -> list[ReportedJob]:
    """Completed jobs whose report, if missing, is asked for again: past the reporter's own retries, within the
    window."""
    return _reportable(rounds, now, REPORT_GRACE)


def _results_pending(manifest: ManifestRecord, rounds: dict[int, RoundRecord]) -> bool:
    """Results recorded but not announced, or every round of the manifest completed and no audit gate holding
    them (one that holds them keeps the chain live while its audit can move: see live_work)."""
    if manifest.announced:
        return False
    if manifest.status == "completed":
        return True
    own = [rounds.get(number) for number in manifest.rounds]
    return all(r is not None and r.status == RoundStatus.COMPLETED and not gate_pending(r) for r in own)


def live_work(
    chain: ChainRecord, rounds: list[RoundRecord], manifests: list[ManifestRecord], reported: Collection[str],
    now: datetime,
) -> str | None:  # fmt: skip
    """What the reconciler may still have to do for the chain, or None when it is idle: nothing changes for it
    until a transition or an upload. `reported`: the jobs known to have a report (the reconciler lists the reports
    only when one is due, so a job that finished within REPORT_GRACE counts as unreported until then)."""
    for record in rounds:
        for _, job in record.jobs_by_role():
            if job.status in _LIVE_JOB:
                return f"job {job.name} is {job.status}"
        audit = record.audit
        if audit is not None and audit.status == RoundStatus.COMPLETED and not audit.scored:
            return f"the audit of round {record.number} waits for its output to be scored"
    if chain.active_round:
        return f"round {chain.active_round} holds the chain"
    if chain.unannounced and chain.state != ChainState.ACTIVE:
        return f"its {chain.state.value} state is not announced yet"
    if chain.state == ChainState.ACTIVE:
        for record in rounds:
            if record.status == RoundStatus.QUEUED:
                return f"round {record.number} is queued"
            if record.status in _ENDED_ROUND:
                return f"round {record.number} {record.status}: the chain pauses"
            if audit_due(record):
                return f"the audit of round {record.number} waits for the round's output"
    by_number = {r.number: r for r in rounds}
    for manifest in manifests:
        if _results_pending(manifest, by_number):
            return f"the results of {manifest.name} are pending"
    for _, _, job in _reportable(rounds, now, timedelta(0)):
        if job.name not in reported:
            return f"job {job.name} has no report yet"
    return None
