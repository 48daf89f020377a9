"""Emulated human workers and the consolidation Ground Truth's built-in ACS Lambdas apply to their answers.

Workers are good but not perfect, and worse on difficult objects: a classifier worker picks a wrong
label, a box worker misses a bird, draws a loose box or adds a stray one. Each object gets the job's
NumberOfHumanWorkersPerDataObject answers; consolidation takes the majority label (classification) or
clusters boxes by IoU and keeps those most workers drew (boxes).
"""

from dataclasses import dataclass

import numpy as np

from local.groundtruth.learner import BoxLabels
from local.groundtruth.world import BoxObjects, ClassObjects, FloatArray, IntArray

# Chance a worker gets an object right at difficulty 0 and 1 (linear in between).
CLASS_ACCURACY = (0.995, 0.80)
BOX_RECALL = (0.99, 0.90)
# Box corners move by this fraction of the box's size (standard deviation), at difficulty 0 and 1.
BOX_JITTER = (0.02, 0.05)
STRAY_BOX_RATE = 0.02
CLUSTER_IOU = 0.5


def _at(bounds: tuple[float, float], difficulty: float) -> float:
    return bounds[0] + (bounds[1] - bounds[0]) * difficulty


@dataclass(frozen=True)
class ClassAnswers:
    answers: IntArray  # (n, workers) label index per worker
    labels: IntArray  # (n,) consolidated
    confidence: FloatArray  # (n,) share of workers who agree with the consolidated label


def classify(
    objects: ClassObjects, index: IntArray, workers: int, classes: int, rng: np.random.Generator
) -> ClassAnswers:
    answers = np.empty((len(index), workers), dtype=np.int64)
    for row, i in enumerate(index):
        truth = int(objects.labels[i])
        accuracy = _at(CLASS_ACCURACY, float(objects.difficulty[i]))
        for w in range(workers):
            if rng.random() < accuracy or classes == 1:
                answers[row, w] = truth
            else:
                answers[row, w] = (truth + 1 + rng.integers(classes - 1)) % classes
    votes = np.zeros((len(index), classes))
    for w in range(workers):
        votes[np.arange(len(index)), answers[:, w]] += 1
    # Ties go to the label the first worker chose among the tied ones (stable and worker-order based).
    labels = np.empty(len(index), dtype=np.int64)
    for row in range(len(index)):
        best = votes[row].max()
        labels[row] = next(int(a) for a in answers[row] if votes[row, a] == best)
    return ClassAnswers(answers, labels, votes.max(axis=1) / workers)


@dataclass(frozen=True)
class BoxAnswers:
    answers: list[list[tuple[FloatArray, IntArray]]]  # per object, per worker: boxes (m, 4), classes (m,)
    consolidated: BoxLabels


def _draw(objects: BoxObjects, i: int, rng: np.random.Generator) -> tuple[FloatArray, IntArray]:
    difficulty = float(objects.difficulty[i])
    boxes, classes = [], []
    for k in range(objects.counts[i]):
        if rng.random() > _at(BOX_RECALL, difficulty):
            continue
        left, top, w, h = objects.boxes[i, k]
        jitter = _at(BOX_JITTER, difficulty)
        x0, x1 = left + rng.normal(scale=jitter * w, size=2) + (0, w)
        y0, y1 = top + rng.normal(scale=jitter * h, size=2) + (0, h)
        x0, x1 = sorted((float(np.clip(x0, 0, 1)), float(np.clip(x1, 0, 1))))
        y0, y1 = sorted((float(np.clip(y0, 0, 1)), float(np.clip(y1, 0, 1))))
        if x1 - x0 > 0.005 and y1 - y0 > 0.005:
            boxes.append((x0, y0, x1 - x0, y1 - y0))
            classes.append(int(objects.classes[i, k]))
    if rng.random() < STRAY_BOX_RATE * (1 + difficulty):
        w, h = rng.uniform(0.05, 0.3, size=2)
        boxes.append((float(rng.uniform(0, 1 - w)), float(rng.uniform(0, 1 - h)), float(w), float(h)))
        classes.append(int(rng.integers(objects.classes.max() + 1)))
    return np.array(boxes, dtype=np.float64).reshape(-1, 4), np.array(classes, dtype=np.int64)


def _iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    width = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    height = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    if width <= 0 or height <= 0:
        return 0.0
    inter = width * height
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


def _mean_box(members: list[tuple[float, ...]]) -> tuple[float, ...]:
    return tuple(sum(m[k] for m in members) / len(members) for k in range(4))


def consolidate_boxes(answers: list[tuple[FloatArray, IntArray]]) -> tuple[FloatArray, IntArray, float]:
    """Cluster every worker's boxes by IoU, keep the clusters a majority of workers drew, average them.

    Returns the boxes (left to right), their classes, and a confidence: the kept clusters' mean share
    of workers times their members' mean IoU with the averaged box."""
    workers = len(answers)
    clusters: list[list[tuple[float, ...]]] = []
    cluster_classes: list[list[int]] = []
    for boxes, classes in answers:
        for box, cls in zip(boxes.tolist(), classes.tolist(), strict=True):
            scores = [_iou(tuple(box), _mean_box(cluster)) for cluster in clusters]
            best = max(range(len(scores)), key=scores.__getitem__, default=None)
            if best is None or scores[best] < CLUSTER_IOU:
                clusters.append([tuple(box)])
                cluster_classes.append([cls])
            else:
                clusters[best].append(tuple(box))
                cluster_classes[best].append(cls)
    kept: list[tuple[tuple[float, ...], int, float]] = []
    for members, member_classes in zip(clusters, cluster_classes, strict=True):
        if workers > 1 and len(members) * 2 <= workers:
            continue
        centre = _mean_box(members)
        agreement = sum(_iou(m, centre) for m in members) / len(members)
        label = max(set(member_classes), key=lambda c: (member_classes.count(c), -c))
        kept.append((centre, label, min(1.0, len(members) / workers) * agreement))
    kept.sort(key=lambda item: item[0][0])
    boxes_out = np.array([k[0] for k in kept], dtype=np.float64).reshape(-1, 4)
    classes_out = np.array([k[1] for k in kept], dtype=np.int64)
    return boxes_out, classes_out, float(np.mean([k[2] for k in kept])) if kept else 0.0


def draw_boxes(objects: BoxObjects, index: IntArray, workers: int, rng: np.random.Generator) -> BoxAnswers:
    answers = [[_draw(objects, int(i), rng) for _ in range(workers)] for i in index]
    consolidated = [consolidate_boxes(per_object) for per_object in answers]
    return BoxAnswers(
        answers, BoxLabels.pack([(c[0], c[1]) for c in consolidated], np.array([c[2] for c in consolidated]))
    )
