"""Parse a labeling job's output files: streamed JSON arrays, consolidation entries, auto-annotator lines.

One entry is in memory at a time. Per object only its id is kept (an int in two sets), so a job of
100,000 objects needs a few megabytes. Layout under <S3OutputPath>/<job-name>/
(https://docs.aws.amazon.com/sagemaker/latest/dg/sms-data-output.html):
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

CONSOLIDATION_PREFIX = "annotations/consolidated-annotation/consolidation-response/"
WORKER_RESPONSE_PREFIX = "annotations/worker-response/"
ACTIVE_LEARNING_PREFIX = "activelearning/"
TRAINING_PREFIX = "training/"
AUTO_ANNOTATOR_FILE = "auto_annotator_output.txt"
MODEL_FILE = "model.tar.gz"

ITERATION_DIR = re.compile(r"^iteration-(\d+)$")
CHUNK = 64 * 1024
# An element larger than this is not an annotation: stop reading the file rather than buffer it.
MAX_ELEMENT_CHARS = 4 * 1024 * 1024
# Response files up to this size are parsed whole, at C speed; larger ones are streamed element by element,
# so memory stays bounded by this size whatever a job's files weigh.
WHOLE_FILE_BYTES = 2 * 1024 * 1024
EXAMPLES = 5
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


@dataclass
class ClassCounts:
    """Labels of one class: objects (classification) or boxes (bounding boxes), by who labeled them."""

    human: int = 0
    machine: int = 0


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
    classes: dict[str, ClassCounts] = field(default_factory=dict)  # by class name, from the labels' metadata

    def count_classes(self, classes: tuple[str, ...], human: bool) -> None:
        for name in classes:
            counts = self.classes.setdefault(name, ClassCounts())
            if human:
                counts.human += 1
            else:
                counts.machine += 1

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


def label_classes(label: Any, metadata: Any) -> tuple[str, ...]:
    """The classes a label shows, named by its metadata (https://docs.aws.amazon.com/sagemaker/latest/dg/sms-data-output.html):
    a bounding-box label's class per box (`class-map`), a classification label's one class (`class-name`).
    Semantic segmentation (a mask) names none per object."""
    metadata = metadata if isinstance(metadata, dict) else {}
    if isinstance(label, dict) and isinstance(label.get("annotations"), list):
        class_map = metadata.get("class-map") if isinstance(metadata.get("class-map"), dict) else {}
        return tuple(
            str(class_map.get(str(box.get("class_id")), box.get("class_id")))
            for box in label["annotations"]
            if isinstance(box, dict) and box.get("class_id") is not None
        )
    if isinstance(label, int) and not isinstance(label, bool):
        name = metadata.get("class-name")
        return (name if isinstance(name, str) and name else str(label),)
    return ()


Parsed = tuple[ObjectId, int, tuple[str, ...]]  # the object, its boxes, its classes


def _parsed(object_id: ObjectId, content: dict[str, Any], label_attribute: str) -> Parsed:
    label = content[label_attribute]
    return object_id, _boxes(label), label_classes(label, content.get(f"{label_attribute}-metadata"))


def consolidated_entry(entry: Any, label_attribute: str) -> Parsed | None:
    if not isinstance(entry, dict):
        return None
    object_id = _object_id(entry.get("datasetObjectId"))
    annotation = entry.get("consolidatedAnnotation")
    content = annotation.get("content") if isinstance(annotation, dict) else None
    if object_id is None or not isinstance(content, dict) or label_attribute not in content:
        return None
    return _parsed(object_id, content, label_attribute)


def auto_annotation(line: bytes, label_attribute: str) -> Parsed | None:
    token, _, payload = line.strip().partition(b" ")
    try:
        object_id = _object_id(token.decode())
        document = json.loads(payload)
    except (UnicodeDecodeError, ValueError):
        return None
    if object_id is None or not isinstance(document, dict) or label_attribute not in document:
        return None
    return _parsed(object_id, document, label_attribute)


def examples(values: list[Any]) -> str:
    return ", ".join(str(v) for v in values)
