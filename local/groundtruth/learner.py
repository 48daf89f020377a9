"""The auto-labeling models: linear models in numpy, trained with mini-batch Adam, saved as plain arrays.

`Classifier` is multinomial logistic regression (image and text classification). `Detector` has three
linear heads over the same features (how many boxes, where they are, each box's class), and judges per
object whether its boxes are likely to reach the target IoU (see `Detector._confidence`). `Segmenter`
classifies each patch of an image (softmax regression on the patch's features, trained on the share of each
class in the patch's pixels) and draws the mask by interpolating the patch probabilities to every pixel.
All report a validation metric per epoch (what the training logs print), give a confidence per object, and
round-trip through `to_arrays`/`from_arrays` (the arrays are what model.tar.gz holds).
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from local.groundtruth.world import GRID, MAX_BOXES, FloatArray, IntArray

EPOCHS_FROM_SCRATCH = 30
EPOCHS_FINE_TUNE = 15
BATCH_SIZE = 64
LEARNING_RATE = 0.02
L2 = 1e-4
# Logistic regression with as many weights as objects saturates to certainty without a stronger penalty,
# and an overconfident model cannot rank its own mistakes below its right answers.
CLASSIFIER_L2 = 3e-2
# Fine-tuning pulls towards the initial model's weights as if they had been learned from this many
# objects: a probe of ten labels nudges the model; hundreds of new labels can move it.
PRIOR_SAMPLES = 300
FINE_TUNE_RATE = LEARNING_RATE / 2
IOU_MATCH = 0.5  # a predicted box counts as a hit at IoU 0.5 (the mAP the training logs report)
IOU_TARGET = 0.6  # Ground Truth's target for boxes: mean IoU 0.6
# Semantic segmentation: the auto-labeled images' mean IoU over their classes, background excluded, is 0.7
# (https://docs.aws.amazon.com/sagemaker/latest/dg/sms-automated-labeling.html, "Accuracy of Automated Labels").
SEGMENTATION_TARGET = 0.7
SEGMENTER_IMAGES_PER_BATCH = 8
# A patch counts towards an image's confidence when the model gives its objects at least this probability.
ACTIVE_PATCH = 0.2
# Box labels are padded to this many boxes per object (workers may draw a stray box or two).
PAD = MAX_BOXES + 2
# The detector regresses centre, width and height as (value - offset) * scale.
_BOX_OFFSET = np.array([0.5, 0.5, 0.3, 0.3])
_BOX_SCALE = 4.0
DECODER_MIN_SAMPLES_PER_OUTPUT = 4
TYPICAL_BOX = 0.3  # a box side of this fraction of the image scales the expected error to about 1

Gradient = Callable[[FloatArray, IntArray], FloatArray]


def _with_bias(x: FloatArray) -> FloatArray:
    return np.hstack([x, np.ones((len(x), 1))])


def _softmax(logits: FloatArray) -> FloatArray:
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    result: FloatArray = shifted / shifted.sum(axis=-1, keepdims=True)
    return result


def _one_hot(values: IntArray, width: int) -> FloatArray:
    out = np.zeros((len(values), width))
    out[np.arange(len(values)), values] = 1.0
    return out


@dataclass
class Training:
    """What one training run did; the training logs are written from it."""

    samples: int
    epochs: int
    validation: list[float] = field(default_factory=list)  # accuracy, mAP or mIOU after each epoch
    pixel_accuracy: list[float] = field(default_factory=list)  # semantic segmentation only


def _adam(
    weights: FloatArray,
    gradient: Gradient,
    n: int,
    epochs: int,
    rng: np.random.Generator,
    prior: FloatArray | None,
    after_epoch: Callable[[FloatArray], None],
    l2: float = L2,
    batch_size: int = BATCH_SIZE,
) -> FloatArray:
    """Mini-batch Adam with cosine decay over n objects. With a prior, the loss is a weighted mean of the
    data's and a pull towards the prior's weights, the prior counting as PRIOR_SAMPLES objects."""
    data_share = n / (n + PRIOR_SAMPLES) if prior is not None else 1.0
    learning_rate = FINE_TUNE_RATE if prior is not None else LEARNING_RATE
    m = np.zeros_like(weights)
    v = np.zeros_like(weights)
    step = 0
    total = epochs * -(-n // batch_size)
    for _ in range(epochs):
        order = rng.permutation(n)
        for start in range(0, n, batch_size):
            grad = data_share * gradient(weights, order[start : start + batch_size]) + l2 * weights
            if prior is not None:
                grad = grad + (1 - data_share) * (weights - prior)
            step += 1
            m = 0.9 * m + 0.1 * grad
            v = 0.999 * v + 0.001 * grad * grad
            # Cosine decay: large steps early, settling into the optimum by the last epoch.
            rate = learning_rate * 0.5 * (1 + np.cos(np.pi * (step - 1) / total))
            weights = weights - rate * (m / (1 - 0.9**step)) / (np.sqrt(v / (1 - 0.999**step)) + 1e-8)
        after_epoch(weights)
    return weights


class Classifier:
    """Multinomial logistic regression; an object's confidence is its winning class's probability."""

    algorithm = "classification"

    def __init__(self, mean: FloatArray, scale: FloatArray, weights: FloatArray) -> None:
        self.mean = mean
        self.scale = scale
        self.weights = weights  # (features + 1, classes)

    @property
    def classes(self) -> int:
        return int(self.weights.shape[1])

    @classmethod
    def untrained(cls, classes: int, features: FloatArray) -> "Classifier":
        mean, scale = features.mean(axis=0), features.std(axis=0) + 1e-9
        return cls(mean, scale, np.zeros((features.shape[1] + 1, classes)))

    def _inputs(self, features: FloatArray) -> FloatArray:
        return _with_bias((features - self.mean) / self.scale)

    def predict(self, features: FloatArray) -> tuple[IntArray, FloatArray]:
        probabilities = _softmax(self._inputs(features) @ self.weights)
        return probabilities.argmax(axis=1), probabilities.max(axis=1)

    def fit(
        self,
        features: FloatArray,
        labels: IntArray,
        validation: tuple[FloatArray, IntArray],
        rng: np.random.Generator,
        fine_tune: bool,
    ) -> Training:
        inputs = self._inputs(features)
        targets = _one_hot(labels, self.classes)
        val_inputs, val_labels = self._inputs(validation[0]), validation[1]
        epochs = EPOCHS_FINE_TUNE if fine_tune else EPOCHS_FROM_SCRATCH
        training = Training(samples=len(labels), epochs=epochs)

        def gradient(weights: FloatArray, rows: IntArray) -> FloatArray:
            x = inputs[rows]
            result: FloatArray = x.T @ (_softmax(x @ weights) - targets[rows]) / len(x)
            return result

        def record(weights: FloatArray) -> None:
            predicted = (val_inputs @ weights).argmax(axis=1)
            training.validation.append(float((predicted == val_labels).mean()) if len(val_labels) else 0.0)

        prior = self.weights.copy() if fine_tune else None
        self.weights = _adam(self.weights, gradient, len(labels), epochs, rng, prior, record, CLASSIFIER_L2)
        return training

    def correctness(self, features: FloatArray, labels: IntArray) -> FloatArray:
        """1 where the model agrees with the (human) label: what the 95% accuracy target is measured on."""
        predicted, _ = self.predict(features)
        result: FloatArray = (predicted == labels).astype(np.float64)
        return result

    def to_arrays(self) -> dict[str, FloatArray]:
        return {"mean": self.mean, "scale": self.scale, "weights": self.weights}

    @classmethod
    def from_arrays(cls, arrays: dict[str, FloatArray]) -> "Classifier":
        return cls(arrays["mean"], arrays["scale"], arrays["weights"])


@dataclass(frozen=True)
class BoxLabels:
    """Boxes of n objects, padded: boxes (n, PAD, 4) as left, top, width, height image fractions,
    classes (n, PAD), counts (n,) and a confidence per object."""

    boxes: FloatArray
    classes: IntArray
    counts: IntArray
    confidence: FloatArray

    @classmethod
    def pack(cls, per_object: list[tuple[FloatArray, IntArray]], confidence: FloatArray | None = None) -> "BoxLabels":
        n = len(per_object)
        boxes = np.zeros((n, PAD, 4))
        classes = np.zeros((n, PAD), dtype=np.int64)
        counts = np.zeros(n, dtype=np.int64)
        for i, (object_boxes, object_classes) in enumerate(per_object):
            m = min(len(object_boxes), PAD)
            boxes[i, :m] = object_boxes[:m]
            classes[i, :m] = object_classes[:m]
            counts[i] = m
        return cls(boxes, classes, counts, np.ones(n) if confidence is None else confidence)

    def __len__(self) -> int:
        return len(self.counts)

    def of(self, i: int) -> tuple[FloatArray, IntArray]:
        return self.boxes[i, : self.counts[i]], self.classes[i, : self.counts[i]]


def pairwise_iou(a: FloatArray, b: FloatArray) -> FloatArray:
    """IoU of every box in a (..., m, 4) with every box in b (..., k, 4) -> (..., m, k)."""
    a, b = a[..., :, None, :], b[..., None, :, :]
    width = np.minimum(a[..., 0] + a[..., 2], b[..., 0] + b[..., 2]) - np.maximum(a[..., 0], b[..., 0])
    height = np.minimum(a[..., 1] + a[..., 3], b[..., 1] + b[..., 3]) - np.maximum(a[..., 1], b[..., 1])
    inter = np.clip(width, 0, None) * np.clip(height, 0, None)
    union = a[..., 2] * a[..., 3] + b[..., 2] * b[..., 3] - inter
    result: FloatArray = np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)
    return result


def matched_iou(predicted: BoxLabels, truth: BoxLabels, threshold: float = 0.0) -> FloatArray:
    """Greedy one-to-one matching per object, best IoU first, same class only: (n, PAD) IoU of each
    predicted box with its match (0 when unmatched)."""
    n = len(predicted)
    iou = pairwise_iou(predicted.boxes, truth.boxes)
    valid = (np.arange(PAD) < predicted.counts[:, None])[:, :, None] & (np.arange(PAD) < truth.counts[:, None])[
        :, None, :
    ]
    valid &= predicted.classes[:, :, None] == truth.classes[:, None, :]
    iou = np.where(valid, iou, -1.0)
    result = np.zeros((n, PAD))
    rows = np.arange(n)
    for _ in range(PAD):
        flat = iou.reshape(n, -1)
        best = flat.argmax(axis=1)
        value = flat[rows, best]
        ok = value > threshold
        if not ok.any():
            break
        r, c = np.divmod(best[ok], PAD)
        result[rows[ok], r] = value[ok]
        iou[rows[ok], r, :] = -1.0
        iou[rows[ok], :, c] = -1.0
        iou[~ok] = -1.0
    return result


def object_scores(predicted: BoxLabels, truth: BoxLabels) -> FloatArray:
    """Each object's IoU score: matched IoUs summed over max(boxes predicted, boxes true). A missed or
    extra box counts 0; no boxes on either side scores 1."""
    total = matched_iou(predicted, truth).sum(axis=1)
    denominator = np.maximum(predicted.counts, truth.counts)
    result: FloatArray = np.where(denominator > 0, total / np.maximum(denominator, 1), 1.0)
    return result


def average_precision(scores: FloatArray, hits: FloatArray, positives: int) -> float:
    """Area under the precision-recall curve with precision made monotone (VOC style)."""
    if positives == 0 or len(scores) == 0:
        return 0.0
    order = np.argsort(-scores, kind="stable")
    tp = np.cumsum(hits[order])
    precision = tp / np.arange(1, len(order) + 1)
    recall = tp / positives
    envelope = np.maximum.accumulate(precision[::-1])[::-1]
    previous = np.concatenate([[0.0], recall[:-1]])
    return float(np.sum((recall - previous) * envelope))


def mean_average_precision(predicted: BoxLabels, truth: BoxLabels, classes: int) -> float:
    """mAP at IoU 0.5 over the classes present; each predicted box is scored by its object's confidence."""
    hits = matched_iou(predicted, truth, IOU_MATCH) > 0
    mask = np.arange(PAD) < predicted.counts[:, None]
    truth_mask = np.arange(PAD) < truth.counts[:, None]
    scores = np.broadcast_to(predicted.confidence[:, None], mask.shape)
    precisions = []
    for cls in range(classes):
        positives = int((truth_mask & (truth.classes == cls)).sum())
        if positives:
            mine = mask & (predicted.classes == cls)
            precisions.append(average_precision(scores[mine], hits[mine].astype(np.float64), positives))
    return float(np.mean(precisions)) if precisions else 0.0


