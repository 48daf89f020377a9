"""Reconcile: on a schedule, do for every chain what a lost event would have done.

Per chain: apply a chain.json whose event was lost, queue inbox manifests whose event was lost, apply job
outcomes whose event was lost, note running jobs' progress, start what can start, write results that were
waiting for Ground Truth's output, and rewrite status.json if it is behind the table.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial

from gtchain.domain import events, names
from gtchain.domain.names import job_of_summary_key
from gtchain.domain.records import AuditJob, JobRecord, RoundRecord, RoundStatus
from gtchain.observability import logger
from gtchain.service.chain import LIVE, apply_outcome, kick, launch, record_progress, round_event_detail
from gtchain.service.ports import ObjectInfo, Ports
from gtchain.service.settle import settle
from gtchain.service.start import apply_spec, pick_up_inbox, spec_drifted

# The reporter retries for about 3 minutes after Round Completed; a report missing later than this was lost.
REPORT_GRACE = timedelta(minutes=15)
# Past this, a report that still fails is left to the reporter's failure queue (and the CLI), not re-asked forever.
REPORT_WINDOW = timedelta(days=1)


class ReconcileError(Exception):
    """Some repairs failed (all others were made): raised so the run is retried and alarmed on."""


@dataclass
class Repairs:
    chains: int = 0
    outcomes_applied: list[str] = field(default_factory=list)
    launched: list[str] = field(default_factory=list)
    reports_requested: list[str] = field(default_factory=list)
    specs_applied: list[str] = field(default_factory=list)
    manifests_picked_up: list[str] = field(default_factory=list)
    results_written: list[str] = field(default_factory=list)
    results_waiting: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def reconcile_all(ports: Ports) -> Repairs:
    repairs = Repairs()
    known: set[str] = set()
    for chain in ports.store.iter_chains():
        repairs.chains += 1
        known.add(chain.chain_id)
        reconcile_chain(ports, chain.chain_id, repairs)
    adopt_new_chains(ports, known, repairs)
    if repairs.failed:
        raise ReconcileError(f"could not finish {'; '.join(repairs.failed)}; every other repair was made")
    return repairs


def _step(repairs: Repairs, where: str, repair: Callable[[], None]) -> None:
    """One repair: its fault is logged and reported at the end of the run, and never keeps another repair
    (of this chain or another) from being made."""
    try:
        repair()
    except Exception:
        logger.exception("a reconciler repair failed", extra={"where": where})
        repairs.failed.append(where)


def adopt_new_chains(ports: Ports, known: set[str], repairs: Repairs) -> None:
    """A chain whose first chain.json event was lost is not in the table: find it under chains/ in S3."""
    bucket = ports.settings.data_bucket
    for prefix in ports.objects.list_prefixes(bucket, names.CHAINS_PREFIX):
        chain_id = prefix.removeprefix(names.CHAINS_PREFIX).removesuffix("/")
        if chain_id in known or not names.is_chain_id(chain_id):
            continue
        info = ports.objects.head(bucket, names.spec_key(chain_id))
        if info is None:
            continue  # manifests waiting for their chain.json: its event will start the chain
        if ports.objects.head(bucket, names.error_report_key(info.key, info.version, chain_id)) is not None:
            continue  # rejected: the chain starts when a valid chain.json is uploaded

        def adopt(chain_id: str = chain_id, info: ObjectInfo = info) -> None:
            logger.warning("reconciler applies a new chain's chain.json whose event was lost",
                           extra={"chain_id": chain_id})  # fmt: skip
            apply_spec(ports, chain_id, info)
            repairs.specs_applied.append(f"{chain_id} {info.version}")
            settle(ports, chain_id)

        _step(repairs, f"chain {chain_id}: its first chain.json", adopt)


def reconcile_chain(ports: Ports, chain_id: str, repairs: Repairs) -> None:
    """Every repair this chain may need, each on its own: one that fails leaves the others to be made."""
    store = ports.store

    def apply_lost_spec() -> None:
        chain = store.get_chain(chain_id)
        if chain is not None and (spec := spec_drifted(ports, chain)) is not None:
            logger.warning("reconciler applies a chain.json whose event was lost", extra={"chain_id": chain_id})
            apply_spec(ports, chain_id, spec)
            repairs.specs_applied.append(f"{chain_id} {spec.version}")

    def pick_up_lost_manifests() -> None:
        for name in pick_up_inbox(ports, chain_id):
            logger.warning("reconciler picked up a manifest whose event was lost",
                           extra={"chain_id": chain_id, "manifest": name})  # fmt: skip
            repairs.manifests_picked_up.append(f"{chain_id}/{name}")

    _step(repairs, f"chain {chain_id}: chain.json", apply_lost_spec)
    _step(repairs, f"chain {chain_id}: inbox", pick_up_lost_manifests)
    rounds: list[RoundRecord] = []
    _step(repairs, f"chain {chain_id}: rounds", lambda: rounds.extend(store.list_rounds(chain_id)))
    for record in rounds:
        for role, job in record.jobs_by_role():
            if job.status in LIVE:
                _step(repairs, f"job {job.name}", partial(_repair_job, ports, chain_id, record, role, job, repairs))
    _step(repairs, f"chain {chain_id}: reports", lambda: request_missing_reports(ports, chain_id, rounds, repairs))

    def start_next() -> None:
        if (launched := kick(ports, chain_id)) is not None:
            repairs.launched.append(f"{chain_id} round {launched}")

    def finish() -> None:
        results = settle(ports, chain_id)
        repairs.results_written.extend(f"{chain_id}/{name}" for name in results.completed)
        repairs.results_waiting.extend(f"{chain_id}/{name}" for name in results.waiting)

    _step(repairs, f"chain {chain_id}: next round", start_next)
    _step(repairs, f"chain {chain_id}: results and status", finish)


def _repair_job(
    ports: Ports, chain_id: str, record: RoundRecord, role: names.Role, job: JobRecord, repairs: Repairs
) -> None:
    """A live job's lost event: launch what was claimed but not created, else apply its outcome or progress."""
    record = ports.store.get_round(chain_id, record.number) or record  # an earlier repair may have moved it
    current = record.job_for(role)
    if current is None or current.name != job.name or current.status not in LIVE:
        return
    described = ports.labeling.describe_job(job.name)
    if described is None or current.status == RoundStatus.STARTING:
        chain = ports.store.get_chain(chain_id)
        if chain is not None:
            launch(ports, chain, record)  # the claim was made but the job not (yet) created
            repairs.launched.append(job.name)
        return
    if not described.terminal:
        record_progress(ports, record, role, described)
    elif apply_outcome(ports, record, role, described):
        logger.warning("reconciler applied a missed outcome", extra={"job": job.name})
        repairs.outcomes_applied.append(job.name)


def request_missing_reports(
    ports: Ports, chain_id: str, rounds: list[RoundRecord], repairs: Repairs, now: datetime | None = None
) -> None:
    """Re-emit Round Completed for completed jobs with no report: the reporter's retries ran out before
    Ground Truth's output appeared, or the event was lost. Jobs finished in the last minutes are its own."""
    now = now or datetime.now(UTC)
    due = [
        (record, role, job)
        for record in rounds
        for role, job in record.jobs_by_role()
        if job.status == RoundStatus.COMPLETED and job.finished_at
        and (not isinstance(job, AuditJob) or job.result is not None)  # an audit is reported once scored
        and REPORT_GRACE <= now - datetime.fromisoformat(job.finished_at) <= REPORT_WINDOW
    ]  # fmt: skip
    if not due:
        return
    listed = ports.objects.list_objects(ports.settings.data_bucket, names.reports_prefix(chain_id))
    reported = {job_of_summary_key(chain_id, info.key) for info in listed}
    for record, role, job in due:
        if job.name in reported:
            continue
        ports.publisher.publish(events.ROUND_COMPLETED, round_event_detail(record, role, job))
        logger.warning("reconciler asked again for a missing report", extra={"job": job.name})
        repairs.reports_requested.append(job.name)
