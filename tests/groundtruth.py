"""Ground Truth's side of a job, alike for tests on moto (tests.support.Stack) and on the fakes
(tests.unit.service.world.World): finish a job, write its output manifest the way the service does, and read
back what gtchain wrote. The side in use is the one the test's fixture set (`use`), as moto's state is global."""

import json
from typing import Any, Protocol

from local import moto_labeling
from tests.support import DATA_BUCKET

ATTRIBUTE = "category"  # tests/data/chain.json's labelAttributeName


class Side(Protocol):
    def jobs(self) -> dict[str, moto_labeling.LabelingJob]: ...  # by lower-cased name, in creation order
    def put(self, key: str, body: str | bytes) -> str: ...  # returns the version id
    def get(self, key: str) -> bytes: ...
    def finish_job(self, name: str, status: str = "Completed", **kwargs: Any) -> None: ...
    def advance(self, job_name: str, status: str) -> dict[str, Any]: ...


_sides: list[Side] = []


def use(side: Side) -> None:
    _sides[:] = [side]


def current() -> Side:
    if not _sides:
        raise RuntimeError("no Ground Truth side in use: take the stack or world fixture")
    return _sides[0]


def jobs() -> dict[str, moto_labeling.LabelingJob]:
    return current().jobs()


def input_lines(side: Side, job_name: str) -> list[dict[str, Any]]:
    uri = side.jobs()[job_name.lower()].request["InputConfig"]["DataSource"]["S3DataSource"]["ManifestS3Uri"]
    body = side.get(uri.removeprefix(f"s3://{DATA_BUCKET}/"))
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


def write_output(side: Side, job_name: str, *, machine: int = 0) -> None:
    """The output manifest, in reverse order (Ground Truth does not promise input order); the last `machine`
    objects are machine-labeled."""
    lines = input_lines(side, job_name)
    out = []
    for index, obj in enumerate(lines):
        out.append({**obj, **label(job_name, index, human=index < len(lines) - machine)})
    body = "".join(json.dumps(obj) + "\n" for obj in reversed(out))
    side.put(output_key(job_name), body)


def complete(
    side: Side, job_name: str, *, machine: int = 0, model: str | None = None, output: bool = True
) -> dict[str, Any]:
    """Finish a job as Completed (counters from its input), write its output, deliver the event."""
    objects = len(input_lines(side, job_name))
    side.finish_job(job_name, human=objects - machine, machine=machine, model=model)
    if output:
        write_output(side, job_name, machine=machine)
    return side.advance(job_name, "Completed")


def round_job(round_number: int, attempt: int = 1, role: str = "round") -> str:
    """The name of a round's job (its baseline's, its audit's) among the jobs created so far."""
    letter = {"baseline": "b", "audit": "a"}.get(role, "")
    suffix = f"-r{round_number}{letter}-a{attempt}"
    [name] = [job.name for job in jobs().values() if job.name.endswith(suffix)]
    return name


def results(side: Side, chain_id: str, manifest: str) -> list[dict[str, Any]]:
    body = side.get(f"chains/{chain_id}/results/{manifest}").decode()
    return [json.loads(line) for line in body.splitlines()]


def status(side: Side, chain_id: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(side.get(f"chains/{chain_id}/status.json"))
    return document


def labeled_by(line: dict[str, Any]) -> str:
    """The job whose label a results line carries."""
    job: str = line[f"{ATTRIBUTE}-metadata"]["job-name"]
    return job.removeprefix("labeling-job/")


def of_type(published: list[dict[str, Any]], detail_type: str) -> list[dict[str, Any]]:
    return [event["detail"] for event in published if event["detail-type"] == detail_type]
