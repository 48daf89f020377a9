"""The shapes Ground Truth writes (https://docs.aws.amazon.com/sagemaker/latest/dg/sms-data-output.html):
label attributes and their metadata, failed objects, worker answers, for each task type the emulator runs.

Everything is written as compact JSON (`dumps`), as the real files are: e.g. the output manifest of the
302-object image classification job in aws/amazon-sagemaker-examples
(prepare_data/sm-ground_truth_annotation_consolidation_image_classification) and the bounding box one in
archived/pytorch_yolov5_training_and_hpo/sample_output.manifest. Their metadata's job-name is
"labeling-job/" and the job's name in lower case ("labeling-job/ground-truth-od-demo-1662974840"); keys come
in the order those real files show.
"""

import base64
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from local.groundtruth.masks import (
    BACKGROUND,
    BACKGROUND_COLOR,
    UInt8Array,
    colorize,
    encode_png,
    label_colors,
    palette,
)

# The worker template names each task's answer (gtchain's worker-task template; the semantic segmentation
# element's name is the one in the consolidation request example on
# https://docs.aws.amazon.com/sagemaker/latest/dg/sms-custom-templates-step3-lambda-requirements.html).
_ANSWER_KEYS = {
    "object-detection": "annotatedResult",
    "image-classification": "crowd-image-classifier",
    "text-classification": "crowd-classifier",
    "semantic-segmentation": "crowd-semantic-segmentation",
}
# PRE-<suffix> Lambda -> the algorithm that auto-labels the task.
ALGORITHMS = {
    "BoundingBox": "object-detection",
    "ImageMultiClass": "image-classification",
    "TextMultiClass": "text-classification",
    "SemanticSegmentation": "semantic-segmentation",
}
# Typical seconds a worker spends on one task of each type (the crowd's pace is built on it).
SECONDS_PER_TASK = {
    "object-detection": 40.0,
    "image-classification": 12.0,
    "text-classification": 15.0,
    "semantic-segmentation": 120.0,
}
# A failed object's failure-reason starts as the real ones do ("ClientError: Annotation tasks expired"); the
# rest of the sentence is the emulator's.
EXPIRED = (
    "ClientError: Annotation tasks expired. The data object was not annotated by "
    "NumberOfHumanWorkersPerDataObject workers within TaskAvailabilityLifetimeInSeconds."
)


def dumps(value: Any) -> str:
    """Compact JSON, as Ground Truth writes it."""
    return json.dumps(value, separators=(",", ":"))


def creation_date(moment: datetime) -> str:
    """2019-06-10T20:50:10.123456, as in the output manifests (no zone: UTC)."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")


def file_stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d_%H:%M:%S")


def worker_time(moment: datetime) -> str:
    """acceptanceTime/submissionTime: YYYY-MM-DDTHH:MM:SS.mmmZ (sms-data-output.html, "Worker Metadata")."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@dataclass(frozen=True)
class ClassLabel:
    index: int
    confidence: float


@dataclass(frozen=True)
class PixelBoxes:
    """Boxes as the output shows them: left, top, width, height in pixels (ints, or the floats an average
    gives), their class indices, and a confidence per box."""

    boxes: list[tuple[float, float, float, float]]
    classes: list[int]
    confidence: list[float]

    def fractions(self, size: tuple[int, int]) -> np.ndarray:
        width, height = size
        return np.array(self.boxes, dtype=np.float64).reshape(-1, 4) / (width, height, width, height)


@dataclass(frozen=True)
class MaskLabel:
    mask: UInt8Array  # (H, W) class indices, 0 = BACKGROUND
    confidence: float  # one per image: the same for every class


