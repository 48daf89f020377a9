"""The chain's state machine: claim the next round, launch its jobs, apply their outcomes.

Every step is idempotent and guarded by a conditional write, so duplicate events, concurrent
handlers and the reconciler can all run it: exactly one of them wins each transition.

Audits of machine labels (service.audit) build on this module: kick starts the ones due and holds the next round
while an earlier round's audit is awaited (minAccuracy); launch creates an audit job as any other.
"""

from decimal import Decimal
from typing import Any

from gtchain.domain import events, names
from gtchain.domain.audit import audit_due, audit_spent_usd, audit_worst_case_usd, gate_waits
from gtchain.domain.forecast import eligibility, runs_baseline
from gtchain.domain.labeling_job import LabelingJob, tag_dict
from gtchain.domain.labeling_request import build_request, job_tags, pricing_for
from gtchain.domain.pricing import to_cents
from gtchain.domain.records import (
    TERMINAL_JOB_STATUSES,
    AuditJob,
    ChainRecord,
    JobRecord,
    RoundRecord,
    RoundStatus,
    utc_now,
)
from gtchain.domain.spec import ChainSpec, ChainState
from gtchain.domain.transitions import CreatedJob
from gtchain.domain.worker_ui import content_digest, render_label_categories, render_worker_template
from gtchain.observability import logger
from gtchain.service.dedupe import select_objects
from gtchain.service.ports import JobAlreadyExistsError, JobRejectedError, Ports

LIVE = (RoundStatus.STARTING, RoundStatus.RUNNING)
_KEPT_BASELINE = (*LIVE, RoundStatus.COMPLETED)
_CLAIM_ATTEMPTS = 5


def spent_usd(rounds: list[RoundRecord]) -> Decimal:
    """Cost of finished jobs (earlier attempts too) from their counters, plus the worst case of jobs still live."""
    total = Decimal(0)
    for record in rounds:
        for job in record.all_jobs():
            if job.status in LIVE:
                total += pricing_for(record.spec_snapshot()).worst_case_usd(record.objects)
            elif job.known_cost_usd is not None:
                total += job.known_cost_usd
        total += audit_spent_usd(record)  # the audit at its cost, or its worst case while it runs or is due
    return total


def round_worst_case_usd(spec: ChainSpec, objects: int, with_baseline: bool) -> Decimal:
    """The round's jobs' worst case: every object labeled by humans, its baseline's too, and its audit's sample."""
    return pricing_for(spec).worst_case_usd(objects) * (2 if with_baseline else 1) + audit_worst_case_usd(spec, objects)


def kick(ports: Ports, chain_id: str) -> int | None:
    """Start the chain's next queued round if it is active and idle. Returns the round launched, if any.

    Rounds whose objects were all labeled already complete on the spot, and the next one is tried."""
    store = ports.store
    lost_claims = 0
    while lost_claims < _CLAIM_ATTEMPTS:
        chain = store.get_chain(chain_id)
        if chain is None:
            return None
        rounds = store.list_rounds(chain_id)
        if chain.state == ChainState.ACTIVE and any(audit_due(r) for r in rounds):
            from gtchain.service.audit import start_due_audits  # audits build on this module

            if start_due_audits(ports, chain, rounds):
                rounds = store.list_rounds(chain_id)
        if chain.active_round:
            current = next((r for r in rounds if r.number == chain.active_round), None)
            if current is not None and current.status == RoundStatus.STARTING:
                launch(ports, chain, current)
                return current.number
            return None
        if chain.state != ChainState.ACTIVE:
            return None
        if broken := [r for r in rounds if r.status in (RoundStatus.FAILED, RoundStatus.STOPPED)]:
            # A failed round must be retried before anything after it; a lost pause write is repaired here.
            pause(ports, chain, f"round {broken[0].number} {broken[0].status}: upload chain.json to retry it")
            return None
        queued = [r for r in rounds if r.status == RoundStatus.QUEUED]
        if not queued:
            return None
        first = min(queued, key=lambda r: r.number)
        if (audited := gate_waits(rounds, first.number)) is not None:
            logger.info("the next round waits for an earlier round's audit (minAccuracy)",
                        extra={"chain_id": chain_id, "round": first.number, "audit_of": audited.number})  # fmt: skip
            return None
        candidate = _prepare_claim(ports, chain, first, rounds)
        if candidate.objects == 0:
            if store.complete_without_job(candidate):
                logger.info("round completed without a job: every object was labeled already",
                            extra={"chain_id": chain_id, "round": candidate.number})  # fmt: skip
            else:
                lost_claims += 1
            continue
        worst = candidate.worst_case_usd or Decimal(0)
        budget = chain.spec.budget_usd
        if budget is not None and (spent := spent_usd(rounds)) + worst > budget:
            pause(
                ports,
                chain,
                f"budget: round {candidate.number} could cost up to ${worst} and ${spent} is spent or committed; "
                f"that exceeds budgetUsd ${budget}. Raise budgetUsd in chain.json to go on",
            )
            return None
        if store.claim_round(candidate):
            logger.info("round claimed", extra={"chain_id": chain_id, "round": candidate.number})
            launch(ports, chain, candidate)
            return candidate.number
        lost_claims += 1
    logger.info("another invocation holds the chain's claim", extra={"chain_id": chain_id})
    return None


