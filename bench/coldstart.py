"""Cold start: importing each handler module in a fresh interpreter, next to `import boto3` alone.

The interpreter sees what Lambda's would: the built function directory, then the built layer, on the path
with site-packages off (`python -S`), in Lambda's environment (AWS_LAMBDA_FUNCTION_NAME, LAMBDA_TASK_ROOT,
Powertools tracing on; LAMBDA_TASK_ROOT is what keeps the X-Ray SDK off its daemon sampler, as in Lambda).
The package is measured as `make build` ships it: with its .pyc files (Lambda's /var/task and /opt are
read-only, so a package without them compiles every module from source at every cold start). Without a
build that matches the source, the development environment is measured instead, and the row says so.
"""

import os
import statistics
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from bench import build
from bench.proc import PYTHON, ROOT
from bench.report import Row

FUNCTIONS = {"start": "StartFunction", "advance": "AdvanceFunction", "reconcile": "ReconcileFunction",
             "report": "ReportFunction"}  # fmt: skip
TARGETED = ("start", "advance", "reconcile")
RUNS = 10
MAX_RATIO = 2.0
LAYER = "GtchainLayer"
_TIMED_IMPORT = "import time\nt = time.perf_counter()\nimport {module}\nprint(time.perf_counter() - t)"


@dataclass(frozen=True)
class Variant:
    name: str
    argv: tuple[str, ...]
    paths: Mapping[str, tuple[Path, ...]]  # per function: PYTHONPATH, its own directory first (as /var/task)


def variants() -> tuple[list[Variant], str | None]:
    """The variants to measure, and why the build could not be used (None when it was)."""
    stale = build.state()
    if stale is not None:
        dev = {f: (ROOT / "functions" / f,) for f in FUNCTIONS}
        return [Variant("dev environment (.pyc)", (str(PYTHON),), dev)], stale
    shipped = {f: (build.BUILD / d, build.BUILD / LAYER / "python") for f, d in FUNCTIONS.items()}
    # -S: no site-packages, so only what the packages ship can be imported, as in Lambda.
    return [Variant("as shipped by make build", (str(PYTHON), "-S"), shipped)], None


def lambda_environment(function: str, path: tuple[Path, ...]) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": os.pathsep.join(str(p) for p in path),
        "PYTHONDONTWRITEBYTECODE": "1",  # Lambda's package directories are read-only
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


def time_import(variant: Variant, function: str, module: str) -> float:
    path = variant.paths[function]
    completed = subprocess.run(  # noqa: S603 (our own interpreter)
        [*variant.argv, "-c", _TIMED_IMPORT.format(module=module)],
        env=lambda_environment(function, path), cwd=path[0], capture_output=True, text=True, check=True,
    )  # fmt: skip
    return float(completed.stdout.strip()) * 1000


def _measure_variant(variant: Variant, note: str, headline: bool) -> list[Row]:
    """The headline variant (what Lambda runs) is held to the target; the other is context."""
    samples: dict[str, list[float]] = {"boto3": [], **{f: [] for f in FUNCTIONS}}
    time_import(variant, "start", "app")  # the files into the page cache: a first read from disk is not the point
    for _ in range(RUNS):  # interleaved, so drift on this shared machine hits every target alike
        samples["boto3"].append(time_import(variant, "start", "boto3"))
        for function in FUNCTIONS:
            samples[function].append(time_import(variant, function, "app"))
    medians = {name: statistics.median(values) for name, values in samples.items()}
    boto3 = medians["boto3"]
    rows = [Row("cold start", f"{variant.name}: `import boto3` (median of {RUNS}){note}", f"{boto3:.0f} ms",
                data={"variant": variant.name, "median_ms": boto3, "samples_ms": samples["boto3"]})]  # fmt: skip
    for function in FUNCTIONS:
        ratio = medians[function] / boto3
        targeted = headline and function in TARGETED
        rows.append(Row(
            "cold start", f"{variant.name}: import {function} handler / `import boto3`",
            f"{ratio:.2f}x ({medians[function]:.0f} ms)", f"<= {MAX_RATIO:.0f}x" if targeted else "",
            (ratio <= MAX_RATIO) if targeted else None,
            {"variant": variant.name, "ratio": ratio, "median_ms": medians[function], "samples_ms": samples[function]},
        ))  # fmt: skip
    return rows


def measure() -> list[Row]:
    chosen, stale = variants()
    note = f" (not the build: {stale})" if stale else ""
    return [row for i, variant in enumerate(chosen) for row in _measure_variant(variant, note, headline=i == 0)]
