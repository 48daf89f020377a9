"""Active-learning training curves from the training jobs' logs (the notebook's third panel).

The built-in object detection algorithm logs its sample count on the line containing
"Final configuration" ('num_training_samples': u'<n>') and one "validation mAP <score>=(<x>)" per
epoch; image classification logs "Validation-accuracy=<x>" per epoch.
"""

import re
from collections.abc import Iterable

from gtchain.domain.report.models import TrainingCurve
from gtchain.domain.report.parse import TrainingJobRef
from gtchain.service.ports import TrainingLogs

_SAMPLES = re.compile(r"'num_training_samples'\s*:\s*u?'(\d+)'")
_METRICS = (
    ("validation mAP", re.compile(r"validation mAP <score>=\(([^)]+)\)")),
    ("validation accuracy", re.compile(r"Validation-accuracy=([-+0-9.eE]+)")),
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


def training_curves(logs: TrainingLogs, refs: list[TrainingJobRef]) -> tuple[list[TrainingCurve], list[str]]:
    """One curve per training job that logged a validation metric; a warning for each that did not."""
    curves: list[TrainingCurve] = []
    warnings: list[str] = []
    for ref in refs:
        # Streams are named <training-job-name>/algo-<n>-<time>; the first instance's is enough.
        streams = logs.log_streams(f"{ref.name}/")
        if not streams:
            warnings.append(f"training job {ref.name} (iteration {ref.iteration}) has no log in CloudWatch; no curve")
            continue
        curve = curve_from_messages(ref, logs.iter_messages(streams[0]))
        if not curve.values:
            warnings.append(f"training job {ref.name} (iteration {ref.iteration}) logged no validation metric")
            continue
        curves.append(curve)
    return curves, warnings
