"""Audits of machine labels (domain.audit), as the chain runs them.

- `start_due_audits` (from kick): a completed round with machine labels whose round's chain.json asked for an audit
  gets one: the sample is drawn from its job's output manifest (which Ground Truth writes minutes after Completed:
  until then the audit waits, and the reconciler's next kick tries again), claimed once per round, and launched
  like any job (service.chain.launch). Only while the chain is active.
- `record_audit_outcome` (from apply_outcome): the audit job ended. Completed: recorded, then scored as soon as its
  output manifest is readable (`score_audit`, also from settle for an audit whose output came late). Failed or
  stopped: notified; when the next round waits for it (minAccuracy), the chain pauses in the same write.
- `score_audit`: the result (domain.audit.score_lines), once. Below the bar (the 95% interval's lower bound under
  minAccuracy), the chain pauses in the same write. Then Audit Completed, Round Completed (role audit: the
  reporter writes the audit into the round's and the chain's reports), an SNS message, and a kick: the gate is open.

Every step is a conditional write, so duplicate, late and lost events (the reconciler repairs these as for rounds)
change nothing twice, and a round is never audited twice.
"""

import json
import tempfile
from decimal import Decimal
from typing import Any

from gtchain.domain import events, names
from gtchain.domain.audit import (
    VERDICTS,
    audit_attribute,
    audit_due,
    audit_kind,
    below_bar_reason,
    build_audit_request,
    draw,
    failed_audit_reason,
    machine_label,
    sample_line,
    sample_seed,
    score_lines,
)
from gtchain.domain.labeling_request import job_tags
from gtchain.domain.records import AuditJob, ChainRecord, RoundRecord, RoundStatus, utc_now
from gtchain.domain.spec import ChainState
from gtchain.domain.worker_ui import content_digest, render_verification_template
from gtchain.observability import logger
from gtchain.service.chain import announce_state, kick, launch, round_event_detail
from gtchain.service.job_output import OutputNotReadyError, output_manifest_location
from gtchain.service.ports import ContentionError, Ports

_END_ATTEMPTS = 5


# ---- starting ------------------------------------------------------------------------------------------------


def start_due_audits(ports: Ports, chain: ChainRecord, rounds: list[RoundRecord]) -> bool:
    """Draw, claim and launch the audit of every round whose audit is due. True when an audit was claimed (by this
    call or a concurrent one): the caller reads the rounds again."""
    changed = False
    for record in rounds:
        if not audit_due(record):
            continue
        try:
            audit = _draw(ports, chain, record)
        except OutputNotReadyError as exc:
            where = {"chain_id": chain.chain_id, "round": record.number, "reason": str(exc)}
            logger.info("the audit waits for the round's output", extra=where)
            continue
        changed = True
        if not ports.store.claim_audit(chain.chain_id, record.number, audit):
            continue  # another invocation claimed it
        logger.info("audit claimed", extra={"chain_id": chain.chain_id, "round": record.number, "job": audit.name,
                                            "objects": audit.objects})  # fmt: skip
        current = ports.store.get_round(chain.chain_id, record.number)
        if current is not None and audit.status == RoundStatus.STARTING:
            launch(ports, chain, current)
    return changed


def _draw(ports: Ports, chain: ChainRecord, record: RoundRecord) -> AuditJob:
    """The audit of the round: its sample drawn from the audited job's output manifest (read twice, streaming: the
    machine-labeled objects' digests and confidences, then the sampled lines) and written as the audit's input."""
    spec, job = record.spec_snapshot(), record.job
    assert job is not None and spec.audit is not None  # audit_due
    attribute = spec.label_attribute_name
    location = _output(ports, job.name, job.output_uri)
    labels = [found for obj in _objects(ports, location) if (found := machine_label(obj, attribute)) is not None]
    chosen = draw(labels, spec.audit.sample_size, sample_seed(job.name))
    wanted = {labels[i].digest for i in chosen}
    bucket = ports.settings.data_bucket
    key = names.round_audit_input_key(chain.chain_id, record.number, record.attempt)
    with tempfile.TemporaryFile() as sample:
        for obj in _objects(ports, location):
            label = machine_label(obj, attribute)
            if label is not None and label.digest in wanted:
                sample.write(json.dumps(sample_line(obj, attribute), ensure_ascii=False).encode() + b"\n")
        sample.seek(0)
        ports.objects.upload(bucket, key, sample, "application/x-ndjson")
    name = names.job_name(ports.settings.job_name_prefix, chain.chain_id, chain.incarnation, record.number, "audit",
                          record.attempt)  # fmt: skip
    audit = AuditJob(
        name=name, kind=audit_kind(spec.task), audited_job=job.name, label_attribute=audit_attribute(spec),
        objects=len(chosen), machine_labeled=len(labels), input_uri=names.s3_uri(bucket, key),
        min_accuracy=spec.audit.min_accuracy,
    )  # fmt: skip
    if chosen:
        return audit
    # LabelCounters said machine-labeled, the output manifest shows none: nothing to audit, nothing to wait for.
    return audit.model_copy(update={
        "status": RoundStatus.COMPLETED, "scored": True, "finished_at": utc_now(), "cost_usd": Decimal(0),
        "known_cost_usd": Decimal(0),
        "note": f"no machine-labeled line in {job.name}'s output manifest: nothing to audit",
    })  # fmt: skip


