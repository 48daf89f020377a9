"""Synthetic datasets and chain specs for the demo and the end-to-end tests (nothing is downloaded).

An object is just its `source-ref` (or inline `source` for text): the emulator derives what it shows from
that. The seed picks a different set of objects, so each seed is a different dataset.
"""

import json
from typing import Any

from local.groundtruth.world import rng_for

TASK_LABELS: dict[str, list[str]] = {
    "bounding-box": ["Bird"],
    "image-classification": ["Sparrow", "Pigeon", "Gull"],
    "text-classification": ["Praise", "Complaint", "Question"],
    "semantic-segmentation": ["Bird", "Feeder"],
}
# Semantic segmentation's label attribute must end in -ref, and its public workforce prices start at $0.84
# (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_PublicWorkforceTaskPrice.html).
_LABEL_ATTRIBUTES = {"semantic-segmentation": "category-ref"}
_TASK_PRICES = {"semantic-segmentation": 0.84}
_INSTRUCTIONS: dict[str, dict[str, Any]] = {
    "bounding-box": {
        "title": "Draw a box around each bird",
        "description": "Draw a tight box around each bird you see.",
        "keywords": ["image", "object", "detection"],
        "short": "Box every bird; one box per bird.",
        "full": "Draw one tight box around each bird. Include partly hidden birds; skip drawings of birds.",
    },
    "image-classification": {
        "title": "Which bird is this?",
        "description": "Pick the kind of bird the image shows.",
        "keywords": ["image", "classification", "birds"],
    },
    "text-classification": {
        "title": "What kind of message is this?",
        "description": "Pick whether the message praises, complains or asks.",
        "keywords": ["text", "classification"],
    },
    "semantic-segmentation": {
        "title": "Paint the birds and the feeders",
        "description": "Paint every pixel of each bird and each bird feeder with its label.",
        "keywords": ["image", "segmentation", "birds"],
        "short": "Paint each bird and each feeder; leave the rest unpainted.",
        "full": "Paint every visible pixel of each bird and each feeder with its label; include partly hidden ones.",
    },
}
_WORDS = ("bird", "feeder", "seed", "garden", "window", "morning", "song", "nest", "branch", "flock", "park")


def manifest(task: str, bucket: str, objects: int, seed: int, name: str = "birds") -> str:
    """JSON Lines, one object per line: source-refs in the data bucket, or inline text."""
    lines = []
    for i in range(objects):
        if task == "text-classification":
            rng = rng_for("text", str(seed), name, str(i))
            words = " ".join(str(w) for w in rng.choice(_WORDS, size=8))
            lines.append(json.dumps({"source": f"Message {seed}-{i}: {words}."}))
        else:
            lines.append(json.dumps({"source-ref": f"s3://{bucket}/datasets/{name}-{seed}/images/{i:06d}.jpg"}))
    return "\n".join(lines) + "\n"


def chain_spec(
    task: str = "bounding-box", *, rounds: int = 2, baseline: bool = True, **overrides: Any
) -> dict[str, Any]:
    """The seed notebook's settings: public workforce, 3 workers, 200 concurrent tasks, auto-labeling on."""
    spec: dict[str, Any] = {
        "task": task,
        "labels": TASK_LABELS[task],
        "labelAttributeName": _LABEL_ATTRIBUTES.get(task, "category"),
        "instructions": _INSTRUCTIONS[task],
        "workforce": {
            "type": "public",
            "pricePerTaskUsd": _TASK_PRICES.get(task, 0.036),
            "contentClassifiers": ["FreeOfPersonallyIdentifiableInformation", "FreeOfAdultContent"],
        },
        "workersPerObject": 3,
        "maxConcurrentTasks": 200,
        "taskTimeLimitSeconds": 300,
        "taskAvailabilitySeconds": 21600,
        "autoLabeling": True,
        "rounds": rounds,
        "baseline": baseline,
        "pricing": {"perObjectUsd": 0.08},
    }
    spec.update(overrides)
    return spec
