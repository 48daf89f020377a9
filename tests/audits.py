"""Ground Truth's side of audits, alike on moto and on the fakes (tests.groundtruth's Side): a round's output with
machine labels of chosen confidences and classes, and an audit job's output in the documented formats
(verification: https://docs.aws.amazon.com/sagemaker/latest/dg/sms-data-verify-manifest.html; a relabel: the task
type's own output, https://docs.aws.amazon.com/sagemaker/latest/dg/sms-data-output.html)."""

import json
from collections.abc import Callable, Collection, Sequence
from typing import Any

from tests.groundtruth import ATTRIBUTE, Side, input_lines, output_key

CREATED = "2026-11-24T10:00:00.000000"


def box_label(
    job_name: str, index: int, *, human: bool, confidence: float, classes: Sequence[str] = ("Bird",)
) -> dict[str, Any]:
    boxes = [{"class_id": k, "left": index % 500, "top": 10 + 40 * k, "width": 50, "height": 40}
             for k in range(len(classes))]  # fmt: skip
    metadata = {
        "objects": [{"confidence": confidence} for _ in classes],
        "class-map": {str(k): c for k, c in enumerate(classes)}, "type": "groundtruth/object-detection",
        "human-annotated": "yes" if human else "no", "creation-date": CREATED, "job-name": f"labeling-job/{job_name}",
    }  # fmt: skip
    return {ATTRIBUTE: {"image_size": [{"width": 640, "height": 480, "depth": 3}], "annotations": boxes},
            f"{ATTRIBUTE}-metadata": metadata}  # fmt: skip


def class_label(job_name: str, labels: Sequence[str], name: str, *, human: bool, confidence: float) -> dict[str, Any]:
    metadata = {"confidence": confidence, "job-name": f"labeling-job/{job_name}", "class-name": name,
                "human-annotated": "yes" if human else "no", "creation-date": CREATED,
                "type": "groundtruth/image-classification"}  # fmt: skip
    return {ATTRIBUTE: labels.index(name), f"{ATTRIBUTE}-metadata": metadata}


Labeler = Callable[[int, dict[str, Any]], dict[str, Any] | None]  # (index, input line) -> label members, or None


def write_round_output(side: Side, job_name: str, labeler: Labeler) -> tuple[int, int]:
    """The round's output manifest, each line labeled by `labeler` (None: unlabeled), in reverse order (Ground
    Truth does not promise input order). Returns (human, machine)."""
    out, human, machine = [], 0, 0
    for index, obj in enumerate(input_lines(side, job_name)):
        members = labeler(index, obj) or {}
        if members:
            if members[f"{ATTRIBUTE}-metadata"]["human-annotated"] == "no":
                machine += 1
            else:
                human += 1
        out.append({**obj, **members})
    side.put(output_key(job_name), "".join(json.dumps(obj) + "\n" for obj in reversed(out)))
    return human, machine


def complete_round(side: Side, job_name: str, labeler: Labeler, *, model: str | None = None) -> dict[str, Any]:
    human, machine = write_round_output(side, job_name, labeler)
    side.finish_job(job_name, human=human, machine=machine, model=model)
    return side.advance(job_name, "Completed")


def audit_request(side: Side, job_name: str) -> dict[str, Any]:
    request: dict[str, Any] = side.jobs()[job_name.lower()].request
    return request


def write_audit_output(
    side: Side, job_name: str, *, bad: Collection[int] = (), failed: Collection[int] = (),
    relabel: Callable[[int, dict[str, Any]], str] | None = None,
) -> tuple[int, int]:  # fmt: skip
    """The audit job's output manifest. Verification: the objects at `bad` (their line in the audit's input) judged
    bad, the others good. A relabel: `relabel(index, line)` names the human class (default: the machine's, or
    another class at `bad`). Objects at `failed` expired. Returns (labeled, failed)."""
    request = audit_request(side, job_name)
    attribute = request["LabelAttributeName"]
    verification = request["HumanTaskConfig"]["PreHumanTaskLambdaArn"].endswith("-VerificationBoundingBox")
    out = []
    for index, obj in enumerate(input_lines(side, job_name)):
        if index in failed:
            expired = {"retry-count": 1, "failure-reason": "ClientError: Annotation tasks expired."}
            members: dict[str, Any] = {f"{attribute}-metadata": expired}
        elif verification:
            verdict = 1 if index in bad else 0
            members = {attribute: str(verdict), f"{attribute}-metadata": {
                "class-name": ("good", "bad")[verdict], "confidence": 0.93,
                "type": "groundtruth/label-verification", "job-name": f"labeling-job/{job_name}",
                "human-annotated": "yes", "creation-date": CREATED}}  # fmt: skip
        else:
            machine = obj[f"{ATTRIBUTE}-metadata"]["class-name"]
            name = relabel(index, obj) if relabel else (f"not-{machine}" if index in bad else machine)
            members = {attribute: 0, f"{attribute}-metadata": {
                "confidence": 0.95, "job-name": f"labeling-job/{job_name}", "class-name": name,
                "human-annotated": "yes", "creation-date": CREATED,
                "type": "groundtruth/image-classification"}}  # fmt: skip
        out.append({**obj, **members})
    side.put(output_key(job_name), "".join(json.dumps(obj) + "\n" for obj in out))
    return len(out) - len(failed), len(failed)


def complete_audit(
    side: Side, job_name: str, *, bad: Collection[int] = (), failed: Collection[int] = (),
    relabel: Callable[[int, dict[str, Any]], str] | None = None, output: bool = True, deliver: bool = True,
) -> dict[str, Any] | None:  # fmt: skip
    """Finish the audit job as Completed (every labeled object by humans), write its output, deliver the event."""
    objects = len(input_lines(side, job_name))
    counters = {"TotalLabeled": objects - len(failed), "HumanLabeled": objects - len(failed), "MachineLabeled": 0,
                "FailedNonRetryableError": len(failed), "Unlabeled": 0}  # fmt: skip
    side.finish_job(job_name, counters=counters)
    if output:
        write_audit_output(side, job_name, bad=bad, failed=failed, relabel=relabel)
    return side.advance(job_name, "Completed") if deliver else None
