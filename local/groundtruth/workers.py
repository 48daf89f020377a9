"""Emulated human workers, how their tasks get done (or expire), and the consolidation Ground Truth's
built-in ACS Lambdas apply to their answers.

The crowd. A workteam is a pool of workers with their own identity, care and pace: the public workforce is
large, and about a hundred of its workers take up a given job, some of them many of its tasks (in the real
302-object job in aws/amazon-sagemaker-examples,
prepare_data/sm-ground_truth_annotation_consolidation_image_classification, 97 workers gave 1,510 answers,
the busiest 80); a private team is small, and all of it works on the job.

Tasks. A batch's tasks are posted at once and the crowd works through them. A worker who sees a task may
skip it, the more likely the harder the object; a worker who takes longer than TaskTimeLimitInSeconds loses
the task, which goes back to the pool; an object whose answers are not all in before
TaskAvailabilityLifetimeInSeconds has run out fails ("Annotation tasks expired"). Both limits come from the
job's HumanTaskConfig (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_HumanTaskConfig.html).

Consolidation, as https://docs.aws.amazon.com/sagemaker/latest/dg/sms-annotation-consolidation.html
describes it:
- classification: a variant of expectation maximisation that estimates each worker's accuracy and infers
  each object's class by Bayes (here the one-coin Dawid-Skene model); the confidence is the posterior,
  never above 0.95 (the real job above: 297 of its 302 labels at 0.95, the rest 0.60-0.94, none at 1.0);
- bounding boxes: the most similar boxes of different workers (by IoU) are averaged, in pixels, so the
  coordinates are fractional wherever the workers' whole-pixel boxes do not average to a whole number
  (like the real job in aws/amazon-sagemaker-examples archived/pytorch_yolov5_training_and_hpo/
  sample_output.manifest: "top":164.60000000000002);
- semantic segmentation: each pixel is a vote among the workers' classes, smoothed with the pixels around it.
With a single worker per object the confidence is 0.00
(https://docs.aws.amazon.com/sagemaker/latest/dg/sms-data-output.html, "Confidence Score").
"""

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from local.groundtruth.formats import PixelBoxes
from local.groundtruth.learner import first_argmax
from local.groundtruth.world import BoxObjects, ClassObjects, FloatArray, IntArray, SegmentObjects, paint, rng_for

# Chance a worker of typical care gets an object right at difficulty 0 and 1 (linear in between).
CLASS_ACCURACY = (0.995, 0.80)
BOX_RECALL = (0.99, 0.90)
# Box corners move by this fraction of the box's size (standard deviation), at difficulty 0 and 1.
BOX_JITTER = (0.02, 0.05)
STRAY_BOX_RATE = 0.02
CLUSTER_IOU = 0.5
# Segmentation: an outline's centre and radii move by this fraction of the object's radius.
MASK_JITTER = (0.03, 0.10)
MASK_RECALL = (0.998, 0.97)
MASK_CONFUSION = 0.03  # chance of painting an object in another class (difficulty 1, typical care)
# Ground Truth's classification confidence never exceeds this (see the module docstring).
CLASS_CONFIDENCE_CAP = 0.95
# Expectation maximisation: a worker's accuracy starts from this prior (as if 4 right in 5).
_PRIOR_RIGHT, _PRIOR_WRONG = 4.0, 1.0
_EM_ROUNDS = 25

# The crowd.
PUBLIC_CROWD = 400
PUBLIC_ENGAGED = 100  # public workers who take up one job's tasks
PRIVATE_TEAM = 25
VENDOR_TEAM = 60
WORKER_CARE_SPREAD = 0.5  # log-normal spread of a worker's error multiplier (median 1)
WORKER_PACE_SPREAD = 0.3
# Timing: the crowd notices a new batch after TASK_PICKUP, works on this many tasks at once, and a task at the
# front of the queue is looked at every LOOK_INTERVAL. A worker takes it, unless the object is among the
# hardest: past SKIP_FROM difficulty the chance to take it falls to exp(-SKIP_GAIN) at difficulty 1, so the
# few hardest objects wait for hours and some expire.
TASK_PICKUP_SECONDS = 600.0
CONCURRENT_WORKERS = 20
LOOK_INTERVAL_SECONDS = 20.0
SKIP_FROM = 0.88
SKIP_GAIN = 12.0
WORK_SPREAD = 0.35  # log-normal spread of a worker's time on one task
_B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789"
_CROWD_SEED = "gtchain-local-crowd-1"