def _box_targets(labels: BoxLabels) -> tuple[IntArray, FloatArray, FloatArray, IntArray]:
    """Human boxes -> training targets: count index, slot geometry, slot mask, slot classes. Slots are
    ordered left to right, as many as the detector predicts."""
    n = len(labels)
    order = np.argsort(np.where(np.arange(PAD) < labels.counts[:, None], labels.boxes[:, :, 0], np.inf), axis=1)
    order = order[:, :MAX_BOXES]
    boxes = np.take_along_axis(labels.boxes, order[:, :, None], axis=1)
    classes = np.take_along_axis(labels.classes, order, axis=1)
    counts = np.clip(labels.counts, 1, MAX_BOXES)
    present = (np.arange(MAX_BOXES) < np.minimum(labels.counts, MAX_BOXES)[:, None]).astype(np.float64)
    centred = np.stack(
        [boxes[..., 0] + boxes[..., 2] / 2, boxes[..., 1] + boxes[..., 3] / 2, boxes[..., 2], boxes[..., 3]], axis=2
    )
    geometry = ((centred - _BOX_OFFSET) * _BOX_SCALE * present[:, :, None]).reshape(n, -1)
    mask = np.repeat(present, 4, axis=1)
    return counts - 1, geometry, mask, classes


def _decode_geometry(geometry: FloatArray) -> FloatArray:
    """(n, MAX_BOXES * 4) regressed geometry -> (n, MAX_BOXES, 4) boxes inside the image."""
    cx, cy, w, h = np.moveaxis(geometry.reshape(len(geometry), MAX_BOXES, 4) / _BOX_SCALE + _BOX_OFFSET, 2, 0)
    w, h = np.clip(w, 0.01, 1.0), np.clip(h, 0.01, 1.0)
    left, top = np.clip(cx - w / 2, 0.0, 1.0 - w), np.clip(cy - h / 2, 0.0, 1.0 - h)
    return np.stack([left, top, w, h], axis=2)


