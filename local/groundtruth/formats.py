"""The shapes Ground Truth writes (https://docs.aws.amazon.com/sagemaker/latest/dg/sms-data-output.html):
label attributes and their metadata, worker
answers, and consolidation requests and responses, for each task type the emulator runs."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

# The worker template names each task's answer (gtchain's rendering/templates/worker-task.liquid.j2).
_ANSWER_KEYS = {
    "object-detection": "annotatedResult",
    "image-classification": "crowd-image-classifier",
    "text-classification": "crowd-classifier",
}
# PRE-<suffix> Lambda -> the algorithm that auto-labels the task.
ALGORITHMS = {
    "BoundingBox": "object-detection",
    "ImageMultiClass": "image-classification",
    "TextMultiClass": "text-classification",
}


def creation_date(moment: datetime) -> str:
    """2019-06-10T20:50:10.123456, as in the output manifests (no zone: UTC)."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")


def file_stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d_%H:%M:%S")


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

    def _pixels(self, label: Any, size: tuple[int, int]) -> list[dict[str, int]]:
        boxes, classes = label
        width, height = size
        return [
            {"class_id": int(cls), "left": round(left * width), "top": round(top * height),
             "width": max(1, round(w * width)), "height": max(1, round(h * height))}
            for (left, top, w, h), cls in zip(np.asarray(boxes).tolist(), np.asarray(classes).tolist(), strict=True)
        ]  # fmt: skip

    def entry(
        self, label: Any, confidence: float, *, human: bool, created: datetime, size: tuple[int, int]
    ) -> dict[str, Any]:
        """{<LAN>: ..., <LAN>-metadata: ...} for one labeled object."""
        metadata: dict[str, Any]
        if self.boxes:
            annotations = self._pixels(label, size)
            value: Any = {"image_size": [{"width": size[0], "height": size[1], "depth": 3}], "annotations": annotations}
            metadata = {
                "objects": [{"confidence": round(float(confidence), 2)} for _ in annotations],
                "class-map": {str(i): name for i, name in enumerate(self.labels)},
            }
        else:
            value = int(label)
            metadata = {"confidence": round(float(confidence), 2), "class-name": self.labels[int(label)]}
        metadata.update(
            {
                "type": self.output_type,
                "human-annotated": "yes" if human else "no",
                "creation-date": creation_date(created),
                "job-name": f"labeling-job/{self.job_name}",
            }
        )
        return {self.label_attribute: value, f"{self.label_attribute}-metadata": metadata}

    def answer(self, answer: Any, size: tuple[int, int]) -> dict[str, Any]:
        """A worker's answerContent, as the crowd element submits it."""
        key = _ANSWER_KEYS[self.algorithm]
        if self.boxes:
            boxes = [
                {"height": b["height"], "label": self.labels[b["class_id"]], "left": b["left"], "top": b["top"],
                 "width": b["width"]}
                for b in self._pixels(answer, size)
            ]  # fmt: skip
            return {key: {"boundingBoxes": boxes, "inputImageProperties": {"height": size[1], "width": size[0]}}}
        return {key: {"label": self.labels[int(answer)]}}