BoolArray = npt.NDArray[np.bool_]
UInt8Array = npt.NDArray[np.uint8]


def _at(bounds: tuple[float, float], difficulty: float) -> float:
    return bounds[0] + (bounds[1] - bounds[0]) * difficulty


# ---- the crowd and its tasks -------------------------------------------------------------------------


@dataclass(frozen=True)
class Crowd:
    kind: str  # public | private | vendor
    ids: tuple[str, ...]
    care: FloatArray  # multiplies a worker's error rates and jitter (median 1: lower is more careful)
    pace: FloatArray  # multiplies a worker's time per task
    cumulative: FloatArray  # running share of the tasks each worker picks up
    metadata: tuple[dict[str, Any] | None, ...]  # workerMetadata: private workforces only

    def engaged(self, rng: np.random.Generator) -> "Crowd":
        """The workers who take up one job's tasks, busiest first: a public crowd's PUBLIC_ENGAGED (picked at
        random), a team's whole team."""
        size = min(len(self.ids), PUBLIC_ENGAGED) if self.kind == "public" else len(self.ids)
        chosen = np.sort(rng.choice(len(self.ids), size=size, replace=False))
        share = 1.0 / (np.arange(size) + 5.0) ** 0.8
        return Crowd(self.kind, tuple(self.ids[i] for i in chosen), self.care[chosen], self.pace[chosen],
                     np.cumsum(share), tuple(self.metadata[i] for i in chosen))  # fmt: skip

    def pick(self, rng: np.random.Generator, exclude: set[int]) -> int:
        while True:
            worker = int(np.searchsorted(self.cumulative, rng.random() * self.cumulative[-1], side="right"))
            worker = min(worker, len(self.ids) - 1)
            if worker not in exclude or len(exclude) >= len(self.ids):
                return worker


def crowd_for(workteam_arn: str, region: str) -> Crowd:
    """The workers behind a workteam: the same workteam has the same workers in every job.

    workerId shapes: a public worker's is public.<region>.<26 base-32 characters> (every worker of the real
    job above); a private worker's is private.<region>.<17 characters>, as in the consolidation request
    example of https://docs.aws.amazon.com/sagemaker/latest/dg/sms-custom-templates-step3-lambda-requirements.html,
    and only private workers carry workerMetadata (its Cognito identityData as on sms-data-output.html).
    A vendor's worker ids are not documented: the emulator gives them the private shape without metadata."""
    kind = "public" if ":workteam/public-crowd/" in workteam_arn else (
        "private" if ":workteam/private-crowd/" in workteam_arn else "vendor")  # fmt: skip
    size = {"public": PUBLIC_CROWD, "private": PRIVATE_TEAM, "vendor": VENDOR_TEAM}[kind]
    rng = rng_for(_CROWD_SEED, workteam_arn)
    ids: list[str] = []
    metadata: list[dict[str, Any] | None] = []
    pool = f"{region}_{''.join(rng.choice(list(_ALNUM.upper() + '0123456789'), size=9))}"
    for _ in range(size):
        if kind == "public":
            ids.append(f"public.{region}.{''.join(rng.choice(list(_B32), size=26))}")
            metadata.append(None)
        else:
            ids.append(f"private.{region}.{''.join(rng.choice(list(_ALNUM), size=17))}")
            sub = "-".join("".join(rng.choice(list("0123456789abcdef"), size=n)) for n in (8, 4, 4, 4, 12))
            metadata.append(
                {"identityData": {"identityProviderType": "Cognito",
                                  "issuer": f"https://cognito-idp.{region}.amazonaws.com/{pool}", "sub": sub}}
                if kind == "private" else None
            )  # fmt: skip
    care = np.exp(rng.normal(scale=WORKER_CARE_SPREAD, size=size))
    pace = np.exp(rng.normal(scale=WORKER_PACE_SPREAD, size=size))
    return Crowd(kind, tuple(ids), care, pace, np.cumsum(np.ones(size)), tuple(metadata))


