"""Read a labeling job's output files from S3 into per-iteration counts, one entry in memory at a time."""

import json
from collections.abc import Iterator
from typing import Any

from gtchain.domain.report.curves import curve_from_messages
from gtchain.domain.report.models import TrainingCurve
from gtchain.domain.report.parse import (
    ACTIVE_LEARNING_PREFIX,
    AUTO_ANNOTATOR_FILE,
    CHUNK,
    CONSOLIDATION_PREFIX,
    EXAMPLES,
    ITERATION_DIR,
    MODEL_FILE,
    TRAINING_PREFIX,
    WHOLE_FILE_BYTES,
    WORKER_RESPONSE_PREFIX,
    JobDetail,
    MalformedJsonError,
    ObjectId,
    TrainingJobRef,
    auto_annotation,
    consolidated_entry,
    examples,
    iter_json_array,
)
from gtchain.service.ports import StreamingObjectStore, TrainingLogs


class _Reader:
    def __init__(self, objects: StreamingObjectStore, bucket: str, prefix: str, label_attribute: str) -> None:
        self.objects = objects
        self.bucket = bucket
        self.prefix = prefix
        self.label_attribute = label_attribute
        self.detail = JobDetail()
        self.human: set[ObjectId] = set()
        self.machine: set[ObjectId] = set()
        self.both_examples: list[ObjectId] = []

    def _keys(self, subprefix: str) -> Iterator[str]:
        for info in self.objects.list_objects(self.bucket, self.prefix + subprefix):
            yield info.key.removeprefix(self.prefix)

    def consolidation_files(self) -> list[tuple[int, str, int]]:
        files = []
        for info in self.objects.list_objects(self.bucket, self.prefix + CONSOLIDATION_PREFIX):
            key = info.key.removeprefix(self.prefix)
            if not key.endswith(".json"):
                continue
            parts = key.split("/")
            match = ITERATION_DIR.match(parts[-2]) if len(parts) >= 2 else None
            if match is None:
                self.detail.warnings.append(f"{key}: not in an iteration-<N> folder; skipped")
                continue
            files.append((int(match.group(1)), key, info.size))
        return sorted(files)

    def worker_response_objects(self) -> list[tuple[int, ObjectId]]:
        """(iteration, datasetObjectId) of every object workers answered: the layout alone says it,
        annotations/worker-response/iteration-<N>/<datasetObjectId>/<time>.json; nothing is read."""
        found = set()
        for key in self._keys(WORKER_RESPONSE_PREFIX):
            parts = key.removeprefix(WORKER_RESPONSE_PREFIX).split("/")
            match = ITERATION_DIR.match(parts[0]) if len(parts) == 3 and parts[2].endswith(".json") else None
            if match is None:
                self.detail.warnings.append(f"{key}: not iteration-<N>/<datasetObjectId>/<file>.json; skipped")
                continue
            found.add((int(match.group(1)), int(parts[1]) if parts[1].isdecimal() else parts[1]))
        return sorted(found, key=lambda pair: (pair[0], str(pair[1])))

    def count_answered(self) -> None:
        """Human-labeled objects from the worker responses, for a job whose consolidation output is absent."""
        for iteration, object_id in self.worker_response_objects():
            if object_id not in self.human:
                self.human.add(object_id)
                self.detail.at(iteration).human += 1

    def auto_annotator_files(self) -> list[tuple[int, str]]:
        files = []
        for key in self._keys(ACTIVE_LEARNING_PREFIX):
            parts = key.split("/")
            if parts[-1] != AUTO_ANNOTATOR_FILE:
                continue
            if len(parts) < 4 or not parts[-3].isdecimal():
                self.detail.warnings.append(f"{key}: no iteration number two folders above it; skipped")
                continue
            files.append((int(parts[-3]), key))
        return sorted(files)

    def training_jobs(self) -> list[TrainingJobRef]:
        refs = set()
        for key in self._keys(TRAINING_PREFIX):
            parts = key.split("/")
            if parts[-1] != MODEL_FILE:
                continue
            if len(parts) < 6 or parts[-2] != "output" or not parts[-5].isdecimal():
                self.detail.warnings.append(f"{key}: not <iteration>/<dir>/<training-job>/output/; skipped")
                continue
            refs.add(TrainingJobRef(int(parts[-5]), parts[-3]))
        return sorted(refs, key=lambda ref: (ref.iteration, ref.name))

    def _response_entries(self, key: str, size: int) -> Iterator[Any]:
        if size > WHOLE_FILE_BYTES:
            return iter_json_array(self.objects.iter_chunks(self.bucket, self.prefix + key, CHUNK))
        body = self.objects.get_bytes(self.bucket, self.prefix + key)
        try:
            document = json.loads(body)
        except ValueError:  # malformed: the streaming parser says where, and yields what precedes the fault
            document = None
        return iter(document) if isinstance(document, list) else iter_json_array(iter([body]))

    def read_human(self, iteration: int, key: str, size: int) -> None:
        counted, skipped = 0, 0
        try:
            for entry in self._response_entries(key, size):
                parsed = consolidated_entry(entry, self.label_attribute)
                if parsed is None:
                    skipped += 1
                    continue
                object_id, boxes, classes = parsed
                if object_id in self.human:
                    self.detail.repeated_entries += 1
                    continue
                self.human.add(object_id)
                counts = self.detail.at(iteration)
                counts.human += 1
                counts.human_boxes += boxes
                self.detail.count_classes(classes, human=True)
                counted += 1
        except MalformedJsonError as exc:
            self.detail.warnings.append(
                f"{key}: malformed JSON ({exc}); {counted} objects read before the fault were counted"
            )
        if skipped:
            self.detail.warnings.append(
                f"{key}: {skipped} entries without a datasetObjectId or a {self.label_attribute!r} annotation; skipped"
            )

    def read_machine(self, iteration: int, key: str) -> None:
        bad_lines: list[int] = []
        for number, line in enumerate(self.objects.iter_lines(self.bucket, self.prefix + key), 1):
            if not line.strip():
                continue
            parsed = auto_annotation(line, self.label_attribute)
            if parsed is None:
                bad_lines.append(number)
                continue
            object_id, boxes, classes = parsed
            if object_id in self.human:
                self.detail.in_both += 1
                if len(self.both_examples) < EXAMPLES:
                    self.both_examples.append(object_id)
                continue
            if object_id in self.machine:
                self.detail.repeated_entries += 1
                continue
            self.machine.add(object_id)
            counts = self.detail.at(iteration)
            counts.machine += 1
            counts.machine_boxes += boxes
            self.detail.count_classes(classes, human=False)
        if bad_lines:
            self.detail.warnings.append(
                f"{key}: {len(bad_lines)} malformed lines skipped (lines {examples(bad_lines[:EXAMPLES])}"
                f"{', ...' if len(bad_lines) > EXAMPLES else ''})"
            )


def parse_job_output(objects: StreamingObjectStore, bucket: str, prefix: str, label_attribute: str) -> JobDetail:
    """Count each object once: human in the lowest iteration it was consolidated in (or, without
    consolidation output, answered by workers in), else machine.

    Files are read in iteration order (numerically: iteration-10 after iteration-9), so the first
    time an object is seen is its lowest iteration.
    """
    reader = _Reader(objects, bucket, prefix, label_attribute)
    consolidated = reader.consolidation_files()
    for iteration, key, size in consolidated:
        reader.read_human(iteration, key, size)
    if not consolidated:
        reader.count_answered()
    for iteration, key in reader.auto_annotator_files():
        reader.read_machine(iteration, key)
    detail = reader.detail
    if detail.in_both:
        more = ", ..." if detail.in_both > EXAMPLES else ""
        detail.warnings.append(
            f"{detail.in_both} objects are in both the human (consolidation) and the machine (auto-annotator) "
            f"output; each is counted as human (datasetObjectIds {examples(reader.both_examples)}{more})"
        )
    detail.training_jobs = reader.training_jobs()
    detail.iterations = dict(sorted(detail.iterations.items()))
    return detail


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
