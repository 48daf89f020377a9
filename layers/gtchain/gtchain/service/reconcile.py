"""Reconcile: on a schedule, do what a lost event would have done. Two schedules run it (template.yaml):

- The tick (ReconcileSchedule, every 10 minutes) reads the live chains only: the table's sparse index of the chains
  a transition marked. Each gets every repair it may need: apply a chain.json or queue inbox manifests whose event
  was lost, apply job outcomes whose event was lost, note running jobs' progress, start what can start, ask again
  for missing reports, write results that were waiting for Ground Truth's output, and rewrite status.json if it is
  behind the table. A chain left with nothing a later tick could do (domain.liveness) leaves the index, so an idle
  chain costs the tick nothing; its next transition brings it back.
- The sweep (ReconcileSweepSchedule, hourly) reads every chain, idle ones included, for a chain.json or inbox
  manifest whose event was lost (an upload is no transition: nothing marks the chain live), and chains/ in S3 for a
  new chain whose first chain.json event was lost. Whatever it applies is a transition: the tick takes over.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial

from gtchain.domain import events, names
from gtchain.domain.liveness import live_work, reports_due
from gtchain.domain.names import job_of_summary_key
from gtchain.domain.records import ChainRecord, JobRecord, ManifestRecord, RoundRecord, RoundStatus
from gtchain.observability import logger
from gtchain.service.chain import LIVE, apply_outcome, kick, launch, record_progress, round_event_detail
from gtchain.service.ports import ObjectInfo, Ports
from gtchain.service.settle import settle
from gtchain.service.start import apply_spec, pick_up_inbox, spec_drifted


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
    idle: list[str] = field(default_factory=list)  # chains found idle: they left the live chains
    failed: list[str] = field(default_factory=list)


def reconcile_all(ports: Ports) -> Repairs:
    """The tick: every live chain repaired, and unmarked when found idle."""
    repairs = Repairs()
    for chain_id in ports.store.iter_live_chains():
        repairs.chains += 1
        _step(repairs, f"chain {chain_id}", partial(reconcile_chain, ports, chain_id, repairs))
    return _finished(repairs)


def sweep(ports: Ports) -> Repairs:
    """The sweep: uploads whose events were lost, into any chain of the table or as a new chain's first chain.json."""
    repairs = Repairs()
    known: set[str] = set()
    for chain in ports.store.iter_chains():
        repairs.chains += 1
        known.add(chain.chain_id)
        _step(repairs, f"chain {chain.chain_id}", partial(_sweep_chain, ports, chain, repairs))
    adopt_new_chains(ports, known, repairs)
    return _finished(repairs)


def _sweep_chain(ports: Ports, chain: ChainRecord, repairs: Repairs) -> None:
    with ports.invocation():
        if pick_up_lost_uploads(ports, chain, repairs):
            _step(repairs, f"chain {chain.chain_id}: results and status", partial(settle, ports, chain.chain_id))


def _finished(repairs: Repairs) -> Repairs:
    if repairs.failed:
        raise ReconcileError(f"could not finish {'; '.join(repairs.failed)}; every other repair was made")
    return repairs


def _step(repairs: Repairs, where: str, repair: Callable[[], object]) -> None:
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
            with ports.invocation():
                apply_spec(ports, chain_id, info)
                repairs.specs_applied.append(f"{chain_id} {info.version}")
                settle(ports, chain_id)

        _step(repairs, f"chain {chain_id}: its first chain.json", adopt)


def pick_up_lost_uploads(ports: Ports, chain: ChainRecord, repairs: Repairs) -> bool:
    """Apply a chain.json newer than the one in force and queue inbox manifests neither queued nor rejected: their
    events were lost. True when something was."""
    chain_id = chain.chain_id
    found = len(repairs.specs_applied) + len(repairs.manifests_picked_up)

    def apply_lost_spec() -> None:
        if (spec := spec_drifted(ports, chain)) is not None:
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
    return len(repairs.specs_applied) + len(repairs.manifests_picked_up) > found