@dataclass(frozen=True)
class TaskLimits:
    """From the request's HumanTaskConfig, and the task type's typical time per task."""

    workers: int  # NumberOfHumanWorkersPerDataObject
    time_limit: float  # TaskTimeLimitInSeconds
    availability: float  # TaskAvailabilityLifetimeInSeconds
    seconds_per_task: float


@dataclass(frozen=True)
class Assignments:
    """Who took each object's tasks and when, in seconds after the batch was posted. A slot whose answer
    never came has worker -1 and NaN times."""

    workers: IntArray  # (n, workers)
    accepted: FloatArray  # (n, workers)
    spent: FloatArray  # (n, workers)
    returned: IntArray  # (n,) times one of the object's tasks went back to the pool
    availability: float

    @property
    def complete(self) -> BoolArray:
        return np.asarray((self.workers >= 0).all(axis=1), dtype=np.bool_)

    @property
    def submitted(self) -> FloatArray:
        result: FloatArray = self.accepted + self.spent
        return result

    @property
    def duration(self) -> float:
        """Seconds until the batch is done: its last answer, or the availability lifetime when a task expired."""
        last = float(np.nanmax(self.submitted)) if (self.workers >= 0).any() else 0.0
        return max(last, self.availability) if not self.complete.all() else last

    def subset(self, rows: BoolArray | IntArray) -> "Assignments":
        return Assignments(
            self.workers[rows], self.accepted[rows], self.spent[rows], self.returned[rows], self.availability
        )


def accept_probability(difficulty: float) -> float:
    """The chance that a worker who sees the task takes it."""
    return math.exp(-SKIP_GAIN * max(0.0, difficulty - SKIP_FROM) / (1.0 - SKIP_FROM))


def collect(difficulty: FloatArray, limits: TaskLimits, crowd: Crowd, rng: np.random.Generator) -> Assignments:
    """Play out a batch: each object's NumberOfHumanWorkersPerDataObject tasks, taken by distinct workers."""
    n, slots = len(difficulty), limits.workers
    workers = np.full((n, slots), -1, dtype=np.int64)
    accepted = np.full((n, slots), np.nan)
    spent = np.full((n, slots), np.nan)
    returned = np.zeros(n, dtype=np.int64)
    # The queue: every task reaches the front once the crowd has worked through the ones before it.
    front = TASK_PICKUP_SECONDS + rng.permutation(n * slots).reshape(n, slots) * (
        limits.seconds_per_task / CONCURRENT_WORKERS
    )
    for i in range(n):
        h = float(difficulty[i])
        interval = LOOK_INTERVAL_SECONDS / accept_probability(h)
        used: set[int] = set()
        for slot in range(slots):
            moment = float(front[i, slot])
            while True:
                moment += float(rng.exponential(interval))
                if moment >= limits.availability:
                    break  # expired: nobody took the task in time
                worker = crowd.pick(rng, used)
                seconds = limits.seconds_per_task * (1 + h) * float(crowd.pace[worker])
                seconds *= float(np.exp(rng.normal(scale=WORK_SPREAD)))
                if seconds > limits.time_limit:
                    moment += limits.time_limit  # the worker ran out of time: the task goes back to the pool
                    returned[i] += 1
                    continue
                used.add(worker)
                workers[i, slot], accepted[i, slot], spent[i, slot] = worker, moment, round(seconds, 3)
                break
    return Assignments(workers, accepted, spent, returned, limits.availability)


# ---- classification ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClassAnswers:
    answers: IntArray  # (n, workers) label index per worker
    labels: IntArray  # (n,) consolidated
    confidence: FloatArray  # (n,) posterior of the consolidated label, capped; 0.0 with one worker


