"""Cold start: importing each handler module in a fresh interpreter, next to `import boto3` alone.

The interpreter sees what Lambda's would: the built function directory and the built layer on the path
(from `sam build`, with site-packages off), or, before a build, the development environment. The
environment is Lambda's: AWS_LAMBDA_FUNCTION_NAME and LAMBDA_TASK_ROOT set and Powertools tracing on, so
the X-Ray SDK loads as it does in Lambda (LAMBDA_TASK_ROOT is what makes it skip the daemon's sampler).
"""

import os
import statistics
import subprocess
from dataclasses import dataclass
from pathlib import Path

from bench.proc import PYTHON, ROOT
from bench.report import Row

FUNCTIONS = {"start": "StartFunction", "advance": "AdvanceFunction", "reconcile": "ReconcileFunction",
             "report": "ReportFunction"}  # fmt: skip
TARGETED = ("start", "advance", "reconcile")
RUNS = 10
MAX_RATIO = 2.0
BUILD = ROOT / ".aws-sam" / "build"
LAYER = BUILD / "GtchainLayer" / "python"
_TIMED_IMPORT = "import time\nt = time.perf_counter()\nimport {module}\nprint(time.perf_counter() - t)"


@dataclass(frozen=True)
class Interpreter:
    source: str  # "sam build" or "dev environment"
    argv: tuple[str, ...]
    path: tuple[Path, ...]  # PYTHONPATH for a function (the function's own directory first, as /var/task)


def interpreter(function: str) -> Interpreter:
    built = BUILD / FUNCTIONS[function]
    if (built / "app.py").is_file() and LAYER.is_dir():
        # -S: no site-packages, so only what the package ships can be imported, as in Lambda.
        return Interpreter("sam build", (str(PYTHON), "-S"), (built, LAYER))
    return Interpreter("dev environment", (str(PYTHON),), (ROOT / "functions" / function,))


def lambda_environment(function: str, path: tuple[Path, ...]) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": os.pathsep.join(str(p) for p in path),
        "PYTHONDONTWRITEBYTECODE": "1",  # the build's own .pyc files only; none written mid-measurement
        "LAMBDA_TASK_ROOT": str(path[0]),
        "AWS_LAMBDA_FUNCTION_NAME": f"gtchain-{function}",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
        "_HANDLER": "app.lambda_handler",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_SERVICE_NAME": "gtchain",
        "POWERTOOLS_METRICS_NAMESPACE": "gtchain",
        "LOG_LEVEL": "INFO",
    }


def time_import(function: str, module: str) -> float:
    chosen = interpreter(function)
    completed = subprocess.run(  # noqa: S603 (our own interpreter)
        [*chosen.argv, "-c", _TIMED_IMPORT.format(module=module)],
        env=lambda_environment(function, chosen.path), cwd=chosen.path[0], capture_output=True, text=True,
        check=True,
    )  # fmt: skip
    return float(completed.stdout.strip()) * 1000


def measure() -> list[Row]:
    """Median of RUNS fresh interpreters each; the runs are interleaved so drift hits every target alike."""
    samples: dict[str, list[float]] = {"boto3": [], **{f: [] for f in FUNCTIONS}}
    # Warm the file cache once (the first read of a package from disk is not what a Lambda cold start pays).
    time_import("start", "app")
    for _ in range(RUNS):
        samples["boto3"].append(time_import("start", "boto3"))
        for function in FUNCTIONS:
            samples[function].append(time_import(function, "app"))
    medians = {name: statistics.median(values) for name, values in samples.items()}
    boto3 = medians["boto3"]
    source = interpreter("start").source
    rows = [Row("cold start", f"`import boto3` (median of {RUNS}, {source})", f"{boto3:.0f} ms",
                data={"median_ms": boto3, "samples_ms": samples["boto3"]})]  # fmt: skip
    for function in FUNCTIONS:
        ratio = medians[function] / boto3
        targeted = function in TARGETED
        rows.append(Row(
            "cold start", f"import {function} handler / `import boto3`", f"{ratio:.2f}x ({medians[function]:.0f} ms)",
            f"<= {MAX_RATIO:.0f}x" if targeted else "", (ratio <= MAX_RATIO) if targeted else None,
            {"ratio": ratio, "median_ms": medians[function], "samples_ms": samples[function],
             "source": interpreter(function).source},
        ))  # fmt: skip
    return rows
