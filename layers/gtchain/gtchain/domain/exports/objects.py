"""A results-manifest line read for export: a labeled object (its boxes or its class) or the reason it is left out.

A results line is the input line plus `<attr>` and `<attr>-metadata` from the job that labeled it (see
service/results.py), in Ground Truth's output format (https://docs.aws.amazon.com/sagemaker/latest/dg/sms-data-output.html):
- labeled: both keys, the metadata without `failure-reason`;
- failed: `<attr>-metadata` with `failure-reason` (and `retry-count`), no `<attr>` from the job;
- unlabeled: no metadata (an `<attr>` that came with the input line was no job's label).
Anything else that cannot be read (not JSON, no size, a class outside chain.json's labels) is left out too, with
the reason. Nothing here raises on a line's content.
"""

import hashlib
import json
import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import quote

from gtchain.domain.manifest import source_digest
from gtchain.domain.names import parse_s3_uri
from gtchain.domain.tasks import TaskType

# Per-image file names: longer paths are replaced by a digest, so every name fits S3 keys and file systems.
_MAX_SEGMENT_BYTES = 200
_MAX_STEM_BYTES = 600


@dataclass(frozen=True)
class ExportSchema:
    """What an export needs from chain.json: the task, the labels in order, and the label attribute."""

    task: TaskType
    labels: tuple[str, ...]
    attribute: str


@dataclass(frozen=True)
class Box:
    category: int  # index into the schema's labels
    left: float
    top: float
    width: float
    height: float
    confidence: float | None


@dataclass(frozen=True)
class Labeled:
    source: str  # the source-ref (or, for inline text, the source)
    digest: bytes  # source_digest(source)
    human: bool
    job_name: str | None
    # bounding boxes
    width: float = 0
    height: float = 0
    depth: int = 3
    boxes: tuple[Box, ...] = ()
    # classification
    category: int = -1
    confidence: float | None = None
    # semantic segmentation: the mask's URI and colours; `mask` (class indices, one byte a pixel, a bytes object a
    # row: 0 = background, i + 1 = labels[i]) once it is read
    mask_uri: str = ""
    colors: tuple[tuple[bytes, int], ...] = ()  # (RGB, class index)
    class_confidence: tuple[tuple[int, float | None], ...] = ()  # (class index, confidence) from the colour map
    mask: tuple[bytes, ...] = ()


@dataclass(frozen=True)
class Skipped:
    source: str | None
    digest: bytes | None
    status: str  # failed | unlabeled | unreadable
    reason: str

    def entry(self, line: int | None = None, manifest: str | None = None) -> dict[str, Any]:
        entry: dict[str, Any] = {"source": self.source, "status": self.status, "reason": self.reason}
        if manifest is not None:
            entry["manifest"] = manifest
        if line is not None:
            entry["line"] = line
        return entry


def read_line(raw: bytes, schema: ExportSchema) -> Labeled | Skipped | None:
    """One results line; None for a blank line."""
    if not raw.strip():
        return None
    try:
        obj = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        return Skipped(None, None, "unreadable", f"the line is not JSON: {exc}")
    if not isinstance(obj, dict):
        return Skipped(None, None, "unreadable", "the line is not a JSON object")
    source = obj.get("source-ref", obj.get("source"))
    if not isinstance(source, str) or not _encodable(source):
        return Skipped(None, None, "unreadable", "the line has no source-ref (or source) string")
    digest = source_digest(source)
    label, metadata = obj.get(schema.attribute), obj.get(f"{schema.attribute}-metadata")
    if isinstance(metadata, dict) and "failure-reason" in metadata:  # with the input's own <attr>, if it had one
        return Skipped(source, digest, "failed", f"failed: {metadata['failure-reason']}")
    if metadata is None:
        why = "no job labeled it" + (f" ({schema.attribute} came with the input line)" if label is not None else "")
        return Skipped(source, digest, "unlabeled", why)
    if not isinstance(metadata, dict) or label is None:
        return Skipped(source, digest, "unreadable", f"{schema.attribute} or its metadata is missing or malformed")
    try:
        if schema.task == TaskType.BOUNDING_BOX:
            return _boxes(source, digest, label, metadata, schema)
        if schema.task == TaskType.SEMANTIC_SEGMENTATION:
            return _segments(source, digest, label, metadata, schema)
        return _class(source, digest, label, metadata, schema)
    except _Unreadable as exc:
        return Skipped(source, digest, "unreadable", str(exc))


class _Unreadable(Exception):
    pass


def _common(metadata: dict[str, Any]) -> tuple[bool, str | None]:
    job = metadata.get("job-name")
    return metadata.get("human-annotated") != "no", job if isinstance(job, str) else None


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise _Unreadable(f"{what} is not a number: {value!r}"[:200])
    return value