def classify(
    objects: ClassObjects, index: IntArray, assignments: Assignments, crowd: Crowd, classes: int,
    rng: np.random.Generator,
) -> ClassAnswers:  # fmt: skip
    answers = np.empty(assignments.workers.shape, dtype=np.int64)
    for row, i in enumerate(index):
        truth = int(objects.labels[i])
        error = 1.0 - _at(CLASS_ACCURACY, float(objects.difficulty[i]))
        for slot, worker in enumerate(assignments.workers[row]):
            accuracy = max(1.0 / classes, 1.0 - error * float(crowd.care[worker]))
            if classes == 1 or rng.random() < accuracy:
                answers[row, slot] = truth
            else:
                answers[row, slot] = (truth + 1 + rng.integers(classes - 1)) % classes
    labels, confidence = consolidate_classes(answers, assignments.workers, classes)
    return ClassAnswers(answers, labels, confidence)


def consolidate_classes(answers: IntArray, workers: IntArray, classes: int) -> tuple[IntArray, FloatArray]:
    """One-coin Dawid-Skene over a batch: each worker has an accuracy (errors spread evenly over the other
    classes); alternate the objects' class posteriors and the workers' accuracies. Returns each object's most
    probable class and its posterior, capped at CLASS_CONFIDENCE_CAP and rounded to 2 decimals."""
    n, slots = answers.shape
    if n == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    rows = np.repeat(np.arange(n), slots)
    given = answers.reshape(-1)
    ids, who = np.unique(workers.reshape(-1), return_inverse=True)
    votes = np.zeros((n, classes))
    np.add.at(votes, (rows, given), 1.0)
    posterior = votes / slots
    for _ in range(_EM_ROUNDS):
        right = np.bincount(who, weights=posterior[rows, given], minlength=len(ids))
        seen = np.bincount(who, minlength=len(ids))
        accuracy = np.clip((right + _PRIOR_RIGHT) / (seen + _PRIOR_RIGHT + _PRIOR_WRONG), 1e-3, 1 - 1e-3)
        prior = (posterior.sum(axis=0) + 1.0) / (n + classes)
        wrong = np.log((1 - accuracy) / max(classes - 1, 1))
        log_posterior = np.tile(np.log(prior), (n, 1))
        np.add.at(log_posterior, rows, wrong[who][:, None] * np.ones(classes))
        np.add.at(log_posterior, (rows, given), np.log(accuracy[who]) - wrong[who])
        log_posterior -= log_posterior.max(axis=1, keepdims=True)
        posterior = np.exp(log_posterior)
        posterior /= posterior.sum(axis=1, keepdims=True)
    labels = posterior.argmax(axis=1)
    if slots == 1:
        return labels, np.zeros(n)
    return labels, np.round(np.minimum(posterior.max(axis=1), CLASS_CONFIDENCE_CAP), 2)


# ---- bounding boxes ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BoxAnswers:
    answers: list[list[PixelBoxes]]  # per object, per worker (whole pixels; confidence unused)
    consolidated: list[PixelBoxes]


def _whole(value: float) -> float:
    """A whole-number average is written as an int, as the real output does ("height":859)."""
    return int(value) if float(value).is_integer() else value


