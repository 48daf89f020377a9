"""Ground Truth's automated data labeling, as AWS documents it, over the synthetic world.

`ActiveLearningRun.iterations()` yields one `Iteration` at a time so the emulator can spread a job over
emulated time, stop it, or fail it between iterations. The schedule, from
https://docs.aws.amazon.com/sagemaker/latest/dg/sms-automated-labeling.html and AWS's example notebooks:

- fewer than 1,250 objects, or no LabelingJobAlgorithmsConfig: humans label everything, in batches of
  MaxConcurrentTaskCount; no model.
- cold start: a probe of 10, a training batch of MaxConcurrentTaskCount - 10, the validation set (20% of
  the objects below 5,000, 10% above), all to humans; then repeat: train, auto-label the unlabeled
  objects whose confidence clears the threshold that meets the target on the validation set, send up to
  MaxConcurrentTaskCount of the rest (least confident first) to humans, until nothing is left.
- warm start (an initial model): the probe and the validation set only; the initial model is fine-tuned
  on this job's human labels before every auto-labeling pass.

An object whose human tasks expire fails: it is never labeled later in the job. "If more than 10% of these
data objects fail, the labeling job will fail" (the same page, of the first sample sent to humans): the
run raises `ProbeFailedError` after the probe.
"""

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import numpy as np

from local.groundtruth.formats import SECONDS_PER_TASK, ClassLabel, MaskLabel, PixelBoxes
from local.groundtruth.learner import (
    IOU_TARGET,
    SEGMENTATION_TARGET,
    BoxLabels,
    Classifier,
    Detector,
    Segmenter,
    Training,
    first_argmax,
    mask_iou,
    upsample,
)
from local.groundtruth.workers import (
    Assignments,
    Crowd,
    TaskLimits,
    classify,
    collect,
    crowd_for,
    draw_boxes,
    paint_masks,
)
from local.groundtruth.world import (
    BoxObjects,
    ClassificationWorld,
    ClassObjects,
    DetectionWorld,
    FloatArray,
    IntArray,
    SegmentationWorld,
    SegmentObjects,
    patch_fractions,
)

AUTO_LABELING_MIN_OBJECTS = 1_250
PROBE_SIZE = 10
PROBE_FAILURE_LIMIT = 0.10
LARGE_DATASET = 5_000
ACCURACY_TARGET = 0.95
# The threshold must be backed by at least this many validation objects.
MIN_VALIDATION_SUPPORT = 10
DEFAULT_TIME_LIMIT = 300.0
DEFAULT_AVAILABILITY = 21_600.0
DEFAULT_WORKTEAM = "arn:aws:sagemaker:us-east-1:394669845002:workteam/public-crowd/default"

Model = Classifier | Detector | Segmenter
IterationKind = Literal["probe", "training", "validation", "active-learning", "human"]
Objects = ClassObjects | BoxObjects | SegmentObjects


class ProbeFailedError(Exception):
    """More than 10% of the first batch sent to humans failed: the job fails."""


def validation_size(objects: int) -> int:
    return math.ceil(objects * (0.2 if objects < LARGE_DATASET else 0.1))


def choose_threshold(confidence: np.ndarray, correctness: np.ndarray, target: float) -> float:
    """The lowest confidence at which the validation objects at or above it still meet the target on
    average (accuracy, or mean IoU). +inf when no such threshold exists."""
    if len(confidence) == 0:
        return math.inf
    order = np.argsort(-confidence, kind="stable")
    running = np.cumsum(correctness[order]) / np.arange(1, len(order) + 1)
    support = min(MIN_VALIDATION_SUPPORT, len(order))
    meets = np.nonzero(running[support - 1 :] >= target)[0]
    if len(meets) == 0:
        return math.inf
    return float(confidence[order][meets[-1] + support - 1])