def _prepare_claim(ports: Ports, chain: ChainRecord, queued: RoundRecord, rounds: list[RoundRecord]) -> RoundRecord:
    """The round as it will start: what its jobs label (objects labeled elsewhere skipped), their names, and
    their worst case. Jobs of an earlier attempt move to the history (they were paid for)."""
    spec = chain.spec
    attempt = queued.attempt + 1
    model = chain.latest_model_arn
    prefix = ports.settings.job_name_prefix
    selection = select_objects(ports, chain, queued, rounds, attempt)
    # One baseline per round: a retry re-runs the round's own job, never a baseline that is live or completed
    # (it stays the round's baseline and its outcome is applied as usual); a failed or stopped one runs again.
    kept_baseline = queued.baseline if queued.baseline and queued.baseline.status in _KEPT_BASELINE else None
    history = [job for job in queued.all_jobs() if job is not kept_baseline]

    def name(role: names.Role) -> str:
        return names.job_name(prefix, chain.chain_id, chain.incarnation, queued.number, role, attempt)

    selected = {
        "attempt": attempt,
        "spec": spec,
        "history": history,
        "objects": selection.objects,
        "job_input_uri": selection.job_input_uri,
        "job_digests_uri": selection.job_digests_uri,
        "skipped_objects": selection.skipped,
        "skipped_uri": selection.skipped_uri,
        "skipped_from": selection.skipped_from,
        "job": None,
        "baseline": kept_baseline,
        "worst_case_usd": Decimal(0),
    }
    if selection.objects == 0:
        return queued.model_copy(update={**selected, "status": RoundStatus.COMPLETED})
    warnings = list(queued.warnings)
    # Said before the round starts (its record, status.json, Round Started, the report): auto-labeling cannot run
    # (under 1,250 objects, no algorithm) or the schedule's floor leaves too little to machines for it to pay.
    for warning in eligibility(spec, queued.number, selection.objects, with_model=model is not None):
        logger.warning(warning, extra={"chain_id": chain.chain_id})
        if warning not in warnings:
            warnings.append(warning)
    if selection.skipped:
        logger.info(
            "objects labeled elsewhere in the chain are skipped",
            extra={"chain_id": chain.chain_id, "round": queued.number, "skipped": selection.skipped},
        )
    # chain.json's baseline policy: true, false, or "once" (a baseline live or completed elsewhere in the chain
    # is the one: a failed or stopped one does not count, so the next round with a model measures again).
    baseline_before = any(
        r.number != queued.number and r.baseline is not None and r.baseline.status in _KEPT_BASELINE for r in rounds
    )
    new_baseline = kept_baseline is None and runs_baseline(
        spec.baseline, auto_labeling=spec.auto_labeling, with_model=model is not None, baseline_before=baseline_before
    )
    baseline = JobRecord(name=name("baseline"), role="baseline") if new_baseline else kept_baseline
    return queued.model_copy(
        update={
            **selected,
            "status": RoundStatus.STARTING,
            "warnings": warnings,
            "job": JobRecord(name=name("round"), initial_model_arn=model),
            "baseline": baseline,
            # What this claim commits: a kept baseline is already counted as spent or live.
            "worst_case_usd": round_worst_case_usd(spec, selection.objects, new_baseline),
        }
    )


