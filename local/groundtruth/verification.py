"""Ground Truth's bounding box verification task, emulated: what gtchain's audit of a bounding-box chain runs.

A verification job (PRE-/ACS-VerificationBoundingBox, https://docs.aws.amazon.com/sagemaker/latest/dg/sms-data-verify-start-api.html)
reads the boxes to verify from each input line's label attribute (the audited job's output line: the attribute whose
`-metadata` says `groundtruth/object-detection`) and asks workers to judge each box set good or bad. Here each worker
compares the box set with the object's truth (world.DetectionWorld): it is good when it would meet Ground Truth's
own bar for boxes, an IoU score of at least learner.IOU_TARGET (boxes matched one to one within a class, a missed or
an extra box counting 0: learner.object_scores). A worker gets the verdict right with the crowd's usual accuracy
(workers.CLASS_ACCURACY at the object's difficulty, times the worker's care), worse on difficult objects and on box
sets near the bar. The verdicts are consolidated as classification's are (workers.consolidate_classes: one-coin
Dawid-Skene, the confidence capped at 0.95; 0.00 with one worker).

The output follows https://docs.aws.amazon.com/sagemaker/latest/dg/sms-data-verify-manifest.html: the job's
LabelAttributeName holds the verdict's index as a string ("1"), and `<attr>-metadata` holds `class-name` ("good" or
"bad"), `confidence`, `type` `groundtruth/label-verification`, `job-name`, `human-annotated` "yes" and
`creation-date`. No auto-labeling: a verification job has no LabelingJobAlgorithmsConfig.

So the accuracy an audit measures of an emulated round comes out of the learner that labeled it.
"""

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from local.groundtruth.formats import ClassLabel, JobTask, creation_date
from local.groundtruth.learner import IOU_TARGET, BoxLabels, object_scores
from local.groundtruth.loop import HumanBatch, Model, Prediction
from local.groundtruth.workers import CLASS_ACCURACY, Assignments, Crowd, consolidate_classes
from local.groundtruth.world import BoxObjects, DetectionWorld, FloatArray, IntArray

VERIFICATION = "VerificationBoundingBox"  # the PRE-/ACS- Lambdas' suffix
ALGORITHM = "label-verification"  # what JobTask calls the task: its output type is groundtruth/label-verification
VERDICTS = ("good", "bad")
SECONDS_PER_VERIFICATION = 10.0  # a look at the boxes and a click
_OBJECT_DETECTION = "groundtruth/object-detection"
# A box set this close to the bar (in IoU score) is hard to call by eye: the error rate rises up to 3 times.
_BORDERLINE = 0.05


def boxes_attribute(line: dict[str, Any]) -> str | None:
    """The label attribute whose boxes a verification job shows: the one whose metadata is object detection."""
    for key, value in line.items():
        if key.endswith("-metadata") and isinstance(value, dict) and value.get("type") == _OBJECT_DETECTION:
            attribute = key.removesuffix("-metadata")
            if isinstance(line.get(attribute), dict):
                return attribute
    return None


def _shown(line: dict[str, Any], labels: tuple[str, ...]) -> tuple[list[tuple[float, ...]], list[int], tuple[int, int]]:
    """A line's boxes to verify (pixels), their classes (indices into the label categories) and the image size."""
    attribute = boxes_attribute(line)
    if attribute is None:
        return [], [], (1, 1)
    label, metadata = line[attribute], line[f"{attribute}-metadata"]
    size = (label.get("image_size") or [{}])[0]
    class_map = metadata.get("class-map") or {}
    boxes: list[tuple[float, ...]] = []
    classes: list[int] = []
    for box in label.get("annotations") or []:
        name = class_map.get(str(box.get("class_id")))
        boxes.append((float(box["left"]), float(box["top"]), float(box["width"]), float(box["height"])))
        classes.append(labels.index(name) if name in labels else int(box.get("class_id", 0)))
    return boxes, classes, (int(size.get("width", 1)), int(size.get("height", 1)))


