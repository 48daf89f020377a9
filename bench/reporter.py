"""Reporter throughput and memory: the report (JSON + PNG + HTML) of a job of 10,000 and 100,000 objects,
next to the floor (read and JSON-parse the bytes the report needs, nothing else) and the notebook's method
(download every file, glob and parse each whole, draw the figures with pyplot).

The job output is tests/fixtures/job_outputs.py's, in Ground Truth's documented layout, served by moto in
its own process (bench.server). Each method runs in a fresh interpreter (bench.proc): its timing covers the
work only (the modules the baselines import before their timing starts, boto3 and matplotlib, are imported
first by each method, and the RSS after them is reported apart); its peak RSS is the whole process's.
`python -m bench.reporter <result-file> report <job> | floor <bucket> <prefix> | notebook <job>` is one child.
"""

import json
import statistics
import time
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from bench.proc import ROOT, WORK, Child, child_main, peak_rss_mb, run_child
from bench.report import Row
from bench.server import Server, moto_server

if TYPE_CHECKING:
    from tests.fixtures.job_outputs import OutputPlan

SIZES = (10_000, 100_000)
RUNS = 3  # of each method, per size
CHAIN = "birds"
INCARNATION = "a1b2c3"
HUMAN_SHARE = 0.3  # of the objects; the rest are machine-labeled
MACHINE_ITERATIONS = 6  # iterations 4-9 auto-label; 1-3 are the probe, training and validation batches
OBJECTS_PER_FILE = 1000  # consolidation-response entries per file, about one batch of MaxConcurrentTaskCount
TARGET_PEAK_MB = 300
TARGET_FLOOR_RATIO = 2.0
CONSOLIDATION = "annotations/consolidated-annotation/consolidation-response/"
AUTO_ANNOTATOR_FILE = "auto_annotator_output.txt"


# ---- the job output, written inside the moto server's process (bench.server runs this) --------------


