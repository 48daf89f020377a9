"""Advance: a labeling job changed state. The event names the job only by ARN; DescribeLabelingJob says
the rest (the event's status may be stale when events are duplicated or arrive late)."""

from gtchain.domain import names
from gtchain.domain.records import RoundStatus
from gtchain.observability import logger
from gtchain.service.chain import apply_outcome, kick, launch, record_progress
from gtchain.service.outcome import Outcome
from gtchain.service.ports import Ports
from gtchain.service.settle import settle


def handle_job_state_change(ports: Ports, job_arn: str) -> Outcome:
    with ports.invocation():
        return _advance(ports, job_arn)


def _advance(ports: Ports, job_arn: str) -> Outcome:
    name = names.job_name_from_arn(job_arn)
    described = ports.labeling.describe_job(name)
    if described is None:
        logger.info("ignored: unknown labeling job", extra={"job": name})
        return Outcome("ignored", "unknown job")
    context = described.chain_context
    if context is None:
        logger.info("ignored: not a gtchain job", extra={"job": name})
        return Outcome("ignored", "not a gtchain job")
    chain_id, number, role = context.chain_id, context.round, context.role
    record = ports.store.get_round(chain_id, number)
    job = record.job_for(role) if record else None
    if record is None or job is None or job.name != described.name:
        logger.info("ignored: not the chain's current job", extra={"job": name, "chain_id": chain_id})
        return Outcome("ignored", "stale job")
    status = described.status
    if not described.terminal:
        if job.status == RoundStatus.STARTING:
            chain = ports.store.get_chain(chain_id)
            if chain is not None:
                launch(ports, chain, record)  # the job exists: this records it as running
        else:
            record_progress(ports, record, role, described)
        outcome = Outcome("in-progress", status)
    elif apply_outcome(ports, record, role, described):
        outcome = Outcome("applied", f"{chain_id} round {number} {role} {status}")
    else:
        outcome = Outcome("duplicate", f"{chain_id} round {number} {role} {status} already recorded")
        kick(ports, chain_id)  # an earlier delivery may have ended between the outcome and the next round's start
    # Also on a duplicate: an earlier delivery may have ended before the results or the status were written.
    settle(ports, chain_id)
    return outcome