def _draw(objects: BoxObjects, i: int, care: float, rng: np.random.Generator) -> PixelBoxes:
    """One worker's boxes, in whole pixels as the crowd-bounding-box element returns them."""
    difficulty = float(objects.difficulty[i])
    width, height = (int(v) for v in objects.image_sizes[i])
    boxes: list[tuple[float, float, float, float]] = []
    classes: list[int] = []

    def add(x0: float, y0: float, x1: float, y1: float, cls: int) -> None:
        left, right = sorted((round(float(np.clip(x0, 0, 1)) * width), round(float(np.clip(x1, 0, 1)) * width)))
        top, bottom = sorted((round(float(np.clip(y0, 0, 1)) * height), round(float(np.clip(y1, 0, 1)) * height)))
        if right - left >= 2 and bottom - top >= 2:
            boxes.append((left, top, right - left, bottom - top))
            classes.append(cls)

    miss = (1.0 - _at(BOX_RECALL, difficulty)) * care
    for k in range(objects.counts[i]):
        if rng.random() < miss:
            continue
        left, top, w, h = objects.boxes[i, k]
        jitter = _at(BOX_JITTER, difficulty) * care
        x0, x1 = left + rng.normal(scale=jitter * w, size=2) + (0, w)
        y0, y1 = top + rng.normal(scale=jitter * h, size=2) + (0, h)
        add(float(x0), float(y0), float(x1), float(y1), int(objects.classes[i, k]))
    if rng.random() < STRAY_BOX_RATE * (1 + difficulty) * care:
        w, h = rng.uniform(0.05, 0.3, size=2)
        x0, y0 = float(rng.uniform(0, 1 - w)), float(rng.uniform(0, 1 - h))
        add(x0, y0, x0 + float(w), y0 + float(h), int(rng.integers(objects.classes.max() + 1)))
    return PixelBoxes(boxes, classes, [0.0] * len(boxes))


def _iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    width = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    height = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    if width <= 0 or height <= 0:
        return 0.0
    inter = width * height
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


def _average(members: list[tuple[float, ...]]) -> tuple[float, float, float, float]:
    """The members' mean left and top edges, and right and bottom edges: width and height follow from them."""
    count = len(members)
    left = sum(m[0] for m in members) / count
    top = sum(m[1] for m in members) / count
    right = sum(m[0] + m[2] for m in members) / count
    bottom = sum(m[1] + m[3] for m in members) / count
    return left, top, right - left, bottom - top


def consolidate_boxes(answers: list[PixelBoxes]) -> PixelBoxes:
    """Cluster every worker's boxes by IoU, keep the clusters a majority of workers drew, average each.

    A box's confidence is the share of workers who drew it times its members' mean IoU with the average,
    rounded to 2 decimals; 0.0 with a single worker."""
    workers = len(answers)
    clusters: list[list[tuple[float, ...]]] = []
    cluster_classes: list[list[int]] = []
    cluster_workers: list[set[int]] = []
    for worker, answer in enumerate(answers):
        for box, cls in zip(answer.boxes, answer.classes, strict=True):
            # A cluster holds at most one box per worker: the most similar boxes of *different* workers.
            scores = [
                _iou(tuple(box), _average(cluster)) if worker not in drew else -1.0
                for cluster, drew in zip(clusters, cluster_workers, strict=True)
            ]
            best = max(range(len(scores)), key=scores.__getitem__, default=None)
            if best is None or scores[best] < CLUSTER_IOU:
                clusters.append([tuple(box)])
                cluster_classes.append([cls])
                cluster_workers.append({worker})
            else:
                clusters[best].append(tuple(box))
                cluster_classes[best].append(cls)
                cluster_workers[best].add(worker)
    kept: list[tuple[tuple[float, float, float, float], int, float]] = []
    for members, member_classes in zip(clusters, cluster_classes, strict=True):
        if workers > 1 and len(members) * 2 <= workers:
            continue
        centre = _average(members)
        agreement = sum(_iou(m, centre) for m in members) / len(members)
        label = max(set(member_classes), key=lambda c: (member_classes.count(c), -c))
        confidence = 0.0 if workers == 1 else round(len(members) / workers * agreement, 2)
        kept.append((centre, label, confidence))
    kept.sort(key=lambda item: item[0][0])
    return PixelBoxes(
        [(_whole(b[0]), _whole(b[1]), _whole(b[2]), _whole(b[3])) for b, _, _ in kept],
        [k[1] for k in kept],
        [k[2] for k in kept],
    )


def draw_boxes(
    objects: BoxObjects, index: IntArray, assignments: Assignments, crowd: Crowd, rng: np.random.Generator
) -> BoxAnswers:
    answers = [
        [_draw(objects, int(i), float(crowd.care[worker]), rng) for worker in assignments.workers[row]]
        for row, i in enumerate(index)
    ]
    return BoxAnswers(answers, [consolidate_boxes(per_object) for per_object in answers])