@dataclass
class HumanBatch:
    """The objects of a batch that humans labeled (their tasks all answered in time)."""

    index: IntArray  # the objects, by their line in the input manifest
    answers: list[list[Any]]  # per object, every worker's answer (for the worker-response files)
    labels: list[Any]  # what the model trains on: a class index, (boxes, classes), or a mask's patch shares
    shown: list[Any]  # what the output shows: ClassLabel, PixelBoxes or MaskLabel
    assignments: Assignments  # who answered, when


@dataclass
class FailedBatch:
    """The objects of a batch whose tasks expired."""

    index: IntArray
    retries: IntArray  # times each object's tasks went back to the pool


@dataclass
class MachineBatch:
    index: IntArray
    labels: list[Any]
    confidence: FloatArray
    shown: list[Any]


@dataclass
class Prediction:
    labels: list[Any]
    confidence: FloatArray
    shown: list[Any]


@dataclass
class Iteration:
    number: int
    kind: IterationKind
    human: HumanBatch | None = None
    failed: FailedBatch | None = None
    machine: MachineBatch | None = None
    training: Training | None = None
    model: Model | None = None  # trained (or fine-tuned) at the start of this iteration
    threshold: float | None = None
    human_seconds: float = 0.0  # from posting the batch until its last answer (or its tasks expired)


@dataclass(frozen=True)
class SegmentLabel:
    """A semantic segmentation label: the mask, and the share of each class in each of its patches."""

    mask: np.ndarray
    fractions: FloatArray


class TaskKit(Protocol):
    """What differs between task types: the world, the workers, the model and the target."""

    labels: tuple[str, ...]
    target: float
    seconds_per_task: float

    def observe(self, identities: list[str]) -> Any: ...

    def human(
        self, objects: Any, index: IntArray, assignments: Assignments, crowd: Crowd, rng: np.random.Generator
    ) -> HumanBatch: ...

    def new_model(self, objects: Any, index: IntArray) -> Model: ...

    def training_labels(self, stored: list[Any], index: IntArray) -> Any: ...

    def predict(self, model: Model, objects: Any, index: IntArray) -> Prediction: ...

    def correctness(self, model: Model, objects: Any, index: IntArray, stored: list[Any]) -> FloatArray: ...


class ClassificationKit:
    target = ACCURACY_TARGET

    def __init__(self, labels: tuple[str, ...], algorithm: str = "image-classification") -> None:
        self.labels = labels
        self.world = ClassificationWorld(labels)
        self.seconds_per_task = SECONDS_PER_TASK[algorithm]

    def observe(self, identities: list[str]) -> ClassObjects:
        return self.world.observe(identities)

    def human(
        self, objects: ClassObjects, index: IntArray, assignments: Assignments, crowd: Crowd,
        rng: np.random.Generator,
    ) -> HumanBatch:  # fmt: skip
        answers = classify(objects, index, assignments, crowd, len(self.labels), rng)
        labels = [int(v) for v in answers.labels]
        shown = [ClassLabel(label, float(c)) for label, c in zip(labels, answers.confidence, strict=True)]
        return HumanBatch(index, [[int(a) for a in row] for row in answers.answers], labels, shown, assignments)

    def new_model(self, objects: ClassObjects, index: IntArray) -> Classifier:
        return Classifier.untrained(len(self.labels), objects.features[index])

    def training_labels(self, stored: list[Any], index: IntArray) -> IntArray:
        return np.array([stored[i] for i in index], dtype=np.int64)

    def predict(self, model: Model, objects: ClassObjects, index: IntArray) -> Prediction:
        assert isinstance(model, Classifier)
        labels, confidence = model.predict(objects.features[index])
        # The model's own probability, rounded as the output rounds a human label's confidence.
        shown = [ClassLabel(int(v), round(float(c), 2)) for v, c in zip(labels, confidence, strict=True)]
        return Prediction([int(v) for v in labels], confidence, shown)

    def correctness(self, model: Model, objects: ClassObjects, index: IntArray, stored: list[Any]) -> FloatArray:
        assert isinstance(model, Classifier)
        return model.correctness(objects.features[index], self.training_labels(stored, index))


