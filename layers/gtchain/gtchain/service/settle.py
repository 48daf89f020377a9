"""After a handler's transitions: finish what they made ready (audit results, then results) and show where the chain
stands."""

from gtchain.service.audit import score_pending_audits
from gtchain.service.chain import announce_state
from gtchain.service.ports import Ports
from gtchain.service.results import ResultsOutcome, complete_ready_manifests
from gtchain.service.status import refresh_status


def settle(ports: Ports, chain_id: str) -> ResultsOutcome:
    """Results for manifests whose rounds all completed, then status.json: written when this invocation moved the
    chain, else only when it is behind the table (a handler that crashed between a transition and its status
    write). An audit whose output came after its job ended is scored first: the results of a manifest may wait
    for it."""
    announce_state(ports, chain_id)  # a pause whose announcement failed before
    waiting = score_pending_audits(ports, chain_id)
    outcome = complete_ready_manifests(ports, chain_id)
    outcome.waiting.extend(waiting)
    refresh_status(ports, chain_id, only_if_stale=not ports.store.moved(chain_id))
    return outcome
