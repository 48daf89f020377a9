"""Drive the report function on the embedded stack: a chain through its handlers, job outputs from the
fixture generator, training logs in CloudWatch Logs."""

import json
import time
from dataclasses import dataclass
from typing import Any

import boto3

from functions.report import app as report_app
from gtchain.adapters.logs import TRAINING_LOG_GROUP
from tests.fixtures.job_outputs import (
    IterationPlan,
    OutputPlan,
    Truth,
    s3_put,
    training_log_messages,
    write_job_output,
)
from tests.integration.chain.flow import advance, drop, jobs, manifest_lines
from tests.support import DATA_BUCKET, REGION, LambdaContext, Stack, finish_job, load_event


def report_event(detail: dict[str, Any]) -> dict[str, Any]:
    """A Round Completed event as EventBridge delivers it to the report function."""
    event = load_event("round-completed.json")
    event["detail"] = detail
    return event


def report(detail: dict[str, Any]) -> dict[str, Any]:
    return dict(report_app.lambda_handler(report_event(detail), LambdaContext()))


def job_names_by_role() -> dict[str, str]:
    """The latest round's job and baseline, by role."""
    latest = max(int(t["Value"]) for j in jobs().values() for t in j.tags if t["Key"] == "gtchain:round")
    names = {}
    for job in jobs().values():
        tags = {t["Key"]: t["Value"] for t in job.tags}
        if tags["gtchain:round"] == str(latest):
            names[tags["gtchain:role"]] = job.name
    return names


def write_output(job_name: str, plan: OutputPlan, *, chain_id: str = "birds", curves: bool = True) -> Truth:
    prefix = f"chains/{chain_id}/jobs/{job_name}/"
    truth = write_job_output(s3_put(boto3.client("s3", region_name=REGION), DATA_BUCKET), prefix, plan)
    if curves:
        put_training_logs(truth)
    return truth


def put_training_logs(truth: Truth) -> None:
    logs = boto3.client("logs", region_name=REGION)
    now = int(time.time() * 1000)
    for iteration, name in truth.training_jobs:
        stream = f"{name}/algo-1-1764000000"
        logs.create_log_stream(logGroupName=TRAINING_LOG_GROUP, logStreamName=stream)
        values = [round(0.05 * iteration + 0.1 * epoch, 4) for epoch in range(3)]
        messages = training_log_messages(100 * iteration, values)
        logs.put_log_events(
            logGroupName=TRAINING_LOG_GROUP,
            logStreamName=stream,
            logEvents=[{"timestamp": now + i, "message": m} for i, m in enumerate(messages)],
        )


@dataclass
class Completed:
    job_name: str
    truth: Truth
    detail: dict[str, Any]  # the Round Completed event's detail, as the chain service published it


def complete(stack: Stack, job_name: str, truth: Truth, *, model: str | None = None) -> Completed:
    """Finish the job with the truth's counters and deliver its state change; return its Round Completed."""
    counters = truth.counters
    finish_job(job_name, human=counters["HumanLabeled"], machine=counters["MachineLabeled"], model=model)
    assert advance(job_name, "Completed")["action"] == "applied"
    [detail] = [e["detail"] for e in stack.published()
                if e["detail-type"] == "Round Completed" and e["detail"]["jobName"] == job_name]  # fmt: skip
    return Completed(job_name, truth, detail)


def start_chain(stack: Stack, spec_document: dict[str, Any], objects: int = 2500) -> str:
    """Drop chain.json and a manifest; returns round 1's job name."""
    drop(stack, "chains/birds/chain.json", json.dumps(spec_document))
    drop(stack, "chains/birds/inbox/birds.manifest", manifest_lines(objects))
    stack.published()
    return job_names_by_role()["round"]


def read_json(stack: Stack, key: str) -> Any:
    return json.loads(stack.s3.get_object(Bucket=DATA_BUCKET, Key=key)["Body"].read())


def read_bytes(stack: Stack, key: str) -> bytes:
    return bytes(stack.s3.get_object(Bucket=DATA_BUCKET, Key=key)["Body"].read())


# Round 1 of the seed chain (1,250 objects) in 12 iterations: 580 human, 670 machine; 5 objects of
# iteration 2 consolidated again in iteration 12.
ROUND_1 = OutputPlan(
    (IterationPlan(10), IterationPlan(190), IterationPlan(200))
    + (IterationPlan(20, 74),) * 8
    + (IterationPlan(20, 78),),
    repeats=5,
)
# Round 2 with the carried model (80% machine) and its baseline without it (60%), as in the notebook.
ROUND_2 = OutputPlan((IterationPlan(10), IterationPlan(190), IterationPlan(50, 1000)))
BASELINE_2 = OutputPlan((IterationPlan(10), IterationPlan(190), IterationPlan(200), IterationPlan(100, 750)))


def reports_key(job_name: str, file: str = "summary.json") -> str:
    return f"chains/birds/reports/{job_name}/{file}"


def without_generated_at(document: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in document.items() if k != "generatedAt"}