def pause(ports: Ports, chain: ChainRecord, reason: str) -> None:
    if ports.store.set_state(chain.chain_id, ChainState.PAUSED, reason, only_from=ChainState.ACTIVE):
        logger.warning("chain paused", extra={"chain_id": chain.chain_id, "reason": reason})
    announce_state(ports, chain.chain_id)


def announce_state(ports: Ports, chain_id: str) -> None:
    """Say a pause or stop that was written and not said yet (Chain Paused, the notification), then record it said:
    an announcement that failed is made by the next invocation that settles the chain (a retry, the reconciler)."""
    chain = ports.store.get_chain(chain_id)
    if chain is None or not chain.unannounced or chain.state == ChainState.ACTIVE:
        return
    reason = chain.pause_reason or f"chain {chain.state.value}"
    ports.publisher.notify(f"gtchain: chain {chain_id} {chain.state.value}", reason)
    ports.publisher.publish(events.CHAIN_PAUSED, {"chainId": chain_id, "state": chain.state.value, "reason": reason})
    ports.publisher.flush()  # said before it is recorded as said (at least once: a failure after this says it again)
    ports.store.mark_state_announced(chain_id)


def write_task_config(ports: Ports, chain_id: str, spec: ChainSpec, written: list[str] | None = None) -> list[str]:
    """The worker template and label categories of `spec`, under content-addressed keys (idempotent). They are
    written when a chain.json is applied and the chain's record keeps their URIs (`written`): a launch of a
    round with the chain's spec writes nothing."""
    bucket = ports.settings.data_bucket
    config = [
        (names.config_key(chain_id, kind, content_digest(body), suffix), body, content_type)
        for kind, body, suffix, content_type in (
            ("worker-template", render_worker_template(spec), ".liquid.html", "text/html"),
            ("label-categories", render_label_categories(spec), ".json", "application/json"),
        )
    ]
    uris = [names.s3_uri(bucket, key) for key, _, _ in config]
    if uris != written:
        for key, body, content_type in config:
            ports.objects.put_if_absent(bucket, key, body.encode(), content_type)
    return uris


def launch(ports: Ports, chain: ChainRecord, record: RoundRecord) -> None:
    """Create the round's jobs that are still 'starting'. Safe to repeat: names are deterministic.
    A stopped chain creates nothing: its claimed jobs are stopped instead."""
    if chain.state == ChainState.STOPPED:
        stop_jobs(ports, record, "the chain was stopped")
        return
    settings = ports.settings
    spec = record.spec_snapshot()
    ui_uri, labels_uri = write_task_config(ports, chain.chain_id, spec, chain.task_config)
    created: list[CreatedJob] = []
    for role, job in record.jobs_by_role():
        if job.status != RoundStatus.STARTING:
            continue
        if isinstance(job, AuditJob):
            from gtchain.service.audit import audit_request  # audits build on this module

            request = audit_request(ports, chain, record, job, ui_uri, labels_uri)
        else:
            request = build_request(
                name=job.name,
                spec=spec,
                region=settings.region,
                role_arn=settings.labeling_role_arn,
                input_uri=record.job_input_uri or record.input_uri,
                output_uri=names.s3_uri(settings.data_bucket, names.job_output_prefix(chain.chain_id)),
                ui_template_uri=ui_uri,
                label_config_uri=labels_uri,
                initial_model_arn=job.initial_model_arn,
                tags=job_tags(chain.chain_id, chain.incarnation, record.number, role),
            )
        try:
            arn = ports.labeling.create_job(request)
        except JobAlreadyExistsError:
            arn = _existing_job_arn(ports, chain, record, role, job.name)
        except JobRejectedError as exc:
            _reject_job(ports, record, role, job, str(exc))
            continue
        created.append(CreatedJob(role, job.name, arn))
    # One write for the jobs created; if one of them is no longer starting, each on its own.
    if created and ports.store.mark_all_running(chain.chain_id, record.number, created):
        _announce_started(ports, record, created)
        return
    for made in created if len(created) > 1 else ():
        if ports.store.mark_all_running(chain.chain_id, record.number, [made]):
            _announce_started(ports, record, [made])
    for made in created:
        current = ports.store.get_round(chain.chain_id, record.number)
        recorded = current.job_for(made.role) if current else None
        if recorded is None or recorded.name != made.name or recorded.status not in LIVE:
            # The chain was stopped while this job was being created, and the job recorded as never started.
            logger.warning("stopping a job created after its round ended", extra={"job": made.name})
            ports.labeling.stop_job(made.name)


