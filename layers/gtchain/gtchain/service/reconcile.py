"""Reconcile: on a schedule, do for every chain what a lost event would have done.

Per chain: apply a chain.json whose event was lost, queue inbox manifests whose event was lost, apply job
outcomes whose event was lost, note running jobs' progress, start what can start, write results that were
waiting for Ground Truth's output, and rewrite status.json if it is behind the table.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from gtchain.domain import events, names
from gtchain.domain.names import job_of_summary_key
from gtchain.domain.records import RoundRecord, RoundStatus
from gtchain.observability import logger
from gtchain.service.chain import LIVE, apply_outcome, kick, launch, record_progress, round_event_detail
from gtchain.service.ports import Ports
from gtchain.service.settle import settle
from gtchain.service.start import apply_spec, pick_up_inbox, spec_drifted

# The reporter retries for about 3 minutes after Round Completed; a report missing later than this was lost.
REPORT_GRACE = timedelta(minutes=15)
# Past this, a report that still fails is left to the reporter's failure queue (and the CLI), not re-asked forever.
REPORT_WINDOW = timedelta(days=1)


class ReconcileError(Exception):
    """Some chains could not be reconciled (the others were): raised so the run is retried and alarmed on."""


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
    for chain in ports.store.iter_chains():
        repairs.chains += 1
        try:
            reconcile_chain(ports, chain.chain_id, repairs)
        except Exception:  # one chain's fault must not keep the others from being repaired
            logger.exception("reconciling a chain failed", extra={"chain_id": chain.chain_id})
            repairs.failed.append(chain.chain_id)
    if repairs.failed:
        raise ReconcileError(f"could not reconcile chain(s) {', '.join(repairs.failed)}; the others were")
    return repairs


def reconcile_chain(ports: Ports, chain_id: str, repairs: Repairs) -> None:
    store = ports.store
    chain = store.get_chain(chain_id)
    if chain is None:
        return
    if (spec := spec_drifted(ports, chain)) is not None:
        logger.warning("reconciler applies a chain.json whose event was lost", extra={"chain_id": chain_id})
        apply_spec(ports, chain_id, spec)
        repairs.specs_applied.append(f"{chain_id} {spec.version}")
    for name in pick_up_inbox(ports, chain_id):
        logger.warning("reconciler picked up a manifest whose event was lost", extra={"chain_id": chain_id,
                                                                                      "manifest": name})  # fmt: skip
        repairs.manifests_picked_up.append(f"{chain_id}/{name}")
    rounds = store.list_rounds(chain_id)
    for record in rounds:
        for role, job in record.jobs_by_role():
            if job.status not in LIVE:
                continue
            described = ports.labeling.describe_job(job.name)
            if described is None or job.status == RoundStatus.STARTING:
                chain = store.get_chain(chain_id)
                if chain is not None:
                    launch(ports, chain, record)  # the claim was made but the job not (yet) created
                    repairs.launched.append(job.name)
                continue
            if not described.terminal:
                record_progress(ports, record, role, described)
            elif apply_outcome(ports, record, role, described):
                logger.warning("reconciler applied a missed outcome", extra={"job": job.name})
                repairs.outcomes_applied.append(job.name)
            record = store.get_round(chain_id, record.number) or record
    request_missing_reports(ports, chain_id, rounds, repairs)
    launched = kick(ports, chain_id)
    if launched is not None:
        repairs.launched.append(f"{chain_id} round {launched}")
    results = settle(ports, chain_id, reconciling=True)
    repairs.results_written.extend(f"{chain_id}/{name}" for name in results.completed)
    repairs.results_waiting.extend(f"{chain_id}/{name}" for name in results.waiting)


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
