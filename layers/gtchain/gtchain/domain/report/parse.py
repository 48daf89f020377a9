"""Parse a labeling job's output files: streamed JSON arrays, consolidation entries, auto-annotator lines.

One entry is in memory at a time. Per object only its id is kept, as one bit (ObjectIds), so a job of
100,000 objects needs kilobytes, not megabytes. Layout under <S3OutputPath>/<job-name>/
(https://docs.aws.amazon.com/sagemaker/latest/dg/sms-data-output.html):
  annotations/consolidated-annotation/consolidation-response/iteration-<N>/<time>.json   human labels
  activelearning/.../<N>/<dir>/auto_annotator_output.txt                               machine labels
  training/.../<N>/<dir>/<training-job-name>/output/model.tar.gz                       trained models
"""

import codecs
import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

CONSOLIDATION_PREFIX = "annotations/consolidated-annotation/consolidation-response/"
WORKER_RESPONSE_PREFIX = "annotations/worker-response/"
ACTIVE_LEARNING_PREFIX = "activelearning/"
TRAINING_PREFIX = "training/"
AUTO_ANNOTATOR_FILE = "auto_annotator_output.txt"
MODEL_FILE = "model.tar.gz"

ITERATION_DIR = re.compile(r"^iteration-(\d+)$")
CHUNK = 128 * 1024
# An element larger than this is not an annotation: stop reading the file rather than buffer it.
MAX_ELEMENT_CHARS = 4 * 1024 * 1024
# A response file that fits in one chunk is parsed whole; larger ones are streamed element by element (as fast
# here, and a parsed 2 MB file would hold some 10 MB of objects at once), so memory stays bounded by a chunk and an
# element whatever a job's files weigh.
WHOLE_FILE_BYTES = CHUNK
EXAMPLES = 5
_WHITESPACE = " \t\r\n"
_NEXT_ELEMENT = re.compile(r"[ \t\r\n]*,[ \t\r\n]*")

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

    def add_classes(self, counted: Mapping[str, int], human: bool) -> None:
        """Add labels counted per class name (a reader counts a file's, then adds them at once)."""
        for name, count in counted.items():
            counts = self.classes.setdefault(name, ClassCounts())
            if human:
                counts.human += count
            else:
                counts.machine += count

    def at(self, iteration: int) -> IterationCounts:
        return self.iterations.setdefault(iteration, IterationCounts())

    def total(self, attribute: str) -> int:
        return sum(getattr(counts, attribute) for counts in self.iterations.values())


# json's C scanner, called directly: json.loads adds an encoding check and three Python calls to every value, about
# a third of the time it takes to parse an auto-annotator line.
_scan: Callable[[str, int], tuple[Any, int]] = json.JSONDecoder().scan_once  # type: ignore[attr-defined]


def loads(data: bytes) -> Any:
    """json.loads(data): the usual document (UTF-8, nothing around the value) is scanned directly; any other goes
    through json.loads, so the result or the error is the same."""
    try:
        text = data.decode()
        value, end = _scan(text, 0)
        if end == len(text):
            return value
    except (ValueError, StopIteration):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        pass
    return json.loads(data)


def iter_json_array(chunks: Iterator[bytes], max_element_chars: int = MAX_ELEMENT_CHARS) -> Iterator[Any]:
    """Yield the elements of a JSON array read in chunks, never holding more than one element and a chunk."""
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
                    element, end = _scan(buffer, pos)
                except json.JSONDecodeError as exc:
                    if eof or len(buffer) - pos > max_element_chars:
                        raise MalformedJsonError(f"{exc.msg}: char {consumed + exc.pos}") from None
                    fill()  # the element may continue in the next chunk
                    continue
                except StopIteration as exc:  # no value where one must be; exc.value is where
                    if eof or len(buffer) - pos > max_element_chars:
                        raise MalformedJsonError(f"Expecting value: char {consumed + exc.value}") from None
                    fill()  # the element may continue in the next chunk
                    continue
                # A value that ends exactly at the buffer's end may be a number cut in two: read on first.
                if end == len(buffer) and not eof:
                    fill()
                    continue
                pos = end
                yield element
                # Mostly a comma and the next element follow in the buffer: go straight on to that element.
                following = _NEXT_ELEMENT.match(buffer, pos)
                if following is None or following.end() == len(buffer):
                    break
                pos = following.end()
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