def _announce_started(ports: Ports, record: RoundRecord, created: list[CreatedJob]) -> None:
    for job in created:
        claimed = record.job_for(job.role)
        if claimed is not None:
            running = claimed.model_copy(update={"arn": job.arn, "status": RoundStatus.RUNNING})
            ports.publisher.publish(events.ROUND_STARTED, round_event_detail(record, job.role, running))


def stop_jobs(ports: Ports, record: RoundRecord, reason: str) -> None:
    """StopLabelingJob on the round's live jobs; a claimed job never created is recorded as stopped."""
    for role, job in record.jobs_by_role():
        if job.status not in LIVE:
            continue
        if ports.labeling.describe_job(job.name) is not None:
            ports.labeling.stop_job(job.name)  # its Stopped event (or the reconciler) records the outcome
            logger.info("labeling job stopped", extra={"job": job.name, "reason": reason})
            continue
        never_started = job.model_copy(
            update={"status": RoundStatus.STOPPED, "failure_reason": f"{reason} before the job was created",
                    "finished_at": utc_now(), "known_cost_usd": Decimal(0), "cost_usd": Decimal(0)}
        )  # fmt: skip
        _record_outcome(ports, record, role, never_started)


class JobNameTakenError(Exception):
    """A job of this name exists but is not this chain's: retrying cannot help, an operator must look."""


def _existing_job_arn(ports: Ports, chain: ChainRecord, record: RoundRecord, role: names.Role, name: str) -> str:
    """ResourceInUse for a job carrying this chain's tags means an earlier attempt created it."""
    existing = ports.labeling.describe_job(name)
    expected = tag_dict(job_tags(chain.chain_id, chain.incarnation, record.number, role))
    if existing is None or existing.arn is None or any(existing.tags.get(k) != v for k, v in expected.items()):
        raise JobNameTakenError(f"labeling job name {name} is taken by a job that is not this chain's")
    return existing.arn


def _reject_job(ports: Ports, record: RoundRecord, role: names.Role, job: JobRecord, reason: str) -> None:
    failed = job.model_copy(
        update={"status": RoundStatus.FAILED, "failure_reason": reason, "finished_at": utc_now(),
                "known_cost_usd": Decimal(0), "cost_usd": Decimal(0)}
    )  # fmt: skip
    _record_outcome(ports, record, role, failed)


