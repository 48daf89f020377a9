"""Drive the handlers the way EventBridge would, from the sample events in events/."""

__all__ = ["advance", "deliver", "drop", "jobs", "manifest_lines", "model_arn", "object_created", "reconcile"]

from typing import Any

from functions.advance import app as advance_app
from functions.reconcile import app as reconcile_app
from functions.report import app as report_app
from functions.start import app as start_app
from local import moto_labeling
from tests.support import ACCOUNT, DATA_BUCKET, REGION, LambdaContext, Stack, load_event, manifest_lines, model_arn


def object_created(key: str, version: str | None) -> dict[str, Any]:
    event = load_event("s3-object-created-manifest.json")
    event["detail"]["bucket"]["name"] = DATA_BUCKET
    event["detail"]["object"]["key"] = key
    event["detail"]["object"]["version-id"] = version
    return event


def drop(stack: Stack, key: str, body: str | bytes, *, event_key: str | None = None) -> dict[str, Any]:
    """Upload an object, then deliver its Object Created event to the start handler."""
    version = stack.put(key, body)
    return dict(start_app.lambda_handler(object_created(event_key or key, version), LambdaContext()))


def job_event(job_name: str, status: str) -> dict[str, Any]:
    event = load_event("labeling-job-state-change-completed.json")
    event["resources"] = [f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:labeling-job/{job_name}"]
    event["detail"]["LabelingJobStatus"] = status
    return event


def advance(job_name: str, status: str) -> dict[str, Any]:
    return dict(advance_app.lambda_handler(job_event(job_name, status), LambdaContext()))


def reconcile() -> dict[str, Any]:
    return dict(reconcile_app.lambda_handler(load_event("scheduled-reconcile.json"), LambdaContext()))


def deliver(published: list[dict[str, Any]], detail_type: str) -> list[dict[str, Any]]:
    """Hand the published events of one type to the report function, as the template's rule does (in the sample
    event's envelope: moto's EventBridge leaves out some of the fields AWS sends)."""
    envelope = load_event("round-completed.json")
    chosen = [{**envelope, "detail-type": detail_type, "detail": e["detail"]} for e in published
              if e["detail-type"] == detail_type]  # fmt: skip
    return [dict(report_app.lambda_handler(event, LambdaContext())) for event in chosen]


def jobs() -> dict[str, moto_labeling.LabelingJob]:
    return moto_labeling.labeling_jobs(ACCOUNT, REGION)
