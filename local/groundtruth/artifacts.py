"""A trained auto-labeling model as Ground Truth leaves it: model.tar.gz in S3 (here: the weights as .npy
arrays plus a model.json describing them), registered as a SageMaker model whose ARN carries it forward."""

import io
import json
import tarfile
from dataclasses import dataclass
from typing import Any

import numpy as np

from local.groundtruth.learner import Classifier, Detector, Segmenter

Model = Classifier | Detector | Segmenter
_KINDS: dict[str, type[Classifier] | type[Detector] | type[Segmenter]] = {
    "classification": Classifier,
    "object-detection": Detector,
    "semantic-segmentation": Segmenter,
}


class ModelMismatchError(ValueError):
    """The initial model was trained for another task type or label set."""


@dataclass(frozen=True)
class ModelInfo:
    algorithm: str  # the labeling job algorithm: object-detection, image-classification, ...
    labels: tuple[str, ...]
    training_samples: int
    labeling_job: str
    iteration: int


def pack(model: Model, info: ModelInfo) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        members: dict[str, bytes] = {}
        for name, array in model.to_arrays().items():
            npy = io.BytesIO()
            np.save(npy, array, allow_pickle=False)
            members[f"{name}.npy"] = npy.getvalue()
        description = {
            "kind": model.algorithm,
            "algorithm": info.algorithm,
            "labels": list(info.labels),
            "trainingSamples": info.training_samples,
            "labelingJob": info.labeling_job,
            "iteration": info.iteration,
        }
        members["model.json"] = json.dumps(description, indent=2).encode()
        for name, data in sorted(members.items()):
            entry = tarfile.TarInfo(name)
            entry.size = len(data)
            archive.addfile(entry, io.BytesIO(data))
    return buffer.getvalue()


def unpack(data: bytes, *, algorithm: str, labels: tuple[str, ...]) -> tuple[Model, dict[str, Any]]:
    """Read a model.tar.gz back; refuse one trained for another algorithm or another label set."""
    arrays: dict[str, np.ndarray] = {}
    description: dict[str, Any] = {}
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        for member in archive.getmembers():
            extracted = archive.extractfile(member)
            if extracted is None:
                continue
            content = extracted.read()
            if member.name == "model.json":
                description = json.loads(content)
            elif member.name.endswith(".npy"):
                arrays[member.name.removesuffix(".npy")] = np.load(io.BytesIO(content), allow_pickle=False)
    if description.get("algorithm") != algorithm:
        raise ModelMismatchError(
            f"the initial model was trained by {description.get('algorithm')!r}, this job uses {algorithm!r}"
        )
    if tuple(description.get("labels", ())) != labels:
        raise ModelMismatchError(
            f"the initial model knows the labels {description.get('labels')}, this job's are {list(labels)}"
        )
    return _KINDS[description["kind"]].from_arrays(arrays), description