def _output(ports: Ports, job_name: str, uri: str | None) -> tuple[str, str]:
    """A job's output manifest (OutputNotReadyError until Ground Truth wrote it), its URI described if not recorded."""
    if uri is None and (described := ports.labeling.describe_job(job_name)) is not None:
        uri = described.output_manifest_uri
    return output_manifest_location(ports.objects, job_name, uri)


def _objects(ports: Ports, location: tuple[str, str]) -> Any:
    for line in ports.objects.iter_lines(*location):
        try:
            yield json.loads(line)
        except ValueError:
            continue


def audit_request(
    ports: Ports, chain: ChainRecord, record: RoundRecord, audit: AuditJob, ui_uri: str, labels_uri: str
) -> dict[str, Any]:
    """The audit's CreateLabelingJob request (service.chain.launch): a relabel uses the chain's worker template, a
    verification its own (content-addressed, beside it); both the chain's label categories."""
    spec = record.spec_snapshot()
    if audit.kind == "verification":
        body = render_verification_template(spec, VERDICTS)
        key = names.config_key(chain.chain_id, "verification-template", content_digest(body), ".liquid.html")
        ports.objects.put_if_absent(ports.settings.data_bucket, key, body.encode(), "text/html")
        ui_uri = names.s3_uri(ports.settings.data_bucket, key)
    settings = ports.settings
    return build_audit_request(
        audit=audit, spec=spec, region=settings.region, role_arn=settings.labeling_role_arn,
        output_uri=names.s3_uri(settings.data_bucket, names.job_output_prefix(chain.chain_id)),
        ui_template_uri=ui_uri, label_config_uri=labels_uri,
        tags=job_tags(chain.chain_id, chain.incarnation, record.number, "audit"),
    )  # fmt: skip


# ---- ending ------------------------------------------------------------------------------------------------------


def record_audit_outcome(ports: Ports, record: RoundRecord, finished: AuditJob) -> bool:
    """The audit job ended (apply_outcome, or a job never created). True if this call recorded it."""
    chain_id, number = record.chain_id, record.number
    if finished.status == RoundStatus.COMPLETED:
        if not ports.store.finish_job(chain_id, number, "audit", finished):
            return False
        try:
            score_audit(ports, chain_id, number)
        except OutputNotReadyError as exc:
            logger.info("the audit's result waits for its output", extra={"job": finished.name, "reason": str(exc)})
        return True
    gated = finished.min_accuracy is not None
    reason = failed_audit_reason(number, finished) if gated else None
    applied, paused = _end(ports, record, finished, (RoundStatus.STARTING.value, RoundStatus.RUNNING.value), reason)
    if not applied:
        return False
    failure = f"{finished.failure_reason or 'no reason given'}"
    ports.publisher.publish(events.ROUND_FAILED, round_event_detail(record, "audit", finished, failure))
    consequence = (
        "The next round waited for it (minAccuracy): the chain is paused; resume to go on without it."
        if paused else "The chain goes on; only this round's measured accuracy is lost."
    )  # fmt: skip
    ports.publisher.notify(
        f"gtchain: audit of round {number} {finished.status}",
        f"Audit job {finished.name} of chain {chain_id} (the machine labels of {finished.audited_job}) ended "
        f"{finished.status}: {failure}. {consequence}",
    )
    if paused and reason is not None:
        logger.warning("chain paused", extra={"chain_id": chain_id, "reason": reason})
        announce_state(ports, chain_id)
    return True