# Ids below this are kept as bits: Ground Truth numbers a job's objects by their line in the input manifest (0, 1,
# 2, ...), so a job of n objects needs n bits. The bound caps the bit array at 2 MiB; any other id goes to a set.
MAX_BIT_ID = 1 << 24


class ObjectIds:
    """A set of datasetObjectIds at a bit per object (a set of ints costs about 70 bytes per object)."""

    __slots__ = ("_bits", "_others")

    def __init__(self) -> None:
        self._bits = bytearray()
        self._others: set[ObjectId] = set()

    def add(self, object_id: ObjectId) -> bool:
        """Add an id; False if it was there already."""
        if type(object_id) is int and 0 <= object_id < MAX_BIT_ID:
            index, mask = object_id >> 3, 1 << (object_id & 7)
            bits = self._bits
            if index >= len(bits):
                bits.extend(bytes(max(index + 1, 2 * len(bits)) - len(bits)))
            elif bits[index] & mask:
                return False
            bits[index] |= mask
            return True
        if object_id in self._others:
            return False
        self._others.add(object_id)
        return True

    def __contains__(self, object_id: object) -> bool:
        if type(object_id) is int and 0 <= object_id < MAX_BIT_ID:
            index = object_id >> 3
            return index < len(self._bits) and bool(self._bits[index] & (1 << (object_id & 7)))
        return object_id in self._others


def _object_id(value: Any) -> ObjectId | None:
    """datasetObjectIds are strings of digits: keep ints (compact); anything else as given."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value:
        return int(value) if value.isdecimal() else value
    return None


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


Content = dict[str, Any]  # an object's label and its metadata, by attribute name


class LabelReader:
    """One label attribute, read from consolidation-response entries and auto-annotator lines: an object's id and
    content, then its boxes and classes (named as label_classes names them). A job's labels share one class map, so
    the names of the last map's class ids are remembered: a box costs a lookup."""

    __slots__ = ("_attribute", "_class_map", "_metadata", "_names")

    def __init__(self, label_attribute: str) -> None:
        self._attribute = label_attribute
        self._metadata = f"{label_attribute}-metadata"
        self._class_map: Any = None
        self._names: dict[int | str, str] = {}

    def entry(self, entry: Any) -> tuple[ObjectId, Content] | None:
        """A consolidation-response entry's object and content; None without an id or the label."""
        if not isinstance(entry, dict):
            return None
        value = entry.get("datasetObjectId")
        object_id = int(value) if type(value) is str and value.isdecimal() else _object_id(value)
        annotation = entry.get("consolidatedAnnotation")
        content = annotation.get("content") if isinstance(annotation, dict) else None
        if object_id is None or not isinstance(content, dict) or self._attribute not in content:
            return None
        return object_id, content

    def line(self, line: bytes) -> tuple[ObjectId, Content] | None:
        """An auto-annotator line's object and content (`<id> <json>`); None if malformed or without the label."""
        token, _, payload = line.strip().partition(b" ")
        try:
            object_id = int(token) if token.isdigit() else _object_id(token.decode())  # isdigit: ASCII digits only
            document = loads(payload)
        except (UnicodeDecodeError, ValueError):
            return None
        if object_id is None or not isinstance(document, dict) or self._attribute not in document:
            return None
        return object_id, document

    def count(self, content: Content, classes: dict[str, int]) -> int:
        """The label's boxes (a bounding-box label's annotations; other task types have none). Its classes are
        counted into `classes`."""
        label = content[self._attribute]
        annotations = label.get("annotations") if isinstance(label, dict) else None
        if not isinstance(annotations, list):
            for name in label_classes(label, content.get(self._metadata)):
                classes[name] = classes.get(name, 0) + 1
            return 0
        metadata = content.get(self._metadata)
        class_map = metadata.get("class-map") if isinstance(metadata, dict) else None
        if not isinstance(class_map, dict):
            class_map = {}
        if class_map != self._class_map:
            self._class_map, self._names = class_map, {}
        names = self._names
        for box in annotations:
            if not isinstance(box, dict) or (class_id := box.get("class_id")) is None:
                continue
            kind = type(class_id)
            if kind is int or kind is str:  # hashable, and 1 and "1" stay apart (True and 1.0 are other types)
                cached = names.get(class_id)
                if cached is None:
                    cached = names[class_id] = str(class_map.get(str(class_id), class_id))
                name = cached
            else:
                name = str(class_map.get(str(class_id), class_id))
            classes[name] = classes.get(name, 0) + 1
        return len(annotations)


def examples(values: list[Any]) -> str:
    return ", ".join(str(v) for v in values)