# ---- semantic segmentation -----------------------------------------------------------------------------


@dataclass(frozen=True)
class MaskAnswers:
    answers: list[list[UInt8Array]]  # per object, per worker: (H, W) class indices
    masks: list[UInt8Array]  # consolidated
    confidence: FloatArray  # (n,) one per image (the same for every class)


def _paint_answer(objects: SegmentObjects, i: int, care: float, classes: int, rng: np.random.Generator) -> UInt8Array:
    difficulty = float(objects.difficulty[i])
    width, height = (int(v) for v in objects.image_sizes[i])
    shapes, painted = [], []
    jitter = _at(MASK_JITTER, difficulty) * care
    for k in range(objects.counts[i]):
        if rng.random() < (1.0 - _at(MASK_RECALL, difficulty)) * care:
            continue
        cx, cy, rx, ry = objects.shapes[i, k]
        cx, cy = cx + rng.normal(scale=jitter * rx), cy + rng.normal(scale=jitter * ry)
        rx, ry = rx * (1 + rng.normal(scale=jitter)), ry * (1 + rng.normal(scale=jitter))
        cls = int(objects.classes[i, k])
        if classes > 2 and rng.random() < MASK_CONFUSION * difficulty * care:
            cls = 1 + int((cls + rng.integers(classes - 2)) % (classes - 1))
        shapes.append((cx, cy, max(rx, 0.01), max(ry, 0.01)))
        painted.append(cls)
    return paint(width, height, np.array(shapes).reshape(-1, 4), np.array(painted, dtype=np.int64))


def _smooth(votes: IntArray) -> IntArray:
    """Each pixel's votes plus its eight neighbours' (a 3 x 3 box filter, edges repeated)."""
    padded = np.pad(votes, ((0, 0), (1, 1), (1, 1)), mode="edge")
    height, width = votes.shape[1:]
    rows = padded[:, 0:height] + padded[:, 1 : height + 1] + padded[:, 2 : height + 2]
    result: IntArray = rows[:, :, 0:width] + rows[:, :, 1 : width + 1] + rows[:, :, 2 : width + 2]
    return result


def consolidate_masks(answers: list[UInt8Array], classes: int) -> tuple[UInt8Array, float]:
    """Per-pixel votes among the workers' classes, smoothed over each pixel's neighbours; the winning class
    per pixel. The image's confidence: the winning classes' mean share of the smoothed
    votes over the pixels any worker painted, rounded to 5 decimals; 0.0 with a single worker."""
    stack = np.stack(answers)
    votes = np.stack([(stack == c).sum(axis=0, dtype=np.int32) for c in range(classes)])
    smoothed = _smooth(votes)
    # The most voted class; on a tie between background and objects, the objects' most voted class.
    objects = first_argmax(smoothed[1:]) + 1
    mask = np.where(np.take_along_axis(smoothed, objects[None].astype(np.int64), 0)[0] >= smoothed[0], objects, 0)
    mask = mask.astype(np.uint8)
    if len(answers) == 1:
        return mask, 0.0
    painted = (stack > 0).any(axis=0)
    share = smoothed.max(axis=0) / (9.0 * len(answers))
    confidence = float(share[painted].mean()) if painted.any() else float(share.mean())
    return mask, round(confidence, 5)


def paint_masks(
    objects: SegmentObjects, index: IntArray, assignments: Assignments, crowd: Crowd, classes: int,
    rng: np.random.Generator,
) -> MaskAnswers:  # fmt: skip
    answers = [
        [_paint_answer(objects, int(i), float(crowd.care[w]), classes, rng) for w in assignments.workers[row]]
        for row, i in enumerate(index)
    ]
    merged = [consolidate_masks(per_object, classes) for per_object in answers]
    return MaskAnswers(answers, [m[0] for m in merged], np.array([m[1] for m in merged], dtype=np.float64))
