"""Cold start: importing each handler module in a fresh interpreter, next to `import boto3` alone.

The interpreter sees what Lambda's would: the built function directory, then the built layer, on the path
with site-packages off (`python -S`), in Lambda's environment (AWS_LAMBDA_FUNCTION_NAME, LAMBDA_TASK_ROOT,
Powertools tracing on; LAMBDA_TASK_ROOT is what keeps the X-Ray SDK off its daemon sampler, as in Lambda).
The package is measured as `make build` ships it: with its .pyc files (Lambda's /var/task and /opt are
read-only, so a package without them compiles every module from source at every cold start). Without a
build that matches the source, the development environment is measured instead, and the row says so.

Each handler also gets a row naming where its import goes beyond `import boto3`: the modules costliest by
`python -X importtime`, each counting only the modules under it that `import boto3` does not load itself
(importtime's own overhead inflates these times: they rank modules, the timed imports above are the measure).
"""

import os
import re
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
MAX_RATIO = 1.5
PROFILE_RUNS = 3  # -X importtime runs per import, for the median of each module's time
TOP_MODULES = 10
LAYER = "GtchainLayer"
_TIMED_IMPORT = "import time\nt = time.perf_counter()\nimport {module}\nprint(time.perf_counter() - t)"
# -X importtime's lines: "import time: <self us> | <cumulative us> | <two spaces per level><module>"
_IMPORTTIME = re.compile(r"import time:\s+(\d+) \|\s+\d+ \|( +)(\S+)")


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
            f"{ratio:.2f}x ({medians[function]:.0f} ms)", f"<= {MAX_RATIO:g}x" if targeted else "",
            (ratio <= MAX_RATIO) if targeted else None,
            {"variant": variant.name, "ratio": ratio, "median_ms": medians[function], "samples_ms": samples[function]},
        ))  # fmt: skip
    return rows


def import_profile(variant: Variant, function: str, module: str) -> list[tuple[str, int, float]]:
    """One `-X importtime` run: (module, depth, its own time in ms), children before their parent."""
    path = variant.paths[function]
    completed = subprocess.run(  # noqa: S603 (our own interpreter)
        [*variant.argv, "-X", "importtime", "-c", f"import {module}"],
        env=lambda_environment(function, path), cwd=path[0], capture_output=True, text=True, check=True,
    )  # fmt: skip
    matches = (_IMPORTTIME.match(line) for line in completed.stderr.splitlines())
    return [(m[3], len(m[2]) // 2, int(m[1]) / 1000) for m in matches if m]


def beyond(profile: list[tuple[str, int, float]], known: set[str]) -> dict[str, tuple[float, float]]:
    """Per module: the time of the modules under it (itself included) that are not in `known`, and the largest
    such time of one module directly under it."""
    totals: dict[str, tuple[float, float]] = {}
    children: dict[int, list[float]] = {}  # per depth, the totals of the rows since their parent's
    for module, depth, own in profile:
        under = children.pop(depth + 1, [])
        total = sum(under) + (0.0 if module in known else own)
        children.setdefault(depth, []).append(total)
        totals[module] = (total, max(under, default=0.0))
    return totals


def costliest(totals: dict[str, tuple[float, float]]) -> list[tuple[str, float]]:
    """The modules with the largest totals, leaving out those that only pass an import on (one module under
    them holds 90% of their time), so that the list names where the time goes."""
    named = [(module, total) for module, (total, largest) in totals.items() if largest < 0.9 * total]
    return sorted(named, key=lambda item: -item[1])[:TOP_MODULES]


def _costliest_rows(variant: Variant) -> list[Row]:
    boto3 = {module for module, _, _ in import_profile(variant, "start", "boto3")}
    rows = []
    for function in FUNCTIONS:
        runs = [beyond(import_profile(variant, function, "app"), boto3) for _ in range(PROFILE_RUNS)]
        medians = {
            module: (
                statistics.median(run[module][0] for run in runs),
                statistics.median(run[module][1] for run in runs),
            )
            for module in runs[0]
        }
        total, _ = medians.pop("app")
        top = costliest(medians)
        rows.append(Row(
            "cold start",
            f"{variant.name}: import {function} handler, costliest modules beyond `import boto3`'s (`-X importtime` "
            f"ms, median of {PROFILE_RUNS}; each with the modules under it)",
            f"{total:.0f} ms in all: " + ", ".join(f"{module} {ms:.1f}" for module, ms in top),
            data={"variant": variant.name, "beyond_boto3_ms": total, "costliest_ms": dict(top)},
        ))  # fmt: skip
    return rows


def measure() -> list[Row]:
    chosen, stale = variants()
    note = f" (not the build: {stale})" if stale else ""
    rows = [row for i, variant in enumerate(chosen) for row in _measure_variant(variant, note, headline=i == 0)]
    return rows + _costliest_rows(chosen[0])
