"""Play Ground Truth's side of a job: finish it and write its output manifest the way the service does."""

import json
from typing import Any

from tests.integration.chain.flow import advance, jobs
from tests.support import DATA_BUCKET, Stack, finish_job

ATTRIBUTE = "category"  # tests/data/chain.json's labelAttributeName


def input_lines(stack: Stack, job_name: str) -> list[dict[str, Any]]:
    uri = jobs()[job_name.lower()].request["InputConfig"]["DataSource"]["S3DataSource"]["ManifestS3Uri"]
    body = stack.s3.get_object(Bucket=DATA_BUCKET, Key=uri.removeprefix(f"s3://{DATA_BUCKET}/"))["Body"].read()
    return [json.loads(line) for line in body.decode().splitlines()]


def output_key(job_name: str) -> str:
    job = jobs()[job_name.lower()]
    prefix = job.request["OutputConfig"]["S3OutputPath"].removeprefix(f"s3://{DATA_BUCKET}/").rstrip("/")
    return f"{prefix}/{job_name}/manifests/output/output.manifest"


def label(job_name: str, index: int, human: bool) -> dict[str, Any]:
    """A bounding-box label whose metadata names the job that made it (what the results are checked by)."""
    box = {"class_id": 0, "left": index, "top": 10, "width": 50, "height": 40}
    metadata = {
        "objects": [{"confidence": 0.9}], "class-map": {"0": "Bird"}, "type": "groundtruth/object-detection",
        "human-annotated": "yes" if human else "no", "creation-date": "2026-11-24T10:00:00.000000",
        "job-name": f"labeling-job/{job_name}",
    }  # fmt: skip
    return {
        ATTRIBUTE: {"image_size": [{"width": 640, "height": 480, "depth": 3}], "annotations": [box]},
        f"{ATTRIBUTE}-metadata": metadata,
    }


def write_output(stack: Stack, job_name: str, *, machine: int = 0) -> None:
    """The output manifest, in reverse order (Ground Truth does not promise input order); the last `machine`
    objects are machine-labeled."""
    lines = input_lines(stack, job_name)
    out = []
    for index, obj in enumerate(lines):
        out.append({**obj, **label(job_name, index, human=index < len(lines) - machine)})
    body = "".join(json.dumps(obj) + "\n" for obj in reversed(out))
    stack.put(output_key(job_name), body)


def complete(
    stack: Stack, job_name: str, *, machine: int = 0, model: str | None = None, output: bool = True
) -> dict[str, Any]:
    """Finish a job as Completed (counters from its input), write its output, deliver the event."""
    objects = len(input_lines(stack, job_name))
    finish_job(job_name, human=objects - machine, machine=machine, model=model)
    if output:
        write_output(stack, job_name, machine=machine)
    return advance(job_name, "Completed")


def round_job(round_number: int, attempt: int = 1, role: str = "round") -> str:
    """The name of a round's job among the jobs created so far."""
    suffix = f"-r{round_number}{'b' if role == 'baseline' else ''}-a{attempt}"
    [name] = [job.name for job in jobs().values() if job.name.endswith(suffix)]
    return name


def results(stack: Stack, chain_id: str, manifest: str) -> list[dict[str, Any]]:
    key = f"chains/{chain_id}/results/{manifest}"
    body = stack.s3.get_object(Bucket=DATA_BUCKET, Key=key)["Body"].read().decode()
    return [json.loads(line) for line in body.splitlines()]


def status(stack: Stack, chain_id: str) -> dict[str, Any]:
    body = stack.s3.get_object(Bucket=DATA_BUCKET, Key=f"chains/{chain_id}/status.json")["Body"].read()
    document: dict[str, Any] = json.loads(body)
    return document


def labeled_by(line: dict[str, Any]) -> str:
    """The job whose label a results line carries."""
    job: str = line[f"{ATTRIBUTE}-metadata"]["job-name"]
    return job.removeprefix("labeling-job/")


def of_type(published: list[dict[str, Any]], detail_type: str) -> list[dict[str, Any]]:
    return [event["detail"] for event in published if event["detail-type"] == detail_type]
