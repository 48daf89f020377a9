"""Reconcile: on a schedule, do for every chain what a lost event would have done."""

from dataclasses import dataclass, field

from gtchain.logic.chain import LIVE, apply_outcome, kick, launch
from gtchain.logic.ports import Ports
from gtchain.models.records import TERMINAL_JOB_STATUSES, RoundStatus
from gtchain.observability import logger


@dataclass
class Repairs:
    chains: int = 0
    outcomes_applied: list[str] = field(default_factory=list)
    launched: list[str] = field(default_factory=list)


def reconcile_all(ports: Ports) -> Repairs:
    repairs = Repairs()
    for chain in ports.store.iter_chains():
        repairs.chains += 1
        reconcile_chain(ports, chain.chain_id, repairs)
    return repairs


def reconcile_chain(ports: Ports, chain_id: str, repairs: Repairs) -> None:
    store = ports.store
    for record in store.list_rounds(chain_id):
        for role, job in (("round", record.job), ("baseline", record.baseline)):
            if job is None or job.status not in LIVE:
                continue
            description = ports.labeling.describe_job(job.name)
            if description is None or job.status == RoundStatus.STARTING:
                chain = store.get_chain(chain_id)
                if chain is not None:
                    launch(ports, chain, record)  # the claim was made but the job not (yet) created
                    repairs.launched.append(job.name)
                continue
            if description["LabelingJobStatus"] in TERMINAL_JOB_STATUSES and apply_outcome(
                ports, record, role, description
            ):
                logger.warning("reconciler applied a missed outcome", extra={"job": job.name})
                repairs.outcomes_applied.append(job.name)
            record = store.get_round(chain_id, record.number) or record
    launched = kick(ports, chain_id)
    if launched is not None:
        repairs.launched.append(f"{chain_id} round {launched}")
