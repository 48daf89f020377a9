"""Stream a labeling job's output files into per-iteration counts.

One entry is in memory at a time. Per object only its id is kept (an int in two sets), so a job of
100,000 objects needs a few megabytes. Layout (fact sheet, section 5), under <S3OutputPath>/<job-name>/:
  annotations/consolidated-annotation/consolidation-response/iteration-<N>/<time>.json   human labels
  activelearning/.../<N>/<dir>/auto_annotator_output.txt                               machine labels
  training/.../<N>/<dir>/<training-job-name>/output/model.tar.gz                       trained models
"""

import codecs
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from gtchain.service.ports import StreamingObjectStore

CONSOLIDATION_PREFIX = "annotations/consolidated-annotation/consolidation-response/"
ACTIVE_LEARNING_PREFIX = "activelearning/"
TRAINING_PREFIX = "training/"
AUTO_ANNOTATOR_FILE = "auto_annotator_output.txt"
MODEL_FILE = "model.tar.gz"

_ITERATION_DIR = re.compile(r"^iteration-(\d+)$")
_CHUNK = 64 * 1024
# An element larger than this is not an annotation: stop reading the file rather than buffer it.
MAX_ELEMENT_CHARS = 4 * 1024 * 1024
# Response files up to this size are parsed whole, at C speed; larger ones are streamed element by element,
# so memory stays bounded by this size whatever a job's files weigh.
WHOLE_FILE_BYTES = 2 * 1024 * 1024
_EXAMPLES = 5
_WHITESPACE = " \t\r\n"

ObjectId = int | str


class MalformedJsonError(ValueError):
    pass


@dataclass
class IterationCounts:
    human: int = 0
    machine: int = 0
    human_boxes: int = 0
    machine_boxes: int = 0


@dataclass(frozen=True)
class TrainingJobRef:
    iteration: int
    name: str


@dataclass
class JobDetail:
    iterations: dict[int, IterationCounts] = field(default_factory=dict)
    repeated_entries: int = 0
    in_both: int = 0
    warnings: list[str] = field(default_factory=list)
    training_jobs: list[TrainingJobRef] = field(default_factory=list)

    def at(self, iteration: int) -> IterationCounts:
        return self.iterations.setdefault(iteration, IterationCounts())

    def total(self, attribute: str) -> int:
        return sum(getattr(counts, attribute) for counts in self.iterations.values())


def iter_json_array(chunks: Iterator[bytes], max_element_chars: int = MAX_ELEMENT_CHARS) -> Iterator[Any]:
    """Yield the elements of a JSON array read in chunks, never holding more than one element and a chunk."""
    decoder = json.JSONDecoder()
    utf8 = codecs.getincrementaldecoder("utf-8")()
    buffer, pos, eof = "", 0, False
    consumed = 0  # characters dropped from the buffer's front: positions in messages are the file's

    def fill() -> None:
        nonlocal buffer, pos, eof, consumed
        chunk = next(chunks, None)
        try:
            text = utf8.decode(b"", final=True) if chunk is None else utf8.decode(chunk)
        except UnicodeDecodeError as exc:
            raise MalformedJsonError(f"not UTF-8 ({exc.reason})") from None
        eof = chunk is None
        consumed += pos
        buffer, pos = buffer[pos:] + text, 0

    def next_char() -> str | None:
        """The next non-blank character, read as far as needed; None at the end of the file."""
        nonlocal pos
        while True:
            while pos < len(buffer) and buffer[pos] in _WHITESPACE:
                pos += 1
            if pos < len(buffer):
                return buffer[pos]
            if eof:
                return None
            fill()

    if next_char() != "[":
        raise MalformedJsonError("does not start with '['")
    pos += 1
    if next_char() == "]":
        pos += 1
    else:
        while True:
            if next_char() is None:
                raise MalformedJsonError("ends inside the array")
            while True:
                try:
                    element, end = decoder.raw_decode(buffer, pos)
                except json.JSONDecodeError as exc:
                    if eof or len(buffer) - pos > max_element_chars:
                        raise MalformedJsonError(f"{exc.msg}: char {consumed + exc.pos}") from None
                    fill()  # the element may continue in the next chunk
                    continue
                # A value that ends exactly at the buffer's end may be a number cut in two: read on first.
                if end == len(buffer) and not eof:
                    fill()
                    continue
                break
            pos = end
            yield element
            separator = next_char()
            pos += 1
            if separator == "]":
                break
            if separator is None:
                raise MalformedJsonError("ends inside the array")
            if separator != ",":
                raise MalformedJsonError(f"expected ',' or ']' after an element, found {separator!r}")
    if next_char() is not None:
        raise MalformedJsonError("has data after the array")


