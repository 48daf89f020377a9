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
"""

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import numpy as np

from local.groundtruth.learner import IOU_TARGET, BoxLabels, Classifier, Detector, Training
from local.groundtruth.workers import BoxAnswers, ClassAnswers, classify, draw_boxes
from local.groundtruth.world import BoxObjects, ClassificationWorld, ClassObjects, DetectionWorld, FloatArray, IntArray

AUTO_LABELING_MIN_OBJECTS = 1_250
PROBE_SIZE = 10
LARGE_DATASET = 5_000
ACCURACY_TARGET = 0.95
# The threshold must be backed by at least this many validation objects.
MIN_VALIDATION_SUPPORT = 10

Model = Classifier | Detector
IterationKind = Literal["probe", "training", "validation", "active-learning", "human"]


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
    index: IntArray  # the objects, by their line in the input manifest
    answers: ClassAnswers | BoxAnswers  # every worker's answer, for the worker-response files
    labels: list[Any]  # consolidated label per object: a class index, or (boxes, classes)
    confidence: FloatArray


@dataclass
class MachineBatch:
    index: IntArray
    labels: list[Any]
    confidence: FloatArray


@dataclass
class Prediction:
    labels: list[Any]
    confidence: FloatArray


@dataclass
class Iteration:
    number: int
    kind: IterationKind
    human: HumanBatch | None = None
    machine: MachineBatch | None = None
    training: Training | None = None
    model: Model | None = None  # trained (or fine-tuned) at the start of this iteration
    threshold: float | None = None


class TaskKit(Protocol):
    """What differs between task types: the world, the workers, the model and the target."""

    labels: tuple[str, ...]
    target: float

    def observe(self, identities: list[str]) -> ClassObjects | BoxObjects: ...

    def human(self, objects: Any, index: IntArray, workers: int, rng: np.random.Generator) -> HumanBatch: ...

    def new_model(self, features: FloatArray) -> Model: ...

    def training_labels(self, stored: list[Any], index: IntArray) -> Any: ...

    def predict(self, model: Model, features: FloatArray) -> Prediction: ...


class ClassificationKit:
    target = ACCURACY_TARGET

    def __init__(self, labels: tuple[str, ...]) -> None:
        self.labels = labels
        self.world = ClassificationWorld(labels)

    def observe(self, identities: list[str]) -> ClassObjects:
        return self.world.observe(identities)

    def human(self, objects: ClassObjects, index: IntArray, workers: int, rng: np.random.Generator) -> HumanBatch:
        answers = classify(objects, index, workers, len(self.labels), rng)
        return HumanBatch(index, answers, [int(v) for v in answers.labels], answers.confidence)

    def new_model(self, features: FloatArray) -> Classifier:
        return Classifier.untrained(len(self.labels), features)

    def training_labels(self, stored: list[Any], index: IntArray) -> IntArray:
        return np.array([stored[i] for i in index], dtype=np.int64)

    def predict(self, model: Model, features: FloatArray) -> Prediction:
        assert isinstance(model, Classifier)
        labels, confidence = model.predict(features)
        return Prediction([int(v) for v in labels], confidence)


class DetectionKit:
    target = IOU_TARGET

    def __init__(self, labels: tuple[str, ...]) -> None:
        self.labels = labels
        self.world = DetectionWorld(labels)

    def observe(self, identities: list[str]) -> BoxObjects:
        return self.world.observe(identities)

    def human(self, objects: BoxObjects, index: IntArray, workers: int, rng: np.random.Generator) -> HumanBatch:
        answers = draw_boxes(objects, index, workers, rng)
        merged = answers.consolidated
        return HumanBatch(index, answers, [merged.of(row) for row in range(len(index))], merged.confidence)

    def new_model(self, features: FloatArray) -> Detector:
        return Detector.untrained(len(self.labels), features)

    def training_labels(self, stored: list[Any], index: IntArray) -> BoxLabels:
        return BoxLabels.pack([stored[i] for i in index])

    def predict(self, model: Model, features: FloatArray) -> Prediction:
        assert isinstance(model, Detector)
        predicted = model.predict(features)
        return Prediction([predicted.of(i) for i in range(len(predicted))], predicted.confidence)


ALGORITHM_KITS: dict[str, Callable[[tuple[str, ...]], TaskKit]] = {
    "object-detection": DetectionKit,
    "image-classification": ClassificationKit,
    "text-classification": ClassificationKit,
}


@dataclass(frozen=True)
class RunConfig:
    workers: int
    max_concurrent: int
    auto_labeling: bool  # the job has a LabelingJobAlgorithmsConfig
    initial_model: Model | None
    seed: int


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
        self.labeled_by = np.zeros(self.count, dtype=np.int8)  # 0 unlabeled, 1 human, 2 machine
        self.training_index: list[int] = []
        self.validation_index = np.array([], dtype=np.int64)
        self.final_model: Model | None = None
        self.auto = config.auto_labeling and self.count >= AUTO_LABELING_MIN_OBJECTS

    @property
    def features(self) -> FloatArray:
        return self.objects.features

    def _human(self, number: int, kind: IterationKind, index: IntArray, training: bool) -> Iteration:
        batch = self.kit.human(self.objects, index, self.config.workers, self.rng)
        for row, i in enumerate(index):
            self.stored[i] = batch.labels[row]
        self.labeled_by[index] = 1
        if training:
            self.training_index.extend(int(i) for i in index)
        return Iteration(number, kind, human=batch)

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
        yield self._human(number, "probe", order[:position], training=True)
        if not warm:
            batch = max(0, min(size - PROBE_SIZE, self.count - position - validation))
            if batch:
                number += 1
                yield self._human(number, "training", order[position : position + batch], training=True)
                position += batch
        self.validation_index = order[position : position + validation]
        for start in range(0, len(self.validation_index), size):
            number += 1
            yield self._human(number, "validation", self.validation_index[start : start + size], training=False)
        while (unlabeled := np.nonzero(self.labeled_by == 0)[0]).size:
            number += 1
            yield self._active_learning(number, unlabeled, warm)

    def _train(self, warm: bool) -> tuple[Model, Training]:
        """From scratch on this job's human labels, or the initial model fine-tuned on them."""
        kit, initial = self.kit, self.config.initial_model
        train = np.array(self.training_index, dtype=np.int64)
        model = (
            type(initial).from_arrays(initial.to_arrays()) if warm and initial else kit.new_model(self.features[train])
        )
        validation = (self.features[self.validation_index], kit.training_labels(self.stored, self.validation_index))
        labels = kit.training_labels(self.stored, train)
        training = model.fit(self.features[train], labels, validation, self.rng, fine_tune=warm)
        return model, training

    def _active_learning(self, number: int, unlabeled: IntArray, warm: bool) -> Iteration:
        kit = self.kit
        model, training = self._train(warm)
        self.final_model = model
        validation_labels = kit.training_labels(self.stored, self.validation_index)
        validation_features = self.features[self.validation_index]
        threshold = choose_threshold(
            kit.predict(model, validation_features).confidence,
            model.correctness(validation_features, validation_labels),
            kit.target,
        )
        prediction = kit.predict(model, self.features[unlabeled])
        take = prediction.confidence >= threshold
        machine = MachineBatch(
            unlabeled[take],
            [label for label, taken in zip(prediction.labels, take, strict=True) if taken],
            prediction.confidence[take],
        )
        for row, i in enumerate(machine.index):
            self.stored[i] = machine.labels[row]
        self.labeled_by[machine.index] = 2
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
