"""watch: each transition as it happens and the running jobs' progress, until the chain has nothing left to do
(idle, every manifest's results written), or is paused or stopped."""

from contextlib import nullcontext
from typing import TYPE_CHECKING, Any

from rich.console import Console, Group
from rich.live import Live
from rich.text import Text

from gtchain.domain import names
from gtchain_cli import views
from gtchain_cli.bucket import DataBucket, check_chain_id, no_such_chain
from gtchain_cli.control import CLOCK, Clock
from gtchain_cli.errors import CliError, Exit
from gtchain_cli.jobs import describe

if TYPE_CHECKING:
    from mypy_boto3_sagemaker import SageMakerClient


def _key(transition: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(transition.get(k) for k in ("at", "event", "round", "role", "job", "state", "detail"))


def finished(status: dict[str, Any]) -> Exit | None:
    """The exit code when there is nothing left to watch, else None."""
    state = status.get("state")
    if state in ("paused", "stopped"):
        return Exit.HALTED
    if state == "idle" and all(m.get("status") == "completed" for m in status.get("manifests", [])):
        return Exit.OK
    spec = names.spec_key(str(status.get("chainId")))
    if state == "waiting" and any(r.get("key") == spec for r in status.get("rejected", [])):
        return Exit.INVALID
    return None


def watch(
    bucket: DataBucket, sagemaker: "SageMakerClient", chain_id: str, console: Console, *, interval: float,
    timeout: float | None, clock: Clock = CLOCK,
) -> Exit:  # fmt: skip
    check_chain_id(chain_id)
    deadline = None if timeout is None else clock.now() + timeout
    seen: set[tuple[Any, ...]] = set()
    last_lines: dict[str, str] = {}
    live = Live(console=console, refresh_per_second=4, transient=True) if console.is_terminal else None
    with live or nullcontext():
        while True:
            status = bucket.status(chain_id)
            if status is None and not bucket.has_anything(chain_id):
                raise no_such_chain(chain_id, bucket)
            if status is not None:
                for transition in reversed(status.get("transitions", [])):  # oldest first
                    if _key(transition) not in seen:
                        seen.add(_key(transition))
                        console.print(Text(views.transition_line(transition)))
                jobs = describe(sagemaker, status)
                if live is not None:
                    live.update(Group(views.jobs_table(jobs, bars=True)) if jobs else Text(""))
                else:
                    for job in jobs:
                        line = views.job_line(job)
                        if last_lines.get(job.name) != line:
                            last_lines[job.name] = line
                            console.print(Text(line))
                if (code := finished(status)) is not None:
                    if live is not None:
                        live.update(Text(""))
                    reason = f": {status['reason']}" if status.get("reason") else ""
                    console.print(Text(f"chain {chain_id} is {status.get('state')}{reason}",
                                       style=views.STATE_STYLES.get(str(status.get("state")), "")))  # fmt: skip
                    return code
            if deadline is not None and clock.now() >= deadline:
                raise CliError(f"chain {chain_id} is still {status.get('state') if status else 'starting'} after "
                               f"{timeout:g} s (--timeout)", Exit.TIMEOUT)  # fmt: skip
            clock.sleep(interval)
