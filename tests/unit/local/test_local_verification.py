"""The emulated bounding box verification task (local.groundtruth.verification), created as gtchain's audit creates it:
workers judge each box set against the object's truth with the crowd's error rates, worse on difficult objects, and
the output is in the documented format (https://docs.aws.amazon.com/sagemaker/latest/dg/sms-data-verify-manifest.html)."""

import json
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from gtchain.domain.audit import build_audit_request
from gtchain.domain.records import AuditJob
from gtchain.domain.spec import ChainSpec
from local.dataset import chain_spec
from local.groundtruth.verification import VerificationKit
from local.groundtruth.world import DetectionWorld
from tests.unit.local.emulated import BUCKET, REGION, ROLE, World, emulated_ground_truth

OBJECTS = 300
JOB = "gtchain-birds-a1b2c3-r1a-a1"
AUDITED = "gtchain-birds-a1b2c3-r1-a1"


@pytest.fixture
def world() -> Iterator[World]:
    with emulated_ground_truth(seed=5) as created:
        yield created


def _lines() -> tuple[list[dict[str, Any]], list[bool], np.ndarray]:
    """Box sets to verify: the object's true boxes (good) for even lines; for odd ones, every box moved by most of its
    width (bad). Returns the lines, which are good, and each object's difficulty."""
    identities = [f"s3://{BUCKET}/images/{i:05d}.jpg" for i in range(OBJECTS)]
    objects = DetectionWorld(("Bird",)).observe(identities)
    lines, good = [], []
    for i, identity in enumerate(identities):
        width, height = (int(v) for v in objects.image_sizes[i])
        boxes = []
        for k in range(int(objects.counts[i])):
            left, top, w, h = objects.boxes[i, k]
            shift = 0.8 * w if i % 2 else 0.0
            boxes.append({"class_id": 0, "left": round((left + shift) * width), "top": round(top * height),
                          "width": round(w * width), "height": round(h * height)})  # fmt: skip
        metadata = {"objects": [{"confidence": 0.7}] * len(boxes), "class-map": {"0": "Bird"},
                    "type": "groundtruth/object-detection", "human-annotated": "no",
                    "creation-date": "2026-03-02T08:00:00.000000", "job-name": f"labeling-job/{AUDITED}"}  # fmt: skip
        lines.append({"source-ref": identity, "category": {"image_size": [{"width": width, "height": height,
                      "depth": 3}], "annotations": boxes}, "category-metadata": metadata})  # fmt: skip
        good.append(i % 2 == 0)
    return lines, good, objects.difficulty


def _verify(world: World, lines: list[dict[str, Any]]) -> None:
    spec = ChainSpec.model_validate(chain_spec("bounding-box", audit={"sampleSize": 100}))
    world.s3.put_object(Bucket=BUCKET, Key="in/audit.manifest", Body="".join(json.dumps(x) + "\n" for x in lines))
    labels = {"document-version": "2018-11-28", "labels": [{"label": "Bird"}]}
    world.s3.put_object(Bucket=BUCKET, Key="in/labels.json", Body=json.dumps(labels).encode())
    audit = AuditJob(name=JOB, kind="verification", audited_job=AUDITED,
                     label_attribute="category-audit", objects=len(lines), machine_labeled=len(lines),
                     input_uri=f"s3://{BUCKET}/in/audit.manifest")  # fmt: skip
    request = build_audit_request(audit=audit, spec=spec, region=REGION, role_arn=ROLE, output_uri=f"s3://{BUCKET}/out",
                                  ui_template_uri=f"s3://{BUCKET}/in/verify.html",
                                  label_config_uri=f"s3://{BUCKET}/in/labels.json", tags=[])  # fmt: skip
    world.sagemaker.create_labeling_job(**request)
    world.finish()


def test_a_verification_job_judges_box_sets_against_the_truth_in_the_documented_format(world: World) -> None:
    lines, good, difficulty = _lines()
    _verify(world, lines)

    described = world.describe(JOB)
    assert described["LabelingJobStatus"] == "Completed"
    counters = described["LabelCounters"]
    assert counters["MachineLabeled"] == 0 and counters["HumanLabeled"] + counters["FailedNonRetryableError"] == OBJECTS
    out = [json.loads(x) for x in world.lines(f"out/{JOB}/manifests/output/output.manifest")]
    judged = [(line, ok) for line, ok in zip(out, good, strict=True) if "category-audit" in line]
    assert len(judged) == counters["HumanLabeled"]
    line = judged[0][0]
    # The documented shape: the verdict's index as a string; class-name, confidence, type, job-name, ...
    assert line["category-audit"] in ("0", "1")
    metadata = line["category-audit-metadata"]
    assert list(metadata) == ["class-name", "confidence", "type", "job-name", "human-annotated", "creation-date"]
    assert metadata["type"] == "groundtruth/label-verification" and metadata["human-annotated"] == "yes"
    assert metadata["class-name"] == ("good", "bad")[int(line["category-audit"])]
    assert metadata["job-name"] == f"labeling-job/{JOB}"
    assert line["category"] == lines[0]["category"]  # the verified label stays on the line
    # Consolidated verdicts follow the truth: true boxes good, moved ones bad (3 workers, EM)
    right = [(x["category-audit-metadata"]["class-name"] == "good") == ok for x, ok in judged]
    assert sum(right) / len(right) >= 0.95
    # Each worker answered as crowd-image-classifier submits, and difficult objects were judged worse
    answers = {}
    for key in world.keys(f"out/{JOB}/annotations/worker-response/"):
        object_id = int(key.split("/")[-2])
        answers[object_id] = [a["answerContent"]["crowd-image-classifier"]["label"]
                              for a in world.json(key)["answers"]]  # fmt: skip
    wrong = {i: sum((label == "good") != good[i] for label in labels) / len(labels) for i, labels in answers.items()}
    easy = [wrong[i] for i in wrong if difficulty[i] < 0.3]
    hard = [wrong[i] for i in wrong if difficulty[i] > 0.5]
    assert np.mean(hard) > np.mean(easy)


def test_the_kit_scores_box_sets_as_the_learner_scores_boxes() -> None:
    lines, good, _ = _lines()
    kit = VerificationKit(("Bird",), lines)
    objects = kit.observe([line["source-ref"] for line in lines])
    quality = kit.quality(objects, np.arange(OBJECTS))
    assert all(q > 0.9 for q, ok in zip(quality, good, strict=True) if ok)  # the truth, to the pixel
    assert all(q < 0.6 for q, ok in zip(quality, good, strict=True) if not ok)  # its boxes moved off