def score_audit(ports: Ports, chain_id: str, number: int) -> bool:
    """Score a completed audit from its output manifest, once (OutputNotReadyError until Ground Truth wrote it).
    True if this call recorded the result."""
    record = ports.store.get_round(chain_id, number)
    audit = record.audit if record is not None else None
    if record is None or audit is None or audit.status != RoundStatus.COMPLETED or audit.scored:
        return False
    location = _output(ports, audit.name, audit.output_uri)
    spec = record.spec_snapshot()
    result = score_lines(ports.objects.iter_lines(*location), spec.label_attribute_name, audit)
    scored = audit.model_copy(update={"scored": True, "result": result})
    reason = below_bar_reason(number, scored, result) if result.below_bar else None
    applied, paused = _end(ports, record, scored, (RoundStatus.COMPLETED.value,), reason)
    if not applied:
        return False
    logger.info("audit scored", extra={"chain_id": chain_id, "round": number, "job": audit.name,
                                       "accuracy": str(result.accuracy), "below_bar": result.below_bar})  # fmt: skip
    ports.publisher.publish(events.AUDIT_COMPLETED, audit_completed_detail(record, scored))
    ports.publisher.publish(events.ROUND_COMPLETED, round_event_detail(record, "audit", scored))  # the reporter
    ports.publisher.notify(f"gtchain: audit of round {number}: {_share(result.accuracy)} accurate",
                           _audit_message(record, scored, paused))  # fmt: skip
    if paused and reason is not None:
        logger.warning("chain paused", extra={"chain_id": chain_id, "reason": reason})
        announce_state(ports, chain_id)
    kick(ports, chain_id)  # the next round may have waited for this audit
    return True


def score_pending_audits(ports: Ports, chain_id: str) -> list[str]:
    """Score every completed audit whose output came after its job ended (settle). Returns what still waits."""
    waiting = []
    for record in ports.store.list_rounds(chain_id):
        audit = record.audit
        if audit is None or audit.status != RoundStatus.COMPLETED or audit.scored:
            continue
        try:
            score_audit(ports, chain_id, record.number)
        except OutputNotReadyError as exc:
            waiting.append(f"audit of round {record.number}: {exc}")
    return waiting


def _end(
    ports: Ports, record: RoundRecord, audit: AuditJob, was: tuple[str, ...], reason: str | None
) -> tuple[bool, bool]:
    """End the audit (domain.transitions.end_audit), pausing the chain in the same write when `reason` is given and
    the chain is active. (applied, paused)."""
    store, chain_id, number = ports.store, record.chain_id, record.number
    for _ in range(_END_ATTEMPTS):
        chain = store.get_chain(chain_id)
        pause_reason = reason if chain is not None and chain.state == ChainState.ACTIVE else None
        if store.end_audit(chain_id, number, audit, was, pause_reason):
            return True, pause_reason is not None
        current = store.get_round(chain_id, number)
        now = current.audit if current is not None else None
        if now is None or now.name != audit.name or now.scored or now.status.value not in was:
            return False, False  # recorded already (a duplicate, or a concurrent invocation)
        # The audit is still open: the chain's state changed between the read and the write. Again.
    raise ContentionError(f"chain {chain_id}: round {number}'s audit kept losing its end to other writes")


# ---- what is said --------------------------------------------------------------------------------------------------


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _share(value: Any) -> str:
    return "n/a" if value is None else f"{100 * float(value):.1f}%"


def audit_completed_detail(record: RoundRecord, audit: AuditJob) -> dict[str, Any]:
    result = audit.result
    assert result is not None
    return events.AuditCompletedDetail(
        chain_id=record.chain_id, round=record.number, job_name=audit.name, audited_job=audit.audited_job,
        kind=audit.kind, sampled=audit.objects, machine_labeled=audit.machine_labeled, audited=result.audited,
        agreed=result.agreed, accuracy=_float(result.accuracy), lower=_float(result.lower),
        upper=_float(result.upper), min_accuracy=_float(audit.min_accuracy), below_bar=result.below_bar,
        classes=[events.AuditClassDetail(name=c.name, audited=c.audited, agreed=c.agreed, accuracy=float(c.accuracy),
                                         lower=float(c.lower), upper=float(c.upper)) for c in result.classes],
    ).to_detail()  # fmt: skip


def _audit_message(record: RoundRecord, audit: AuditJob, paused: bool) -> str:
    result = audit.result
    assert result is not None
    check = "judged good or bad by workers" if audit.kind == "verification" else "labeled again by workers, blind"
    lines = [
        f"Chain {record.chain_id}, round {record.number}: {audit.objects} of the {audit.machine_labeled} "
        f"machine-labeled objects of {audit.audited_job} were {check} (audit job {audit.name}).",
        f"{result.agreed} of {result.audited} held: {_share(result.accuracy)} accurate, 95% interval "
        f"{_share(result.lower)} to {_share(result.upper)}.",
        *(f"  {c.name}: {_share(c.accuracy)} of {c.audited} ({_share(c.lower)} to {_share(c.upper)})"
          for c in result.classes),
    ]  # fmt: skip
    if audit.min_accuracy is not None:
        verdict = "below" if result.below_bar else "clears"
        lines.append(f"The interval's lower bound {verdict} minAccuracy {audit.min_accuracy}"
                     + ("; the chain is paused." if paused else "."))  # fmt: skip
    return "\n".join(lines)