def reconcile_chain(ports: Ports, chain_id: str, repairs: Repairs, now: datetime | None = None) -> None:
    """Every repair this chain may need, in one invocation's view of it (Ports.invocation: the chain read once), each
    on its own: one that fails leaves the others to be made. Then, if every repair could be made, the chain as first
    read is judged (domain.liveness): idle, it leaves the live chains, at the version read, so a transition made
    meanwhile (by a repair or anyone) keeps it live."""
    with ports.invocation():
        _reconcile_chain(ports, chain_id, repairs, now or datetime.now(UTC))


def _reconcile_chain(ports: Ports, chain_id: str, repairs: Repairs, now: datetime) -> None:
    store = ports.store
    failures = len(repairs.failed)
    read: list[tuple[ChainRecord | None, list[RoundRecord], list[ManifestRecord]]] = []
    # The chain first: what is read after it is as new or newer, and a newer one means a transition since.
    _step(repairs, f"chain {chain_id}: table", lambda: read.append(
        (store.get_chain(chain_id), store.list_rounds(chain_id), store.list_manifests(chain_id))
    ))  # fmt: skip
    if not read:
        return  # reported: the chain stays live
    chain, rounds, manifests = read[0]
    if chain is None:
        return  # deleted while the index still lists it

    pick_up_lost_uploads(ports, chain, repairs)
    for record in rounds:
        for role, job in record.jobs_by_role():
            if job.status in LIVE:
                _step(repairs, f"job {job.name}", partial(_repair_job, ports, chain_id, record, role, job, repairs))
    reported: set[str] = set()
    _step(repairs, f"chain {chain_id}: reports",
          lambda: reported.update(request_missing_reports(ports, chain_id, rounds, repairs, now)))  # fmt: skip

    def start_next() -> None:
        if (launched := kick(ports, chain_id)) is not None:
            repairs.launched.append(f"{chain_id} round {launched}")

    def finish() -> None:
        results = settle(ports, chain_id)
        repairs.results_written.extend(f"{chain_id}/{name}" for name in results.completed)
        repairs.results_waiting.extend(f"{chain_id}/{name}" for name in results.waiting)

    _step(repairs, f"chain {chain_id}: next round", start_next)
    _step(repairs, f"chain {chain_id}: results and status", finish)
    if len(repairs.failed) > failures:
        return  # a repair may still be due: the chain stays live

    # Before the invocation's events go out: each follows a transition or asks again for a report, and either keeps
    # the chain live, so the chain is never taken out with an event it still owes.
    def leave_if_idle() -> None:
        if (work := live_work(chain, rounds, manifests, reported, now)) is not None:
            logger.debug("chain stays live", extra={"chain_id": chain_id, "work": work})
        elif store.mark_idle(chain_id, chain.version):
            repairs.idle.append(chain_id)

    _step(repairs, f"chain {chain_id}: idle", leave_if_idle)


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
) -> set[str]:
    """Re-emit Round Completed for completed jobs with no report: the reporter's retries ran out before
    Ground Truth's output appeared, or the event was lost. Jobs finished in the last minutes are its own.
    Returns the jobs that have a report (the reports are listed only when one is due)."""
    due = reports_due(rounds, now or datetime.now(UTC))
    if not due:
        return set()
    listed = ports.objects.list_objects(ports.settings.data_bucket, names.reports_prefix(chain_id))
    reported = {name for info in listed if (name := job_of_summary_key(chain_id, info.key)) is not None}
    for record, role, job in due:
        if job.name in reported:
            continue
        ports.publisher.publish(events.ROUND_COMPLETED, round_event_detail(record, role, job))
        logger.warning("reconciler asked again for a missing report", extra={"job": job.name})
        repairs.reports_requested.append(job.name)
    return reported