def apply_outcome(ports: Ports, record: RoundRecord, role: names.Role, described: LabelingJob) -> bool:
    """Record a finished job (from DescribeLabelingJob) and move the chain on. True if this call did it."""
    job = record.job_for(role)
    status = TERMINAL_JOB_STATUSES.get(described.status)
    if job is None or status is None or job.status not in LIVE:
        return False
    counters = described.counters
    cost = pricing_for(record.spec_snapshot()).cost(counters.human_labeled, counters.machine_labeled)
    finished = job.model_copy(
        update={
            "status": status,
            "arn": described.arn or job.arn,
            "counters": counters,
            "cost_usd": cost.total_usd,
            "known_cost_usd": cost.known_usd,
            "final_model_arn": described.final_model_arn,
            "output_uri": described.output_manifest_uri,
            "failure_reason": described.failure_reason,
            "finished_at": utc_now(),
        }
    )
    return _record_outcome(ports, record, role, finished)


def record_progress(ports: Ports, record: RoundRecord, role: names.Role, described: LabelingJob) -> bool:
    """Keep a running job's last known LabelCounters (from DescribeLabelingJob) when they moved."""
    job = record.job_for(role)
    if job is None or job.status != RoundStatus.RUNNING or job.counters == described.counters:
        return False
    return ports.store.record_progress(record.chain_id, record.number, role, job.name, described.counters)


def _record_outcome(ports: Ports, record: RoundRecord, role: names.Role, finished: JobRecord) -> bool:
    store, publisher = ports.store, ports.publisher
    chain_id = record.chain_id
    if isinstance(finished, AuditJob):
        from gtchain.service.audit import record_audit_outcome  # audits build on this module

        return record_audit_outcome(ports, record, finished)
    if role == "baseline":
        if not store.finish_job(chain_id, record.number, role, finished):
            return False
        if finished.status == RoundStatus.COMPLETED:
            publisher.publish(events.ROUND_COMPLETED, round_event_detail(record, role, finished))
        else:
            publisher.publish(events.ROUND_FAILED, round_event_detail(record, role, finished))
            publisher.notify(
                f"gtchain: baseline of round {record.number} {finished.status}",
                f"Baseline job {finished.name} of chain {chain_id} ended {finished.status}: "
                f"{finished.failure_reason or 'no reason given'}. The chain goes on; only the comparison is lost.",
            )
        return True

    if finished.status == RoundStatus.COMPLETED:
        chain = store.get_chain(chain_id)
        carried = finished.final_model_arn
        if carried is None:
            fallback = chain.latest_model_arn if chain else None
            finished = finished.model_copy(
                update={"note": f"the job trained no model; the chain carries {fallback or 'no model'} forward"}
            )
        if not store.finish_job(chain_id, record.number, role, finished, latest_model_arn=carried):
            return False
        publisher.publish(events.ROUND_COMPLETED, round_event_detail(record, role, finished))
        kick(ports, chain_id)
        return True

    reason = (
        f"round {record.number} job {finished.name} {finished.status}: {finished.failure_reason or 'no reason given'}"
    )
    if not store.finish_job(chain_id, record.number, role, finished):
        return False
    publisher.publish(events.ROUND_FAILED, round_event_detail(record, role, finished, reason))
    chain = store.get_chain(chain_id)
    if chain is not None:
        pause(ports, chain, reason)
    return True


def round_event_detail(
    record: RoundRecord, role: names.Role, job: JobRecord, reason: str | None = None
) -> dict[str, Any]:
    detail = events.RoundEventDetail(
        chain_id=record.chain_id, round=record.number, role=role, job_name=job.name, job_arn=job.arn,
        status=job.status.value, objects=job.objects if isinstance(job, AuditJob) else record.objects,
        skipped_objects=record.skipped_objects,
        manifest=record.manifest_name, initial_model_arn=job.initial_model_arn,
    )  # fmt: skip
    if job.counters is not None:
        detail.label_counters = job.counters.model_dump()
        detail.final_model_arn = job.final_model_arn
        detail.cost_usd = None if job.cost_usd is None else str(to_cents(job.cost_usd))
    if job.note:
        detail.note = job.note
    if record.warnings and job.status in LIVE and not isinstance(job, AuditJob):  # said when a round's job starts
        detail.warnings = list(record.warnings)
    if reason or job.failure_reason:
        detail.reason = reason or job.failure_reason
    return detail.to_detail()