class VerificationKit:
    """loop.TaskKit for a verification job: humans only (its request has no LabelingJobAlgorithmsConfig)."""

    target = 1.0
    seconds_per_task = SECONDS_PER_VERIFICATION

    def __init__(self, labels: tuple[str, ...], lines: list[dict[str, Any]]) -> None:
        self.labels: tuple[str, ...] = VERDICTS
        self.world = DetectionWorld(labels)
        self.shown = [_shown(line, labels) for line in lines]

    def observe(self, identities: list[str]) -> BoxObjects:
        return self.world.observe(identities)

    def quality(self, objects: BoxObjects, index: IntArray) -> FloatArray:
        """Each object's IoU score of the boxes shown against its true boxes."""
        shown = []
        for i in index:
            boxes, classes, (width, height) = self.shown[int(i)]
            fractions = np.array(boxes, dtype=np.float64).reshape(-1, 4) / (width, height, width, height)
            shown.append((fractions, np.array(classes, dtype=np.int64)))
        truth = [(objects.boxes[int(i), : objects.counts[int(i)]], objects.classes[int(i), : objects.counts[int(i)]])
                 for i in index]  # fmt: skip
        return object_scores(BoxLabels.pack(shown), BoxLabels.pack(truth))

    def human(
        self, objects: BoxObjects, index: IntArray, assignments: Assignments, crowd: Crowd, rng: np.random.Generator
    ) -> HumanBatch:
        quality = self.quality(objects, index)
        answers = np.empty(assignments.workers.shape, dtype=np.int64)
        for row, i in enumerate(index):
            right = 0 if quality[row] >= IOU_TARGET else 1
            difficulty = float(objects.difficulty[int(i)])
            error = 1.0 - (CLASS_ACCURACY[0] + (CLASS_ACCURACY[1] - CLASS_ACCURACY[0]) * difficulty)
            error *= 1.0 + 2.0 * math.exp(-abs(float(quality[row]) - IOU_TARGET) / _BORDERLINE)
            for slot, worker in enumerate(assignments.workers[row]):
                accuracy = max(0.5, 1.0 - error * float(crowd.care[worker]))
                answers[row, slot] = right if rng.random() < accuracy else 1 - right
        labels, confidence = consolidate_classes(answers, assignments.workers, len(VERDICTS))
        verdicts = [int(v) for v in labels]
        shown = [ClassLabel(v, float(c)) for v, c in zip(verdicts, confidence, strict=True)]
        return HumanBatch(index, [[int(a) for a in row] for row in answers], verdicts, shown, assignments)

    # A verification job never trains or auto-labels.
    def new_model(self, objects: Any, index: IntArray) -> Model:
        raise NotImplementedError("a verification job does not auto-label")

    def training_labels(self, stored: list[Any], index: IntArray) -> Any:
        raise NotImplementedError("a verification job does not auto-label")

    def predict(self, model: Model, objects: Any, index: IntArray) -> Prediction:
        raise NotImplementedError("a verification job does not auto-label")

    def correctness(self, model: Model, objects: Any, index: IntArray, stored: list[Any]) -> FloatArray:
        raise NotImplementedError("a verification job does not auto-label")


@dataclass(frozen=True)
class VerificationTask(JobTask):
    """The verification job's output shapes (sms-data-verify-manifest.html; `labels` are the VERDICTS)."""

    def entry(
        self, label: Any, *, human: bool, created: datetime, size: tuple[int, int], mask_uri: str | None = None
    ) -> dict[str, Any]:
        assert isinstance(label, ClassLabel)
        metadata = {"class-name": self.labels[label.index], "confidence": label.confidence, "type": self.output_type,
                    "job-name": self.metadata_job_name, "human-annotated": "yes" if human else "no",
                    "creation-date": creation_date(created)}  # fmt: skip
        return {self.label_attribute: str(label.index), f"{self.label_attribute}-metadata": metadata}

    def answer(self, answer: Any, size: tuple[int, int]) -> dict[str, Any]:
        """What the verification template's crowd-image-classifier submits."""
        return {"crowd-image-classifier": {"label": self.labels[int(answer)]}}


def verification_task(job_name: str, label_attribute: str) -> VerificationTask:
    return VerificationTask(job_name, ALGORITHM, label_attribute, VERDICTS)