def _size(objects: BoxObjects | SegmentObjects, i: int) -> tuple[int, int]:
    return int(objects.image_sizes[i][0]), int(objects.image_sizes[i][1])


class DetectionKit:
    target = IOU_TARGET
    seconds_per_task = SECONDS_PER_TASK["object-detection"]

    def __init__(self, labels: tuple[str, ...]) -> None:
        self.labels = labels
        self.world = DetectionWorld(labels)

    def observe(self, identities: list[str]) -> BoxObjects:
        return self.world.observe(identities)

    def human(
        self, objects: BoxObjects, index: IntArray, assignments: Assignments, crowd: Crowd,
        rng: np.random.Generator,
    ) -> HumanBatch:  # fmt: skip
        answers = draw_boxes(objects, index, assignments, crowd, rng)
        labels = [
            (merged.fractions(_size(objects, int(i))), np.array(merged.classes, dtype=np.int64))
            for merged, i in zip(answers.consolidated, index, strict=True)
        ]
        return HumanBatch(index, [list(row) for row in answers.answers], labels, answers.consolidated, assignments)

    def new_model(self, objects: BoxObjects, index: IntArray) -> Detector:
        return Detector.untrained(len(self.labels), objects.features[index])

    def training_labels(self, stored: list[Any], index: IntArray) -> BoxLabels:
        return BoxLabels.pack([stored[i] for i in index])

    def predict(self, model: Model, objects: BoxObjects, index: IntArray) -> Prediction:
        assert isinstance(model, Detector)
        predicted = model.predict(objects.features[index])
        labels, shown = [], []
        for row, i in enumerate(index):
            boxes, classes = predicted.of(row)
            labels.append((boxes, classes))
            width, height = _size(objects, int(i))
            # The model's boxes in whole pixels (an assumption: no real auto-labeled box output is public),
            # each with the object's confidence.
            pixels = [(round(b[0] * width), round(b[1] * height), max(1, round(b[2] * width)),
                       max(1, round(b[3] * height))) for b in boxes.tolist()]  # fmt: skip
            confidence = round(float(predicted.confidence[row]), 2)
            shown.append(PixelBoxes(pixels, [int(c) for c in classes], [confidence] * len(pixels)))
        return Prediction(labels, predicted.confidence, shown)

    def correctness(self, model: Model, objects: BoxObjects, index: IntArray, stored: list[Any]) -> FloatArray:
        assert isinstance(model, Detector)
        return model.correctness(objects.features[index], self.training_labels(stored, index))


