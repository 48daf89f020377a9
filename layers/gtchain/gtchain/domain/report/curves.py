"""Active-learning training curves from the training jobs' logs (the notebook's third panel).

The built-in object detection algorithm logs its sample count on the line containing
"Final configuration" ('num_training_samples': u'<n>') and one "validation mAP <score>=(<x>)" per
epoch; image classification logs "Validation-accuracy=<x>" per epoch.
"""

import re
from collections.abc import Iterable

from gtchain.domain.report.models import TrainingCurve
from gtchain.domain.report.parse import TrainingJobRef

_SAMPLES = re.compile(r"'num_training_samples'\s*:\s*u?'(\d+)'")
_METRICS = (
    ("validation mAP", re.compile(r"validation mAP <score>=\(([^)]+)\)")),
    ("validation accuracy", re.compile(r"Validation-accuracy=([-+0-9.eE]+)")),
    ("validation mIOU", re.compile(r"validation mIOU <score>=\(([^)]+)\)")),
)


def curve_from_messages(ref: TrainingJobRef, messages: Iterable[str]) -> TrainingCurve:
    samples: int | None = None
    metric: str | None = None
    values: list[float] = []
    for message in messages:
        if "Final configuration" in message and (match := _SAMPLES.search(message)):
            samples = int(match.group(1))
            continue
        for name, pattern in _METRICS:
            if match := pattern.search(message):
                try:
                    values.append(float(match.group(1)))
                except ValueError:
                    continue
                metric = name
    return TrainingCurve(iteration=ref.iteration, training_job_name=ref.name, samples=samples, metric=metric,
                         values=values)  # fmt: skip