class Detector:
    """Linear heads for box count, box geometry and box classes, and a confidence per object."""

    algorithm = "object-detection"

    def __init__(
        self, mean: FloatArray, scale: FloatArray, weights: FloatArray, decoder: FloatArray, typical_residual: float
    ) -> None:
        self.mean = mean
        self.scale = scale
        self.weights = weights  # (features + 1, MAX_BOXES + 4 * MAX_BOXES + MAX_BOXES * classes)
        # Outputs -> standardised features, and the median squared residual of the training objects.
        self.decoder = decoder
        self.typical_residual = typical_residual

    @property
    def classes(self) -> int:
        return int((self.weights.shape[1] - 5 * MAX_BOXES) // MAX_BOXES)

    @classmethod
    def untrained(cls, classes: int, features: FloatArray) -> "Detector":
        mean, scale = features.mean(axis=0), features.std(axis=0) + 1e-9
        width = 5 * MAX_BOXES + MAX_BOXES * classes
        dim = features.shape[1]
        return cls(mean, scale, np.zeros((dim + 1, width)), np.zeros((width + 1, dim)), 0.0)

    def _inputs(self, features: FloatArray) -> FloatArray:
        return _with_bias((features - self.mean) / self.scale)

    def _heads(self, outputs: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        count_probs = _softmax(outputs[:, :MAX_BOXES])
        geometry = outputs[:, MAX_BOXES : 5 * MAX_BOXES]
        class_logits = outputs[:, 5 * MAX_BOXES :].reshape(len(outputs), MAX_BOXES, self.classes)
        return count_probs, geometry, class_logits

    def _boxes(self, outputs: FloatArray, confidence: FloatArray) -> BoxLabels:
        count_probs, geometry, class_logits = self._heads(outputs)
        n = len(outputs)
        boxes = np.zeros((n, PAD, 4))
        classes = np.zeros((n, PAD), dtype=np.int64)
        boxes[:, :MAX_BOXES] = _decode_geometry(geometry)
        classes[:, :MAX_BOXES] = class_logits.argmax(axis=2)
        return BoxLabels(boxes, classes, count_probs.argmax(axis=1) + 1, confidence)

    def _confidence(self, inputs: FloatArray, outputs: FloatArray) -> FloatArray:
        """Will this object's boxes reach the target IoU? The count head's certainty, discounted by the
        expected box error relative to box size: the residual of the features the predicted boxes do not
        explain measures the object's noise, and the same error costs a small box more IoU than a large one."""
        count_probs, geometry, _ = self._heads(outputs)
        residual = ((inputs[:, :-1] - _with_bias(outputs) @ self.decoder) ** 2).mean(axis=1)
        boxes = _decode_geometry(geometry)
        counts = count_probs.argmax(axis=1) + 1
        present = np.arange(MAX_BOXES) < counts[:, None]
        smallest = np.where(present, np.minimum(boxes[..., 2], boxes[..., 3]), np.inf).min(axis=1)
        error = np.sqrt(residual / max(self.typical_residual, 1e-12)) * TYPICAL_BOX / np.maximum(smallest, 0.02)
        result: FloatArray = count_probs.max(axis=1) / (1.0 + error**2)
        return result

    def predict(self, features: FloatArray) -> BoxLabels:
        inputs = self._inputs(features)
        outputs = inputs @ self.weights
        return self._boxes(outputs, self._confidence(inputs, outputs))

    def fit(
        self,
        features: FloatArray,
        labels: BoxLabels,
        validation: tuple[FloatArray, BoxLabels],
        rng: np.random.Generator,
        fine_tune: bool,
    ) -> Training:
        inputs = self._inputs(features)
        count_index, geometry, mask, slot_classes = _box_targets(labels)
        count_targets = _one_hot(count_index, MAX_BOXES)
        slot_present = mask[:, ::4]
        class_targets = np.zeros((len(labels), MAX_BOXES, self.classes))
        np.put_along_axis(class_targets, slot_classes[:, :, None], slot_present[:, :, None], axis=2)
        val_inputs = self._inputs(validation[0])
        epochs = EPOCHS_FINE_TUNE if fine_tune else EPOCHS_FROM_SCRATCH
        training = Training(samples=len(labels), epochs=epochs)

        def gradient(weights: FloatArray, rows: IntArray) -> FloatArray:
            x = inputs[rows]
            count_probs, predicted, class_logits = self._heads(x @ weights)
            d_class = (_softmax(class_logits) - class_targets[rows]) * slot_present[rows][:, :, None]
            d_out = np.hstack([count_probs - count_targets[rows], mask[rows] * (predicted - geometry[rows]),
                               d_class.reshape(len(x), -1)])  # fmt: skip
            result: FloatArray = x.T @ d_out / len(x)
            return result

        def record(weights: FloatArray) -> None:
            outputs = val_inputs @ weights
            predicted = self._boxes(outputs, self._heads(outputs)[0].max(axis=1))
            training.validation.append(mean_average_precision(predicted, validation[1], self.classes))

        prior = self.weights.copy() if fine_tune else None
        self.weights = _adam(self.weights, gradient, len(labels), epochs, rng, prior, record)
        self._fit_decoder(inputs)
        return training

    def _fit_decoder(self, inputs: FloatArray) -> None:
        """Least squares from outputs back to features: what the outputs cannot explain is noise. A handful
        of objects (a warm start's probe) cannot pin the decoder down: the initial model's is kept."""
        outputs = _with_bias(inputs @ self.weights)
        if len(inputs) < DECODER_MIN_SAMPLES_PER_OUTPUT * outputs.shape[1] and self.typical_residual > 0:
            return
        gram = outputs.T @ outputs + 1e-6 * np.eye(outputs.shape[1])
        self.decoder = np.asarray(np.linalg.solve(gram, outputs.T @ inputs[:, :-1]), dtype=np.float64)
        residual = ((inputs[:, :-1] - outputs @ self.decoder) ** 2).mean(axis=1)
        self.typical_residual = float(np.median(residual))

    def correctness(self, features: FloatArray, labels: BoxLabels) -> FloatArray:
        """Each object's IoU score against the (human) boxes: what the mean IoU target is measured on."""
        return object_scores(self.predict(features), labels)

    def to_arrays(self) -> dict[str, FloatArray]:
        return {"mean": self.mean, "scale": self.scale, "weights": self.weights, "decoder": self.decoder,
                "typical_residual": np.array([self.typical_residual])}  # fmt: skip

    @classmethod
    def from_arrays(cls, arrays: dict[str, FloatArray]) -> "Detector":
        return cls(arrays["mean"], arrays["scale"], arrays["weights"], arrays["decoder"],
                   float(arrays["typical_residual"][0]))  # fmt: skip


def upsample(probabilities: FloatArray, size: tuple[int, int]) -> FloatArray:
    """(patches, classes) probabilities on the GRID -> (classes, height, width), interpolated bilinearly
    between patch centres (held constant past the outer centres)."""
    columns, rows = GRID
    width, height = size

    def weights(cells: int, pixels: int) -> FloatArray:
        position = np.clip((np.arange(pixels) + 0.5) / pixels * cells - 0.5, 0, cells - 1)
        low = np.floor(position).astype(np.int64)
        high = np.minimum(low + 1, cells - 1)
        result = np.zeros((pixels, cells))
        result[np.arange(pixels), low] += 1 - (position - low)
        result[np.arange(pixels), high] += position - low
        return result

    grid = np.moveaxis(probabilities.reshape(rows, columns, -1), 2, 0)  # (classes, rows, columns)
    result: FloatArray = weights(rows, height) @ grid @ weights(columns, width).T
    return result


def first_argmax(scores: npt.NDArray[Any]) -> npt.NDArray[np.uint8]:
    """argmax over the first axis of a (classes, height, width) stack (ties to the lower class), as uint8:
    a loop over the few classes is much faster than numpy's strided argmax."""
    best = scores[0].copy()
    winner = np.zeros(best.shape, dtype=np.uint8)
    for cls in range(1, len(scores)):
        better = scores[cls] > best
        winner[better] = cls
        np.maximum(best, scores[cls], out=best)
    return winner


def mask_iou(predicted: npt.NDArray[np.uint8], truth: npt.NDArray[np.uint8]) -> float:
    """Mean IoU over the classes either mask shows, background excluded; 1.0 when neither shows any."""
    classes = (set(np.unique(predicted).tolist()) | set(np.unique(truth).tolist())) - {0}
    if not classes:
        return 1.0
    scores = []
    for cls in classes:
        mine, theirs = predicted == cls, truth == cls
        scores.append(float((mine & theirs).sum()) / float((mine | theirs).sum()))
    return float(np.mean(scores))


class Segmenter:
    """Softmax regression per patch on the patch, its neighbours and its image (see `context`), and a
    confidence per image (see `confidence`)."""

    algorithm = "semantic-segmentation"

    def __init__(self, mean: FloatArray, scale: FloatArray, weights: FloatArray) -> None:
        self.mean = mean
        self.scale = scale
        self.weights = weights  # (3 * features + 1, classes), classes including BACKGROUND

    @property
    def classes(self) -> int:
        return int(self.weights.shape[1])

    @staticmethod
    def context(features: FloatArray) -> FloatArray:
        """Each patch's features, its eight neighbours' mean (fewer at the edges) and its image's mean:
        (n, patches, 3 * features), float32. The image's mean lets a model discount what a whole image shares
        (its lighting); learning how takes many images."""
        n, patches, dim = features.shape
        columns, rows = GRID
        grid = features.reshape(n, rows, columns, dim).astype(np.float32, copy=False)
        padded = np.pad(grid, ((0, 0), (1, 1), (1, 1), (0, 0)))
        across = padded[:, :, :-2] + padded[:, :, 1:-1] + padded[:, :, 2:]
        block = across[:, :-2] + across[:, 1:-1] + across[:, 2:]  # 3 x 3 sums, the patch included
        ones = np.pad(np.ones((rows, columns), dtype=np.float32), 1)
        count = sum(ones[1 + dy : 1 + dy + rows, 1 + dx : 1 + dx + columns]
                    for dy in (-1, 0, 1) for dx in (-1, 0, 1)) - 1  # fmt: skip
        result = np.empty((n, patches, 3 * dim), dtype=np.float32)
        result[..., :dim] = grid.reshape(n, patches, dim)
        result[..., dim : 2 * dim] = ((block - grid) / np.asarray(count)[None, :, :, None]).reshape(n, patches, dim)
        result[..., 2 * dim :] = grid.mean(axis=(1, 2))[:, None, :]
        return result

    @classmethod
    def untrained(cls, classes: int, features: FloatArray) -> "Segmenter":
        rows = cls.context(features).reshape(-1, 3 * features.shape[-1])
        mean, scale = rows.mean(axis=0, dtype=np.float64), rows.std(axis=0, dtype=np.float64) + 1e-9
        return cls(mean, scale, np.zeros((rows.shape[1] + 1, classes)))

    def _inputs(self, features: FloatArray) -> FloatArray:
        """Standardised context features and a bias column, float32."""
        expanded = self.context(features)
        n, patches, dim = expanded.shape
        result = np.empty((n, patches, dim + 1), dtype=np.float32)
        np.subtract(expanded, self.mean.astype(np.float32), out=result[..., :dim])
        result[..., :dim] /= self.scale.astype(np.float32)
        result[..., dim] = 1.0
        return result

    def probabilities(self, features: FloatArray) -> FloatArray:
        """(n, patches, classes)."""
        return _softmax((self._inputs(features) @ self.weights.astype(np.float32)).astype(np.float64))

    def confidence(self, probabilities: FloatArray) -> FloatArray:
        """How sure the model is where it sees objects: the mean winning probability of the patches it gives
        at least ACTIVE_PATCH of object probability; 0 when no patch's most probable class is an object (its
        mask would show nothing)."""
        active = 1.0 - probabilities[..., 0] >= ACTIVE_PATCH
        winning = probabilities.max(axis=-1)
        counts = active.sum(axis=1)
        sees = (probabilities.argmax(axis=-1) > 0).any(axis=1)
        result: FloatArray = np.where(sees & (counts > 0), (winning * active).sum(axis=1) / np.maximum(counts, 1), 0.0)
        return result

    def fit(
        self,
        features: FloatArray,
        labels: FloatArray,
        validation: tuple[FloatArray, FloatArray],
        rng: np.random.Generator,
        fine_tune: bool,
    ) -> Training:
        """labels: (n, patches, classes), each patch's share of each class in the human mask."""
        inputs = self._inputs(features)
        val_inputs, val_targets = self._inputs(validation[0]), validation[1]
        epochs = EPOCHS_FINE_TUNE if fine_tune else EPOCHS_FROM_SCRATCH
        training = Training(samples=len(labels), epochs=epochs)

        targets = labels.astype(np.float32)
        val_truth = val_targets.argmax(axis=-1).reshape(-1) if len(val_targets) else np.zeros(0, dtype=np.int64)

        def gradient(weights: FloatArray, images: IntArray) -> FloatArray:
            x = inputs[images].reshape(-1, inputs.shape[-1])
            target = targets[images].reshape(-1, targets.shape[-1])
            error = _softmax(x @ weights.astype(np.float32)) - target
            result: FloatArray = (x.T @ error).astype(np.float64) / len(x)
            return result

        def record(weights: FloatArray) -> None:
            if not len(val_targets):
                training.validation.append(0.0)
                training.pixel_accuracy.append(0.0)
                return
            predicted = (val_inputs @ weights.astype(np.float32)).argmax(axis=-1).reshape(-1)
            truth = val_truth
            scores = [
                float(((predicted == c) & (truth == c)).sum()) / float(((predicted == c) | (truth == c)).sum())
                for c in range(1, self.classes)
                if ((predicted == c) | (truth == c)).any()
            ]
            training.validation.append(float(np.mean(scores)) if scores else 0.0)
            training.pixel_accuracy.append(float((predicted == truth).mean()))

        prior = self.weights.copy() if fine_tune else None
        self.weights = _adam(self.weights, gradient, len(labels), epochs, rng, prior, record, L2,
                             SEGMENTER_IMAGES_PER_BATCH)  # fmt: skip
        return training

    def to_arrays(self) -> dict[str, FloatArray]:
        return {"mean": self.mean, "scale": self.scale, "weights": self.weights}

    @classmethod
    def from_arrays(cls, arrays: dict[str, FloatArray]) -> "Segmenter":
        return cls(arrays["mean"], arrays["scale"], arrays["weights"])