class SegmentationKit:
    target = SEGMENTATION_TARGET
    seconds_per_task = SECONDS_PER_TASK["semantic-segmentation"]

    def __init__(self, labels: tuple[str, ...]) -> None:
        self.labels = labels
        self.classes = len(labels) + 1
        self.world = SegmentationWorld(labels)

    def observe(self, identities: list[str]) -> SegmentObjects:
        return self.world.observe(identities)

    def human(
        self, objects: SegmentObjects, index: IntArray, assignments: Assignments, crowd: Crowd,
        rng: np.random.Generator,
    ) -> HumanBatch:  # fmt: skip
        answers = paint_masks(objects, index, assignments, crowd, self.classes, rng)
        labels = [SegmentLabel(mask, patch_fractions(mask, self.classes)) for mask in answers.masks]
        shown = [MaskLabel(mask, float(c)) for mask, c in zip(answers.masks, answers.confidence, strict=True)]
        return HumanBatch(index, [list(row) for row in answers.answers], labels, shown, assignments)

    def new_model(self, objects: SegmentObjects, index: IntArray) -> Segmenter:
        return Segmenter.untrained(self.classes, objects.features[index])

    def training_labels(self, stored: list[Any], index: IntArray) -> FloatArray:
        if not len(index):
            return np.zeros((0, 1, self.classes))
        return np.stack([stored[i].fractions for i in index])

    def _masks(self, probabilities: FloatArray, objects: SegmentObjects, index: IntArray) -> list[np.ndarray]:
        return [first_argmax(upsample(p, _size(objects, int(i)))) for p, i in zip(probabilities, index, strict=True)]

    def predict(self, model: Model, objects: SegmentObjects, index: IntArray) -> Prediction:
        """Masks are drawn lazily: only for the objects the model ends up labeling (see `materialize`)."""
        assert isinstance(model, Segmenter)
        probabilities = model.probabilities(objects.features[index])
        confidence = model.confidence(probabilities)
        return Prediction(list(probabilities), confidence, [None] * len(index))

    def materialize(self, prediction: Prediction, objects: SegmentObjects, index: IntArray) -> Prediction:
        masks = self._masks(np.array(prediction.labels), objects, index)
        labels = [SegmentLabel(mask, patch_fractions(mask, self.classes)) for mask in masks]
        # One confidence per image, for every class (sms-data-output.html), from the model.
        shown = [MaskLabel(mask, round(float(c), 5)) for mask, c in zip(masks, prediction.confidence, strict=True)]
        return Prediction(labels, prediction.confidence, shown)

    def correctness(self, model: Model, objects: SegmentObjects, index: IntArray, stored: list[Any]) -> FloatArray:
        """Each image's mean IoU over its classes, background excluded, against the human mask."""
        assert isinstance(model, Segmenter)
        masks = self._masks(model.probabilities(objects.features[index]), objects, index)
        return np.array([mask_iou(mask, stored[i].mask) for mask, i in zip(masks, index, strict=True)])


ALGORITHM_KITS: dict[str, Callable[[tuple[str, ...]], TaskKit]] = {
    "object-detection": DetectionKit,
    "image-classification": ClassificationKit,
    "text-classification": lambda labels: ClassificationKit(labels, "text-classification"),
    "semantic-segmentation": SegmentationKit,
}


@dataclass(frozen=True)
class RunConfig:
    workers: int
    max_concurrent: int
    auto_labeling: bool  # the job has a LabelingJobAlgorithmsConfig
    initial_model: Model | None
    seed: int
    time_limit: float = DEFAULT_TIME_LIMIT  # TaskTimeLimitInSeconds
    availability: float = DEFAULT_AVAILABILITY  # TaskAvailabilityLifetimeInSeconds
    crowd: Crowd = field(default_factory=lambda: crowd_for(DEFAULT_WORKTEAM, "us-east-1"))


UNLABELED, HUMAN, MACHINE, FAILED = 0, 1, 2, 3


