"""The synthetic world behind the emulated labeling jobs: what each data object truly shows, and what a
model can see of it.

An object's truth and its features come from a hash of its identity (the `source-ref`, or the inline
`source` of a text object), so the same object looks the same in every job. Only semantic segmentation has
pixels: its images are small scenes of elliptical objects whose label masks are drawn pixel by pixel, and a
model sees each image as a grid of patches.
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
# Semantic segmentation: thumbnails (masks are drawn pixel by pixel, so small images keep the emulator fast);
# each divides into the model's grid of GRID[0] x GRID[1] patches.
SEGMENTATION_SIZES = ((144, 108), (128, 96), (160, 120), (192, 144), (112, 144), (128, 168))
GRID = (16, 12)
PATCH_FEATURES = 64
# A patch's features: its class content seen through the image's appearance of each class, plus a shift
# shared by the whole image (lighting, camera) and noise; all three grow with the image's difficulty (ranges
# at difficulty 0 and 1). An image's appearances are the class's fixed one scaled elementwise by
# 1 + APPEARANCE_JITTER * N(0, 1); its shift lies along NUISANCE_RANK fixed directions that overlap the
# appearances. Patches of one image share both, so a model learns what survives them only from many images.
APPEARANCE_GAIN = 3.0
NUISANCE_RANK = 56
IMAGE_SHIFT = (0.5, 2.5)
PATCH_NOISE = (0.3, 2.5)
APPEARANCE_JITTER = (0.3, 1.0)
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


@dataclass(frozen=True)
class SegmentObjects(Observed):
    """Each image: up to MAX_BOXES elliptical objects, painted in order (a later one covers an earlier one).
    `features` is (n, patches, PATCH_FEATURES): one row per patch of the GRID, row-major from the top left
    (float32: a job's images hold a few million of them)."""

    counts: IntArray  # (n,)
    shapes: FloatArray  # (n, MAX_BOXES, 4) centre x, centre y, radius x, radius y as image fractions
    classes: IntArray  # (n, MAX_BOXES) class index 1..labels (0 is BACKGROUND)
    image_sizes: IntArray  # (n, 2) width, height in pixels

    def truth(self, i: int) -> npt.NDArray[np.uint8]:
        width, height = (int(v) for v in self.image_sizes[i])
        count = int(self.counts[i])
        return paint(width, height, self.shapes[i, :count], self.classes[i, :count])


def paint(width: int, height: int, shapes: FloatArray, classes: IntArray) -> npt.NDArray[np.uint8]:
    """A (height, width) mask of class indices: each ellipse filled with its class, in order."""
    mask = np.zeros((height, width), dtype=np.uint8)
    x = (np.arange(width) + 0.5) / width
    y = (np.arange(height) + 0.5) / height
    for (cx, cy, rx, ry), cls in zip(np.asarray(shapes).tolist(), np.asarray(classes).tolist(), strict=True):
        if rx <= 0 or ry <= 0:
            continue
        inside = ((x[None, :] - cx) / rx) ** 2 + ((y[:, None] - cy) / ry) ** 2 <= 1.0
        mask[inside] = cls
    return mask


def _patch_ids(width: int, height: int) -> IntArray:
    """(height, width) index of the GRID patch each pixel falls in (cached per image size)."""
    found = _PATCH_IDS.get((width, height))
    if found is None:
        columns, rows = GRID
        found = (np.arange(height) * rows // height)[:, None] * columns + (np.arange(width) * columns // width)[None, :]
        _PATCH_IDS[(width, height)] = found
    return found


_PATCH_IDS: dict[tuple[int, int], IntArray] = {}


def patch_fractions(mask: npt.NDArray[np.uint8], classes: int) -> FloatArray:
    """(patches, classes) share of each class's pixels in each patch of the GRID."""
    height, width = mask.shape
    patches = GRID[0] * GRID[1]
    ids = _patch_ids(width, height)
    counts = np.bincount((ids * classes + mask).ravel(), minlength=patches * classes).reshape(patches, classes)
    result: FloatArray = counts / counts.sum(axis=1, keepdims=True)
    return result


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


class SegmentationWorld:
    """Semantic segmentation: scenes like the detection world's (one to three objects per image), drawn as
    ellipses; each class looks a fixed way (its appearance vector), so a patch's features mix the
    appearances of the classes it shows."""

    def __init__(self, labels: tuple[str, ...]) -> None:
        self.labels = labels
        rng = rng_for(_WORLD_SEED, "segmentation", *labels)
        appearance = rng.normal(size=(len(labels) + 1, PATCH_FEATURES))
        self.appearance = APPEARANCE_GAIN * appearance / np.linalg.norm(appearance, axis=1, keepdims=True)
        self.nuisance = np.linalg.qr(rng.normal(size=(PATCH_FEATURES, NUISANCE_RANK)))[0]

    def observe(self, identities: list[str]) -> SegmentObjects:
        n = len(identities)
        patches = GRID[0] * GRID[1]
        classes = len(self.labels) + 1
        features = np.empty((n, patches, PATCH_FEATURES), dtype=np.float32)
        difficulty = np.empty(n)
        counts = np.empty(n, dtype=np.int64)
        shapes = np.zeros((n, MAX_BOXES, 4))
        object_classes = np.zeros((n, MAX_BOXES), dtype=np.int64)
        sizes = np.empty((n, 2), dtype=np.int64)
        for i, identity in enumerate(identities):
            rng = rng_for(_WORLD_SEED, "object", identity)
            counts[i] = 1 + rng.choice(MAX_BOXES, p=BOX_COUNT_PRIOR)
            sizes[i] = SEGMENTATION_SIZES[rng.integers(len(SEGMENTATION_SIZES))]
            for k in range(counts[i]):
                rx, ry = rng.uniform(0.08, 0.25, size=2)
                shapes[i, k] = (rng.uniform(rx, 1 - rx), rng.uniform(ry, 1 - ry), rx, ry)
                object_classes[i, k] = 1 + rng.integers(len(self.labels))
            difficulty[i] = h = _difficulty(rng)
            width, height = int(sizes[i, 0]), int(sizes[i, 1])
            mask = paint(width, height, shapes[i, : counts[i]], object_classes[i, : counts[i]])
            # The image's lighting changes how each class looks (not just an offset an image's mean reveals)
            spread = APPEARANCE_JITTER[0] + (APPEARANCE_JITTER[1] - APPEARANCE_JITTER[0]) * h
            looks = self.appearance * (1 + spread * rng.normal(size=self.appearance.shape))
            content = patch_fractions(mask, classes) @ looks
            shift = self.nuisance @ rng.normal(scale=IMAGE_SHIFT[0] + (IMAGE_SHIFT[1] - IMAGE_SHIFT[0]) * h,
                                               size=NUISANCE_RANK)  # fmt: skip
            noise = PATCH_NOISE[0] + (PATCH_NOISE[1] - PATCH_NOISE[0]) * h
            features[i] = content + shift + noise * rng.normal(size=(patches, PATCH_FEATURES))
        return SegmentObjects(features, difficulty, counts, shapes, object_classes, sizes)  # type: ignore[arg-type]
