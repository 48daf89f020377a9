"""Results-manifest lines in Ground Truth's output format, and an in-memory ExportWriter, for the export tests."""

import io
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from gtchain.domain.exports import ExportSchema
from gtchain.domain.tasks import TaskType

ATTRIBUTE = "category"
BOXES = ExportSchema(TaskType.BOUNDING_BOX, ("Bird", "Nest"), ATTRIBUTE)
CLASSES = ExportSchema(TaskType.IMAGE_CLASSIFICATION, ("Sparrow", "Pigeon", "Gull"), ATTRIBUTE)
TEXT = ExportSchema(TaskType.TEXT_CLASSIFICATION, ("Praise", "Complaint", "Question"), ATTRIBUTE)
# A real Ground Truth output manifest (100 images, 192 boxes): tests/data/real-gt/SOURCES.md says where from.
REAL_BOXES = Path(__file__).parents[2] / "data" / "real-gt" / "bb_ground-truth-od-demo.sample_output.manifest"

Box = tuple[int, float, float, float, float]  # class_id, left, top, width, height


def box_line(
    source: str, boxes: Sequence[Box], *, size: tuple[float, float] = (640, 480), human: bool = True,
    confidences: Sequence[float] | None = None, labels: Sequence[str] = BOXES.labels, **extra: Any,
) -> bytes:  # fmt: skip
    """A bounding-box line as Ground Truth writes it (https://docs.aws.amazon.com/sagemaker/latest/dg/sms-data-output.html)."""
    annotations = [{"class_id": c, "left": x, "top": y, "width": w, "height": h} for c, x, y, w, h in boxes]
    confidences = confidences if confidences is not None else [0.9] * len(boxes)
    line = {
        "source-ref": source, **extra,
        ATTRIBUTE: {"image_size": [{"width": size[0], "height": size[1], "depth": 3}], "annotations": annotations},
        f"{ATTRIBUTE}-metadata": {
            "objects": [{"confidence": c} for c in confidences],
            "class-map": {str(c): labels[c] for c, *_ in boxes},
            "type": "groundtruth/object-detection", "human-annotated": "yes" if human else "no",
            "creation-date": "2026-11-24T10:00:00.000000", "job-name": "labeling-job/gtchain-birds-a1b2c3-r1-a1",
        },
    }  # fmt: skip
    return json.dumps(line, separators=(",", ":")).encode() + b"\n"


def class_line(
    source: str, index: int, *, labels: Sequence[str] = CLASSES.labels, confidence: float = 0.87, human: bool = True,
    text: bool = False,
) -> bytes:  # fmt: skip
    line = {
        "source" if text else "source-ref": source,
        ATTRIBUTE: index,
        f"{ATTRIBUTE}-metadata": {
            "class-name": labels[index], "confidence": confidence,
            "type": f"groundtruth/{'text' if text else 'image'}-classification",
            "human-annotated": "yes" if human else "no", "creation-date": "2026-11-24T10:00:00.000000",
            "job-name": "labeling-job/gtchain-birds-a1b2c3-r1-a1",
        },
    }  # fmt: skip
    return json.dumps(line, separators=(",", ":")).encode() + b"\n"


def failed_line(source: str, reason: str = "ClientError: Annotation tasks expired.") -> bytes:
    """An object Ground Truth could not label: only <attr>-metadata, with failure-reason and retry-count."""
    metadata = {"failure-reason": reason, "retry-count": 1, "job-name": "labeling-job/gtchain-birds-a1b2c3-r1-a1"}
    return json.dumps({"source-ref": source, f"{ATTRIBUTE}-metadata": metadata}).encode() + b"\n"


def unlabeled_line(source: str) -> bytes:
    return json.dumps({"source-ref": source}).encode() + b"\n"


class MemoryWriter:
    """An ExportWriter that keeps every file in a dict (path -> bytes)."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.open: list[str] = []

    def write_file(self, path: str, body: bytes) -> None:
        assert path not in self.files, f"{path} written twice"
        self.files[path] = body

    @contextmanager
    def open_stream(self, path: str) -> Iterator[IO[bytes]]:
        stream = io.BytesIO()
        self.open.append(path)
        try:
            yield stream
        finally:
            self.open.remove(path)
        self.files[path] = stream.getvalue()  # only when the stream was closed without an exception

    @contextmanager
    def scratch(self) -> Iterator[IO[bytes]]:
        yield io.BytesIO()

    def text(self, path: str) -> str:
        return self.files[path].decode()

    def jsonl(self, path: str) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.text(path).splitlines()]

    def under(self, prefix: str) -> dict[str, bytes]:
        return {path: body for path, body in self.files.items() if path.startswith(prefix)}
