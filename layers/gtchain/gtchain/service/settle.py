"""After a handler's transitions: finish what they made ready (results) and show where the chain stands."""

from gtchain.service.ports import Ports
from gtchain.service.results import ResultsOutcome, complete_ready_manifests
from gtchain.service.status import refresh_status


def settle(ports: Ports, chain_id: str, *, reconciling: bool = False) -> ResultsOutcome:
    """Results for manifests whose rounds all completed, then status.json. The reconciler rewrites the status
    only when it is behind the table (a handler that crashed between a transition and its status write)."""
    outcome = complete_ready_manifests(ports, chain_id)
    refresh_status(ports, chain_id, only_if_stale=reconciling)
    return outcome