def _confidence(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def _category(name: Any, class_id: Any, schema: ExportSchema) -> int:
    """The label's index in chain.json: by the class name Ground Truth wrote, else by the class id."""
    if isinstance(name, str):
        if name in schema.labels:
            return schema.labels.index(name)
        raise _Unreadable(f"class {name!r} is not one of chain.json's labels")
    if isinstance(class_id, str) and class_id.isdigit():
        class_id = int(class_id)
    if isinstance(class_id, int) and not isinstance(class_id, bool) and 0 <= class_id < len(schema.labels):
        return class_id
    raise _Unreadable(f"class id {class_id!r} has no class name and is not a label index")


def _boxes(source: str, digest: bytes, label: Any, metadata: dict[str, Any], schema: ExportSchema) -> Labeled:
    if not isinstance(label, dict):
        raise _Unreadable(f"{schema.attribute} is not an object")
    sizes, annotations = label.get("image_size"), label.get("annotations")
    if not isinstance(sizes, list) or not sizes or not isinstance(sizes[0], dict):
        raise _Unreadable(f"{schema.attribute} has no image_size")
    width, height = _number(sizes[0].get("width"), "width"), _number(sizes[0].get("height"), "height")
    if width <= 0 or height <= 0:
        raise _Unreadable(f"image_size {width} x {height} is empty")
    depth = sizes[0].get("depth", 3)
    if not isinstance(annotations, list):
        raise _Unreadable(f"{schema.attribute} has no annotations list")
    objects = metadata.get("objects")
    class_map = metadata.get("class-map")
    human, job = _common(metadata)
    boxes = []
    for index, box in enumerate(annotations):
        if not isinstance(box, dict):
            raise _Unreadable(f"annotation {index} is not an object")
        class_id = box.get("class_id")
        name = class_map.get(str(class_id)) if isinstance(class_map, dict) else None
        confidence = None
        if isinstance(objects, list) and index < len(objects) and isinstance(objects[index], dict):
            confidence = _confidence(objects[index].get("confidence"))
        box_width, box_height = _number(box.get("width"), "width"), _number(box.get("height"), "height")
        if box_width < 0 or box_height < 0:
            raise _Unreadable(f"annotation {index} has a negative size")
        boxes.append(Box(_category(name, class_id, schema), _number(box.get("left"), "left"),
                         _number(box.get("top"), "top"), box_width, box_height, confidence))  # fmt: skip
    return Labeled(source, digest, human, job, width=width, height=height,
                   depth=depth if isinstance(depth, int) and not isinstance(depth, bool) and depth > 0 else 3,
                   boxes=tuple(boxes))  # fmt: skip


def _class(source: str, digest: bytes, label: Any, metadata: dict[str, Any], schema: ExportSchema) -> Labeled:
    if isinstance(label, bool) or not isinstance(label, (int, str)):
        raise _Unreadable(f"{schema.attribute} is not a class id: {label!r}"[:200])
    human, job = _common(metadata)
    category = _category(metadata.get("class-name"), label, schema)
    return Labeled(source, digest, human, job, category=category,
                   confidence=_confidence(metadata.get("confidence")))  # fmt: skip


BACKGROUND = "BACKGROUND"


def _segments(source: str, digest: bytes, label: Any, metadata: dict[str, Any], schema: ExportSchema) -> Labeled:
    """A semantic segmentation label: `<attr>` (ending in -ref) is the mask's S3 URI; `internal-color-map` maps each
    class's index to its `class-name` and `hex-color` (BACKGROUND is class 0)."""
    if not isinstance(label, str) or parse_s3_uri(label) is None:
        raise _Unreadable(f"{schema.attribute} is not the S3 URI of a mask: {label!r}"[:200])
    color_map = metadata.get("internal-color-map")
    if not isinstance(color_map, dict) or not color_map:
        raise _Unreadable(f"{schema.attribute}-metadata has no internal-color-map")
    colors, confidences = [], []
    for key, entry in color_map.items():
        if not isinstance(entry, dict):
            raise _Unreadable(f"internal-color-map entry {key!r} is not an object")
        name, color = entry.get("class-name"), entry.get("hex-color")
        if not isinstance(color, str) or len(color) != 7 or not color.startswith("#"):
            raise _Unreadable(f"internal-color-map entry {key!r} has no #rrggbb hex-color")
        try:
            rgb = bytes.fromhex(color[1:])
        except ValueError:
            raise _Unreadable(f"internal-color-map entry {key!r} has no #rrggbb hex-color") from None
        category = 0 if name == BACKGROUND else _category(name, None, schema) + 1
        colors.append((rgb, category))
        if category:
            confidences.append((category, _confidence(entry.get("confidence"))))
    human, job = _common(metadata)
    return Labeled(source, digest, human, job, mask_uri=label, colors=tuple(colors),
                   class_confidence=tuple(confidences))  # fmt: skip


def _encodable(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:  # an unpaired surrogate escape ("\ud800") is valid JSON but no text
        return False
    return True


@lru_cache(maxsize=16)  # YOLO and VOC ask for the same image one after the other
def image_stem(source: str) -> str:
    """The relative path, without extension, of an image's per-image files (YOLO labels, VOC annotations):
    `<bucket>/<key without its extension>`, so images copied to `images/<bucket>/<key>` line up with
    `labels/<bucket>/<key stem>.txt` as YOLO loaders expect. Segments are percent-encoded where a file system
    would misread them; a path too long for one is `_/<digest>`."""
    location = parse_s3_uri(source)
    if location is not None:
        bucket, key = location
        head, _, last = key.rpartition("/")
        stem, dot, _extension = last.rpartition(".")
        if not dot or not stem:  # no extension, or a name that only starts with a dot
            stem = last
        segments = [_segment(part) for part in [bucket, *(head.split("/") if head else []), stem]]
        path = "/".join(segments)
        if len(path.encode()) <= _MAX_STEM_BYTES and all(len(s) <= _MAX_SEGMENT_BYTES for s in segments):
            return path
    return f"_/{hashlib.sha256(source.encode()).hexdigest()[:32]}"


def _segment(text: str) -> str:
    if text in ("", ".", ".."):
        return "%2E" * len(text) if text else "%"  # "" -> "%", ".." -> "%2E%2E"; quote never writes a bare %
    return quote(text, safe="-_.~+=@,()!")
