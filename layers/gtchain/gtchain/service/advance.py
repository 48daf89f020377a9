"""Advance: a labeling job changed state. The event names the job only by ARN; DescribeLabelingJob says
the rest (the event's status may be stale when events are duplicated or arrive late)."""

from gtchain.domain import names
from gtchain.domain.labeling_request import TAG_CHAIN, TAG_ROLE, TAG_ROUND, tags_of
from gtchain.domain.records import TERMINAL_JOB_STATUSES, RoundStatus
from gtchain.observability import logger
from gtchain.service.chain import apply_outcome, launch, record_progress
from gtchain.service.ports import Ports
from gtchain.service.settle import settle
from gtchain.service.start import Outcome


def handle_job_state_change(ports: Ports, job_arn: str) -> Outcome:
    name = names.job_name_from_arn(job_arn)
    description = ports.labeling.describe_job(name)
    if description is None:
        logger.info("ignored: unknown labeling job", extra={"job": name})
        return Outcome("ignored", "unknown job")
    tags = tags_of(description)
    if TAG_CHAIN not in tags or tags.get(TAG_ROLE) not in ("round", "baseline") or TAG_ROUND not in tags:
        logger.info("ignored: not a gtchain job", extra={"job": name})
        return Outcome("ignored", "not a gtchain job")
    chain_id, number, role = tags[TAG_CHAIN], int(tags[TAG_ROUND]), tags[TAG_ROLE]
    record = ports.store.get_round(chain_id, number)
    job = record.job_for(role) if record else None
    if record is None or job is None or job.name != description["LabelingJobName"]:
        logger.info("ignored: not the chain's current job", extra={"job": name, "chain_id": chain_id})
        return Outcome("ignored", "stale job")
    status = description["LabelingJobStatus"]
    if status not in TERMINAL_JOB_STATUSES:
        if job.status == RoundStatus.STARTING:
            chain = ports.store.get_chain(chain_id)
            if chain is not None:
                launch(ports, chain, record)  # the job exists: this records it as running
        else:
            record_progress(ports, record, role, description)
        outcome = Outcome("in-progress", status)
    elif apply_outcome(ports, record, role, description):
        outcome = Outcome("applied", f"{chain_id} round {number} {role} {status}")
    else:
        outcome = Outcome("duplicate", f"{chain_id} round {number} {role} {status} already recorded")
    # Also on a duplicate: an earlier delivery may have ended before the results or the status were written.
    settle(ports, chain_id)
    return outcome