def _object_id(value: Any) -> ObjectId | None:
    """datasetObjectIds are strings of digits: keep ints (compact); anything else as given."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value:
        return int(value) if value.isdecimal() else value
    return None


def _boxes(label: Any) -> int:
    """Annotations of a bounding-box label; other task types have none."""
    if isinstance(label, dict) and isinstance(label.get("annotations"), list):
        return len(label["annotations"])
    return 0


def _consolidated(entry: Any, label_attribute: str) -> tuple[ObjectId, int] | None:
    if not isinstance(entry, dict):
        return None
    object_id = _object_id(entry.get("datasetObjectId"))
    annotation = entry.get("consolidatedAnnotation")
    content = annotation.get("content") if isinstance(annotation, dict) else None
    if object_id is None or not isinstance(content, dict) or label_attribute not in content:
        return None
    return object_id, _boxes(content[label_attribute])


def _auto_annotation(line: bytes, label_attribute: str) -> tuple[ObjectId, int] | None:
    token, _, payload = line.strip().partition(b" ")
    try:
        object_id = _object_id(token.decode())
        document = json.loads(payload)
    except (UnicodeDecodeError, ValueError):
        return None
    if object_id is None or not isinstance(document, dict) or label_attribute not in document:
        return None
    return object_id, _boxes(document[label_attribute])


def _examples(values: list[Any]) -> str:
    return ", ".join(str(v) for v in values)


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
            match = _ITERATION_DIR.match(parts[-2]) if len(parts) >= 2 else None
            if match is None:
                self.detail.warnings.append(f"{key}: not in an iteration-<N> folder; skipped")
                continue
            files.append((int(match.group(1)), key, info.size))
        return sorted(files)

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
            return iter_json_array(self.objects.iter_chunks(self.bucket, self.prefix + key, _CHUNK))
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
                parsed = _consolidated(entry, self.label_attribute)
                if parsed is None:
                    skipped += 1
                    continue
                object_id, boxes = parsed
                if object_id in self.human:
                    self.detail.repeated_entries += 1
                    continue
                self.human.add(object_id)
                counts = self.detail.at(iteration)
                counts.human += 1
                counts.human_boxes += boxes
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
            parsed = _auto_annotation(line, self.label_attribute)
            if parsed is None:
                bad_lines.append(number)
                continue
            object_id, boxes = parsed
            if object_id in self.human:
                self.detail.in_both += 1
                if len(self.both_examples) < _EXAMPLES:
                    self.both_examples.append(object_id)
                continue
            if object_id in self.machine:
                self.detail.repeated_entries += 1
                continue
            self.machine.add(object_id)
            counts = self.detail.at(iteration)
            counts.machine += 1
            counts.machine_boxes += boxes
        if bad_lines:
            self.detail.warnings.append(
                f"{key}: {len(bad_lines)} malformed lines skipped (lines {_examples(bad_lines[:_EXAMPLES])}"
                f"{', ...' if len(bad_lines) > _EXAMPLES else ''})"
            )


def parse_job_output(objects: StreamingObjectStore, bucket: str, prefix: str, label_attribute: str) -> JobDetail:
    """Count each object once: human in the lowest iteration it was consolidated in, else machine.

    Files are read in iteration order (numerically: iteration-10 after iteration-9), so the first
    time an object is seen is its lowest iteration.
    """
    reader = _Reader(objects, bucket, prefix, label_attribute)
    for iteration, key, size in reader.consolidation_files():
        reader.read_human(iteration, key, size)
    for iteration, key in reader.auto_annotator_files():
        reader.read_machine(iteration, key)
    detail = reader.detail
    if detail.in_both:
        more = ", ..." if detail.in_both > _EXAMPLES else ""
        detail.warnings.append(
            f"{detail.in_both} objects are in both the human (consolidation) and the machine (auto-annotator) "
            f"output; each is counted as human (datasetObjectIds {_examples(reader.both_examples)}{more})"
        )
    detail.training_jobs = reader.training_jobs()
    detail.iterations = dict(sorted(detail.iterations.items()))
    return detail