class ActiveLearningRun:
    """One labeling job's labeling, iteration by iteration. `stored`, `labeled_by` and `final_model` hold
    the outcome so far (all of it once `iterations()` is exhausted)."""

    def __init__(self, kit: TaskKit, identities: list[str], config: RunConfig) -> None:
        self.kit = kit
        self.config = config
        self.objects = kit.observe(identities)
        self.count = len(identities)
        self.rng = np.random.default_rng(config.seed)
        self.stored: list[Any] = [None] * self.count
        self.labeled_by = np.zeros(self.count, dtype=np.int8)  # UNLABELED, HUMAN, MACHINE or FAILED
        self.training_index: list[int] = []
        self.validation_index = np.array([], dtype=np.int64)
        self.final_model: Model | None = None
        self.auto = config.auto_labeling and self.count >= AUTO_LABELING_MIN_OBJECTS
        self.limits = TaskLimits(config.workers, config.time_limit, config.availability, kit.seconds_per_task)
        self.crowd = config.crowd.engaged(self.rng)

    def _human(self, number: int, kind: IterationKind, index: IntArray, training: bool) -> Iteration:
        assignments = collect(self.objects.difficulty[index], self.limits, self.crowd, self.rng)
        complete = assignments.complete
        labeled = index[complete]
        batch = self.kit.human(self.objects, labeled, assignments.subset(complete), self.crowd, self.rng)
        for row, i in enumerate(labeled):
            self.stored[i] = batch.labels[row]
        self.labeled_by[labeled] = HUMAN
        self.labeled_by[index[~complete]] = FAILED
        if training:
            self.training_index.extend(int(i) for i in labeled)
        failed = FailedBatch(index[~complete], assignments.returned[~complete]) if (~complete).any() else None
        return Iteration(number, kind, human=batch, failed=failed, human_seconds=assignments.duration)

    def iterations(self) -> Iterator[Iteration]:
        order = self.rng.permutation(self.count)
        size = self.config.max_concurrent
        number = 0
        if not self.auto:
            for start in range(0, self.count, size):
                number += 1
                yield self._human(number, "human", order[start : start + size], training=False)
            return
        validation = validation_size(self.count)
        warm = self.config.initial_model is not None
        position = min(PROBE_SIZE, self.count)
        number += 1
        probe = self._human(number, "probe", order[:position], training=True)
        yield probe
        if probe.failed is not None and len(probe.failed.index) > PROBE_FAILURE_LIMIT * position:
            raise ProbeFailedError(
                f"ClientError: {len(probe.failed.index)} of the {position} data objects first sent to workers "
                "failed (more than 10%); check the task availability lifetime and time limit"
            )
        if not warm:
            batch = max(0, min(size - PROBE_SIZE, self.count - position - validation))
            if batch:
                number += 1
                yield self._human(number, "training", order[position : position + batch], training=True)
                position += batch
        chosen = order[position : position + validation]
        for start in range(0, len(chosen), size):
            number += 1
            yield self._human(number, "validation", chosen[start : start + size], training=False)
        self.validation_index = chosen[self.labeled_by[chosen] == HUMAN]
        while (unlabeled := np.nonzero(self.labeled_by == UNLABELED)[0]).size:
            number += 1
            yield self._active_learning(number, unlabeled, warm)

    def _train(self, warm: bool) -> tuple[Model, Training]:
        """From scratch on this job's human labels, or the initial model fine-tuned on them."""
        kit, initial, objects = self.kit, self.config.initial_model, self.objects
        train = np.array(self.training_index, dtype=np.int64)
        model = type(initial).from_arrays(initial.to_arrays()) if warm and initial else kit.new_model(objects, train)
        features = objects.features
        validation = (features[self.validation_index], kit.training_labels(self.stored, self.validation_index))
        labels = kit.training_labels(self.stored, train)
        training = model.fit(features[train], labels, validation, self.rng, fine_tune=warm)
        return model, training

    def _active_learning(self, number: int, unlabeled: IntArray, warm: bool) -> Iteration:
        kit = self.kit
        model, training = self._train(warm)
        self.final_model = model
        threshold = choose_threshold(
            kit.predict(model, self.objects, self.validation_index).confidence,
            kit.correctness(model, self.objects, self.validation_index, self.stored),
            kit.target,
        )
        prediction = kit.predict(model, self.objects, unlabeled)
        take = prediction.confidence >= threshold
        taken = unlabeled[take]
        chosen = Prediction(
            [label for label, t in zip(prediction.labels, take, strict=True) if t],
            prediction.confidence[take],
            [shown for shown, t in zip(prediction.shown, take, strict=True) if t],
        )
        if isinstance(kit, SegmentationKit):
            chosen = kit.materialize(chosen, self.objects, taken)
        machine = MachineBatch(taken, chosen.labels, chosen.confidence, chosen.shown)
        for row, i in enumerate(machine.index):
            self.stored[i] = machine.labels[row]
        self.labeled_by[machine.index] = MACHINE
        # Active learning: the objects the model is least sure of go to humans, and train the next model.
        rest = unlabeled[~take][np.argsort(prediction.confidence[~take], kind="stable")][: self.config.max_concurrent]
        iteration = (
            self._human(number, "active-learning", rest, training=True)
            if rest.size
            else Iteration(number, "active-learning")
        )
        iteration.machine = machine
        iteration.training = training
        iteration.model = model
        iteration.threshold = threshold
        return iteration