def output_plan(objects: int) -> "OutputPlan":
    from tests.fixtures.job_outputs import IterationPlan, OutputPlan

    human = int(objects * HUMAN_SHARE)
    probe, training, validation = 10, objects // 100, objects // 100
    later_human, later_machine = human - probe - training - validation, objects - human
    later = [
        IterationPlan(later_human // MACHINE_ITERATIONS + (i < later_human % MACHINE_ITERATIONS),
                      later_machine // MACHINE_ITERATIONS + (i < later_machine % MACHINE_ITERATIONS))
        for i in range(MACHINE_ITERATIONS)
    ]  # fmt: skip
    files = max(1, later[0].human // OBJECTS_PER_FILE)
    return OutputPlan((IterationPlan(probe), IterationPlan(training), IterationPlan(validation), *later),
                      files_per_iteration=files)  # fmt: skip


def setup(args: list[str]) -> dict[str, Any]:
    import boto3

    from gtchain.domain import names
    from gtchain.domain.labeling_request import job_tags
    from tests.fixtures.job_outputs import labeling_request, training_log_messages, write_job_output
    from tests.support import ACCOUNT, DATA_BUCKET, REGION, create_stack, finish_job

    objects = int(args[0])
    stack = create_stack()
    name = names.job_name("gtchain", CHAIN, INCARNATION, 1, "round", 1)
    tags = {t["Key"]: t["Value"] for t in job_tags(CHAIN, INCARNATION, 1, "round")}
    output_path = f"s3://{DATA_BUCKET}/{names.job_output_prefix(CHAIN)}/"
    boto3.client("sagemaker").create_labeling_job(**labeling_request(name, output_path, tags=tags))
    s3 = boto3.client("s3")
    sizes: list[int] = []

    def put(key: str, body: bytes) -> None:
        s3.put_object(Bucket=DATA_BUCKET, Key=key, Body=body)
        sizes.append(len(body))

    prefix = f"{names.job_output_prefix(CHAIN)}/{name}/"
    truth = write_job_output(put, prefix, output_plan(objects))
    logs = boto3.client("logs")
    logs.create_log_group(logGroupName="/aws/sagemaker/TrainingJobs")
    for number, (iteration, training_job) in enumerate(truth.training_jobs, 1):
        stream = f"{training_job}/algo-1-1764000000"
        logs.create_log_stream(logGroupName="/aws/sagemaker/TrainingJobs", logStreamName=stream)
        messages = training_log_messages(1000 * iteration, [0.1 * number + 0.02 * e for e in range(30)])
        now_ms = int(time.time() * 1000)
        events: list[Any] = [{"timestamp": now_ms + i, "message": m} for i, m in enumerate(messages)]
        logs.put_log_events(logGroupName="/aws/sagemaker/TrainingJobs", logStreamName=stream, logEvents=events)
    finish_job(name, counters=truth.counters, model=f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model/{name}")
    settings = {k: str(v) for k, v in stack.settings.model_dump(by_alias=True).items()}
    return {"job_name": name, "bucket": DATA_BUCKET, "prefix": prefix, "objects": objects, "files": len(sizes),
            "bytes": sum(sizes), "settings": settings}  # fmt: skip


# ---- the three measured methods, each in its own interpreter -----------------------------------------


@dataclass(frozen=True)
class _LambdaContext:
    function_name: str = "gtchain-report"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:gtchain-report"
    aws_request_id: str = "7b2e1c1e-0f0b-4d8e-9d2e-1a2b3c4d5e6f"


def _report(job_name: str) -> dict[str, Any]:
    """The report Lambda's handler on a Round Completed event, as EventBridge would invoke it. Only what the
    function imports is imported (not tests.support, which brings moto). boto3 (which the AWS adapters import when
    the ports are made) and matplotlib (imported when the figure is drawn) are imported first, as the floor and
    the notebook import theirs before their timing starts."""
    import boto3  # noqa: F401
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: F401
    from matplotlib.figure import Figure  # noqa: F401

    import gtchain.adapters.dynamo  # noqa: F401 (boto3.dynamodb, made with the ports)
    from functions.report import app

    event = json.loads((ROOT / "events" / "round-completed.json").read_text())
    event["detail"]["jobName"] = job_name
    imported = peak_rss_mb()
    started = time.perf_counter()
    outcome = app.lambda_handler(event, _LambdaContext())
    elapsed = time.perf_counter() - started
    if outcome.get("action") != "reported":
        raise RuntimeError(f"the report was not written: {outcome}")
    return {"seconds": elapsed, "rss_after_imports_mb": imported, "outputs": sorted(outcome)}


def _list(s3: Any, bucket: str, prefix: str) -> list[str]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return [item["Key"] for page in pages for item in page.get("Contents", [])]


def _floor(bucket: str, prefix: str) -> dict[str, Any]:
    """List the job's output, read every file the report reads and JSON-parse it; nothing else."""
    import boto3

    imported = peak_rss_mb()
    started = time.perf_counter()
    s3 = boto3.client("s3")  # inside the timing, as the report's and the notebook's clients are
    parsed = 0
    for key in _list(s3, bucket, prefix + CONSOLIDATION):
        if key.endswith(".json"):
            parsed += len(json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read()))
    for key in _list(s3, bucket, prefix + "activelearning/"):
        if key.endswith(AUTO_ANNOTATOR_FILE):
            for line in s3.get_object(Bucket=bucket, Key=key)["Body"].read().splitlines():
                json.loads(line.partition(b" ")[2])
                parsed += 1
    _list(s3, bucket, prefix + "training/")
    s3.head_object(Bucket=bucket, Key=prefix + "manifests/output/output.manifest")
    return {"seconds": time.perf_counter() - started, "rss_after_imports_mb": imported, "entries": parsed}


def _notebook(job_name: str) -> dict[str, Any]:
    from bench import notebook

    imported = peak_rss_mb()
    started = time.perf_counter()
    counts = notebook.report(job_name, WORK / "notebook")
    return {"seconds": time.perf_counter() - started, "rss_after_imports_mb": imported, **counts}


def _child(args: list[str]) -> dict[str, Any]:
    method, *rest = args
    if method == "report":
        return _report(rest[0])
    if method == "floor":
        return _floor(rest[0], rest[1])
    return _notebook(rest[0])


# ---- the parent: one server per size, the three methods against it ------------------------------------


def _run(server: Server, method: str, *args: str) -> Child:
    settings = server.info["settings"]
    # Lambda's environment (LAMBDA_TASK_ROOT keeps the X-Ray SDK off its daemon sampler), with tracing off: there
    # is no X-Ray daemon here. The notebook and the floor ignore these variables.
    env = server.client_environment(
        **settings, PYTHONPATH=str(ROOT), LAMBDA_TASK_ROOT=str(ROOT / "functions" / "report"),
        AWS_LAMBDA_FUNCTION_NAME="gtchain-report", POWERTOOLS_SERVICE_NAME="gtchain",
        POWERTOOLS_METRICS_NAMESPACE="gtchain", POWERTOOLS_TRACE_DISABLED="1", LOG_LEVEL="INFO", MPLBACKEND="Agg",
    )  # fmt: skip
    return run_child("bench.reporter", method, *args, env=env, log_name=f"reporter-{method}")


@dataclass(frozen=True)
class Method:
    seconds: float  # median over RUNS
    peak_rss_mb: float  # the largest over RUNS
    rss_after_imports_mb: float
    runs: list[dict[str, float]]

    @classmethod
    def of(cls, children: list[Child]) -> "Method":
        runs = [{"seconds": c.result["seconds"], "peak_rss_mb": c.peak_rss_mb, "process_wall_s": c.wall_s,
                 "rss_after_imports_mb": c.result["rss_after_imports_mb"]} for c in children]  # fmt: skip
        return cls(statistics.median(r["seconds"] for r in runs), max(r["peak_rss_mb"] for r in runs),
                   max(r["rss_after_imports_mb"] for r in runs), runs)  # fmt: skip


def measure_size(objects: int) -> list[Row]:
    children: dict[str, list[Child]] = {"report": [], "floor": [], "notebook": []}
    with moto_server("bench.reporter:setup", str(objects)) as server:
        info = server.info
        for _ in range(RUNS):  # interleaved, so drift on this shared machine hits the three alike
            children["floor"].append(_run(server, "floor", info["bucket"], info["prefix"]))
            children["report"].append(_run(server, "report", info["job_name"]))
            children["notebook"].append(_run(server, "notebook", info["job_name"]))
    report, floor, notebook = (Method.of(children[name]) for name in ("report", "floor", "notebook"))
    size = f"{objects:,} objects"
    data = {"objects": objects, "files": info["files"], "bytes": info["bytes"], "runs": RUNS,
            "report": asdict(report), "floor": asdict(floor), "notebook": asdict(notebook)}  # fmt: skip
    targeted = objects == max(SIZES)
    floor_ratio, notebook_ratio = report.seconds / floor.seconds, notebook.seconds / report.seconds
    rss_ratio = report.peak_rss_mb / notebook.peak_rss_mb
    return [
        Row("reporter", f"{size} ({info['files']} files, {info['bytes'] / 1e6:.0f} MB): report / floor",
            f"{floor_ratio:.2f}x ({report.seconds:.2f} s / {floor.seconds:.2f} s)",
            f"<= {TARGET_FLOOR_RATIO:.0f}x floor" if targeted else "",
            floor_ratio <= TARGET_FLOOR_RATIO if targeted else None, data),
        Row("reporter", f"{size}: notebook / report",
            f"{notebook_ratio:.2f}x ({notebook.seconds:.2f} s / {report.seconds:.2f} s)",
            ">= 1x" if targeted else "", notebook_ratio >= 1 if targeted else None),
        Row("reporter", f"{size}: peak RSS, report / notebook's method",
            f"{rss_ratio:.2f}x ({report.peak_rss_mb:.0f} MB / {notebook.peak_rss_mb:.0f} MB; after imports "
            f"{report.rss_after_imports_mb:.0f} MB / {notebook.rss_after_imports_mb:.0f} MB)",
            f"< notebook RSS; < {TARGET_PEAK_MB} MB" if targeted else "",
            report.peak_rss_mb < min(TARGET_PEAK_MB, notebook.peak_rss_mb) if targeted else None),
    ]  # fmt: skip


def measure() -> list[Row]:
    return [row for objects in SIZES for row in measure_size(objects)]


if __name__ == "__main__":
    child_main(_child)
