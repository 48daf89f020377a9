"""The synthetic world behind the emulated labeling jobs: what each data object truly shows, and what a
model can see of it.

No pixels are involved. An object's truth and its features come from a hash of its identity (the
`source-ref`, or the inline `source` of a text object), so the same object looks the same in every job.
Features are a fixed linear view of the truth (the "world" of a task type and label set) plus noise: for
boxes its scale is the object's difficulty; a difficult object to classify leans towards another class. The
emulated workers also err more on difficult objects. A model can only learn the world from labeled objects,
which is what makes auto-labeling fractions come out of the active-learning loop instead of being set.
"""

import hashlib
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

FEATURE_DIM = 128
MAX_BOXES = 3
# How many birds an image shows: most show one (Open Images' bird test images are similar).
BOX_COUNT_PRIOR = (0.55, 0.30, 0.15)
# Box coordinates enter the features with this gain: the higher, the easier boxes are to regress.
BOX_GAIN = 10.0
# The scale of the box features' view of the truth, against the noise: how much there is to learn.
VIEW_GAIN = 2.3
# Distance between class centres (classification).
CLASS_SEPARATION = 3.5
# How far towards another class a difficult object's features lean, and the noise around them.
CLASS_CONFUSION = 0.55
CLASS_NOISE = 0.7
# Difficulty h in [0, 1] ~ Beta(a, b); a box object's feature noise is NOISE_FLOOR + NOISE_SPAN * h.
DIFFICULTY_BETA = (1.6, 2.6)
NOISE_FLOOR = 0.15
NOISE_SPAN = 1.6
# These constants shape the world for every job alike; no job's machine fraction is set anywhere.
IMAGE_SIZES = ((640, 480), (800, 600), (1024, 768), (500, 375), (768, 1024), (1280, 853))
_WORLD_SEED = "gtchain-local-world-1"


def stable_seed(*parts: str) -> int:
    """A 64-bit seed from text, identical across processes and platforms (unlike hash())."""
    digest = hashlib.blake2b("\x1f".join(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def rng_for(*parts: str) -> np.random.Generator:
    return np.random.default_rng(stable_seed(*parts))


@dataclass(frozen=True)
class Observed:
    """What every task shares: the model's view (features) and how hard each object is."""

    features: FloatArray  # (n, FEATURE_DIM)
    difficulty: FloatArray  # (n,), in [0, 1]


@dataclass(frozen=True)
class ClassObjects(Observed):
    labels: IntArray  # (n,) the true class index


@dataclass(frozen=True)
class BoxObjects(Observed):
    counts: IntArray  # (n,) boxes per image, 1..MAX_BOXES
    boxes: FloatArray  # (n, MAX_BOXES, 4) left, top, width, height as image fractions; zero past counts
    classes: IntArray  # (n, MAX_BOXES) class index of each box
    image_sizes: IntArray  # (n, 2) width, height in pixels


def _difficulty(rng: np.random.Generator) -> float:
    return float(rng.beta(*DIFFICULTY_BETA))


def _noise(difficulty: float) -> float:
    return NOISE_FLOOR + NOISE_SPAN * difficulty


class ClassificationWorld:
    """Single-label classification: each class is a cloud of features around its own centre."""

    def __init__(self, labels: tuple[str, ...]) -> None:
        self.labels = labels
        rng = rng_for(_WORLD_SEED, "classification", *labels)
        centres = rng.normal(size=(len(labels), FEATURE_DIM))
        self.centres = CLASS_SEPARATION * centres / np.linalg.norm(centres, axis=1, keepdims=True)
        # Real label sets are imbalanced: a mild, fixed skew per label set.
        prior = np.exp(rng.normal(scale=0.35, size=len(labels)))
        self.prior = prior / prior.sum()

    def observe(self, identities: list[str]) -> ClassObjects:
        n = len(identities)
        features = np.empty((n, FEATURE_DIM))
        difficulty = np.empty(n)
        labels = np.empty(n, dtype=np.int64)
        classes = len(self.labels)
        for i, identity in enumerate(identities):
            rng = rng_for(_WORLD_SEED, "object", identity)
            labels[i] = rng.choice(classes, p=self.prior)
            difficulty[i] = _difficulty(rng)
            # A difficult object looks partly like another class (a fox that could be a dog): it sits
            # nearer the boundary, where models and workers both hesitate.
            confuser = (labels[i] + 1 + rng.integers(max(classes - 1, 1))) % classes
            blend = CLASS_CONFUSION * difficulty[i]
            centre = (1 - blend) * self.centres[labels[i]] + blend * self.centres[confuser]
            features[i] = centre + CLASS_NOISE * rng.normal(size=FEATURE_DIM)
        return ClassObjects(features, difficulty, labels)


class DetectionWorld:
    """Object detection: up to MAX_BOXES boxes per image; the features are a fixed linear view of the
    box count, the boxes' geometry and their classes, plus noise."""

    def __init__(self, labels: tuple[str, ...]) -> None:
        self.labels = labels
        rng = rng_for(_WORLD_SEED, "detection", *labels)
        self.latent_dim = MAX_BOXES + MAX_BOXES * (4 + len(labels))
        # Scaled so the total signal does not grow with FEATURE_DIM: more dimensions only mean more to learn.
        self.view = rng.normal(size=(FEATURE_DIM, self.latent_dim)) * VIEW_GAIN / np.sqrt(FEATURE_DIM)

    def _latent(self, count: int, boxes: FloatArray, classes: IntArray) -> FloatArray:
        z = np.zeros(self.latent_dim)
        z[count - 1] = 1.0
        width = 4 + len(self.labels)
        for k in range(count):
            left, top, w, h = boxes[k]
            base = MAX_BOXES + k * width
            z[base : base + 4] = BOX_GAIN * (np.array([left + w / 2, top + h / 2, w, h]) - (0.5, 0.5, 0.3, 0.3))
            z[base + 4 + classes[k]] = 1.0
        return z

    def observe(self, identities: list[str]) -> BoxObjects:
        n = len(identities)
        features = np.empty((n, FEATURE_DIM))
        difficulty = np.empty(n)
        counts = np.empty(n, dtype=np.int64)
        boxes = np.zeros((n, MAX_BOXES, 4))
        classes = np.zeros((n, MAX_BOXES), dtype=np.int64)
        sizes = np.empty((n, 2), dtype=np.int64)
        for i, identity in enumerate(identities):
            rng = rng_for(_WORLD_SEED, "object", identity)
            counts[i] = 1 + rng.choice(MAX_BOXES, p=BOX_COUNT_PRIOR)
            sizes[i] = IMAGE_SIZES[rng.integers(len(IMAGE_SIZES))]
            for k in range(counts[i]):
                w, h = rng.uniform(0.12, 0.5, size=2)
                boxes[i, k] = (rng.uniform(0, 1 - w), rng.uniform(0, 1 - h), w, h)
                classes[i, k] = rng.integers(len(self.labels))
            # Slots are ordered left to right, so a slot means the same thing in every image.
            order = np.argsort(boxes[i, : counts[i], 0])
            boxes[i, : counts[i]] = boxes[i, order]
            classes[i, : counts[i]] = classes[i, order]
            difficulty[i] = _difficulty(rng)
            latent = self._latent(int(counts[i]), boxes[i], classes[i])
            features[i] = self.view @ latent + _noise(difficulty[i]) * rng.normal(size=FEATURE_DIM)
        return BoxObjects(features, difficulty, counts, boxes, classes, sizes)