@dataclass(frozen=True)
class JobTask:
    job_name: str
    algorithm: str
    label_attribute: str
    labels: tuple[str, ...]

    @property
    def output_type(self) -> str:
        return f"groundtruth/{self.algorithm}"

    @property
    def boxes(self) -> bool:
        return self.algorithm == "object-detection"

    @property
    def masks(self) -> bool:
        return self.algorithm == "semantic-segmentation"

    @property
    def metadata_job_name(self) -> str:
        return f"labeling-job/{self.job_name.lower()}"

    def _common(self, human: bool, created: datetime) -> dict[str, Any]:
        return {"type": self.output_type, "human-annotated": "yes" if human else "no",
                "creation-date": creation_date(created), "job-name": self.metadata_job_name}  # fmt: skip

    def entry(
        self, label: Any, *, human: bool, created: datetime, size: tuple[int, int], mask_uri: str | None = None
    ) -> dict[str, Any]:
        """{<LAN>: ..., <LAN>-metadata: ...} for one labeled object."""
        attribute, metadata_key = self.label_attribute, f"{self.label_attribute}-metadata"
        if isinstance(label, PixelBoxes):
            annotations = [
                {"class_id": cls, "top": top, "left": left, "height": height, "width": width}
                for (left, top, width, height), cls in zip(label.boxes, label.classes, strict=True)
            ]
            value = {"image_size": [{"width": size[0], "height": size[1], "depth": 3}], "annotations": annotations}
            # class-map: the classes this label shows, as in the documentation's example ("0" and "5" only).
            present = sorted(set(label.classes))
            metadata = {
                "objects": [{"confidence": c} for c in label.confidence],
                "class-map": {str(c): self.labels[c] for c in present},
                **self._common(human, created),
            }
            return {attribute: value, metadata_key: metadata}
        if isinstance(label, MaskLabel):
            assert mask_uri is not None
            colors = [BACKGROUND_COLOR, *label_colors(len(self.labels))]
            color_map = {
                str(i): {"class-name": name, "hex-color": colors[i], "confidence": label.confidence}
                for i, name in enumerate((BACKGROUND, *self.labels))
            }
            return {
                attribute: mask_uri,
                metadata_key: {"internal-color-map": color_map, **self._common(human, created)},
            }
        assert isinstance(label, ClassLabel)
        common = self._common(human, created)
        metadata = {"confidence": label.confidence, "job-name": common["job-name"],
                    "class-name": self.labels[label.index], "human-annotated": common["human-annotated"],
                    "creation-date": common["creation-date"], "type": common["type"]}  # fmt: skip
        return {attribute: label.index, metadata_key: metadata}

    def failure(self, retries: int, reason: str = EXPIRED) -> dict[str, Any]:
        """A failed object's addition to its line: <LAN>-metadata with failure-reason and retry-count, no <LAN>."""
        return {f"{self.label_attribute}-metadata": {"retry-count": retries, "failure-reason": reason}}

    def mask_png(self, mask: UInt8Array) -> bytes:
        return encode_png(colorize(mask, palette(len(self.labels))))

    def answer(self, answer: Any, size: tuple[int, int]) -> dict[str, Any]:
        """A worker's answerContent, as the crowd element submits it."""
        key = _ANSWER_KEYS[self.algorithm]
        width, height = size
        if isinstance(answer, PixelBoxes):
            boxes = [
                {"height": h, "label": self.labels[cls], "left": left, "top": top, "width": w}
                for (left, top, w, h), cls in zip(answer.boxes, answer.classes, strict=True)
            ]
            return {key: {"boundingBoxes": boxes, "inputImageProperties": {"height": height, "width": width}}}
        if self.masks:
            colors = label_colors(len(self.labels))
            used = sorted({int(c) for c in np.unique(answer)} - {0})
            return {key: {
                "inputImageProperties": {"height": height, "width": width},
                "labelMappings": {self.labels[c - 1]: {"color": colors[c - 1]} for c in used},
                "labeledImage": {"pngImageData": base64.b64encode(self.mask_png(answer)).decode()},
            }}  # fmt: skip
        return {key: {"label": self.labels[int(answer)]}}
