"""Run one measured thing in a fresh interpreter, so its peak RSS is its own and nothing is warm."""

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "bench" / "work"  # scratch: fixtures, downloads, child logs (gitignored)
PYTHON = ROOT / ".venv" / "bin" / "python"


@dataclass(frozen=True)
class Child:
    result: dict[str, Any]  # what the child measured itself (its timings, counts)
    wall_s: float  # the child's whole life, interpreter start included
    peak_rss_mb: float  # the child's own peak resident set (ru_maxrss from wait4), not its children's


class ChildFailedError(RuntimeError):
    pass


def run_command(argv: list[str], *, env: Mapping[str, str] | None = None, log_name: str) -> tuple[float, float]:
    """Run argv from the repository root, output to bench/work/<log_name>.log; returns (wall s, peak RSS MB)."""
    WORK.mkdir(parents=True, exist_ok=True)
    log = WORK / f"{log_name}.log"
    with log.open("w") as output:
        started = time.perf_counter()
        process = subprocess.Popen(  # noqa: S603 (our own interpreter and modules)
            argv, cwd=ROOT, env=dict(env) if env is not None else None, stdout=output, stderr=subprocess.STDOUT
        )
        # wait4 reports this child's own rusage; RUSAGE_CHILDREN would be the maximum over all children.
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise ChildFailedError(f"{' '.join(argv[1:])} exited {process.returncode}; see {log}")
    return wall, usage.ru_maxrss / 1024


def run_child(module: str, *args: str, env: Mapping[str, str] | None = None, log_name: str | None = None) -> Child:
    """`python -m <module> <result-file> <args...>`; the child writes its result with `child_main`."""
    WORK.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=WORK, suffix=".json", delete=False) as handle:
        result_path = Path(handle.name)
    try:
        argv = [str(PYTHON), "-m", module, str(result_path), *args]
        wall, peak = run_command(argv, env=env, log_name=log_name or module.rsplit(".", 1)[-1])
        return Child(json.loads(result_path.read_text()), wall, peak)
    finally:
        result_path.unlink(missing_ok=True)


def child_main(measure: Callable[[list[str]], dict[str, Any]]) -> None:
    """The child's side: run `measure(args)` and write what it returns where the parent reads it."""
    result_path, *args = sys.argv[1:]
    Path(result_path).write_text(json.dumps(measure(args)))


def peak_rss_mb() -> float:
    """This process's peak resident set so far (VmHWM), for a child reporting its own baseline."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")
