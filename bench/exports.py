"""Exports: the time and peak memory of a 100,000-object export (docs/exports.md), next to the floor (read the same
results manifest and JSON-parse each line, nothing else).

The results manifest is written first, in Ground Truth's output format: bounding boxes (1-3 boxes per image, float
coordinates, 30% human-labeled, 1% failed) and image classification. Each export runs in a fresh interpreter
(bench.proc): the converters read the manifest line by line; whole files (annotations.json, data.yaml, the image
set, the CSV, skipped.jsonl) stream to temporary files as they do in the service, and each per-image file (YOLO,
VOC) is built and handed to the writer, which counts it and drops it, as the service hands it to a put: the
figure is the export's own work and memory, not a disk's or S3's (the row says how many puts it would make).
Its timing covers the work only (imports are done first, and reported apart); its peak RSS is the whole
process's. `python -m bench.exports <result-file> export <task> <manifest> | floor <manifest>` is one child.
"""

import json
import random
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from bench.proc import WORK, Child, child_main, peak_rss_mb, run_child
from bench.report import Row

OBJECTS = 100_000
RUNS = 3
TARGET_PEAK_MB = 512  # the report function's memory; the chain runner that exports has 1,024 MB
FORMATS = {"bounding-box": ["coco", "yolo", "voc"], "image-classification": ["csv", "jsonl"]}
LABELS = {"bounding-box": ["Bird", "Nest", "Feeder"], "image-classification": ["Sparrow", "Pigeon", "Gull"]}
ATTRIBUTE = "category"


def _line(task: str, i: int, rng: random.Random) -> dict[str, Any]:
    source = f"s3://gtchain-bench/datasets/birds/{i // 1000:03d}/{i:06d}.jpg"
    job = "labeling-job/gtchain-birds-a1b2c3-r1-a1"
    if rng.random() < 0.01:
        return {"source-ref": source, f"{ATTRIBUTE}-metadata": {
            "failure-reason": "ClientError: Annotation tasks expired.", "retry-count": 1, "job-name": job}}  # fmt: skip
    human = rng.random() < 0.3
    metadata: dict[str, Any] = {"human-annotated": "yes" if human else "no", "job-name": job,
                                "creation-date": "2026-11-24T10:00:00.123456"}  # fmt: skip
    labels = LABELS[task]
    if task == "image-classification":
        index = rng.randrange(len(labels))
        metadata |= {"class-name": labels[index], "confidence": round(rng.uniform(0.6, 0.95), 2),
                     "type": "groundtruth/image-classification"}  # fmt: skip
        return {"source-ref": source, ATTRIBUTE: index, f"{ATTRIBUTE}-metadata": metadata}
    width, height = rng.choice([(1024, 768), (680, 1024), (1024, 575)])
    boxes = []
    for _ in range(rng.randint(1, 3)):
        w, h = rng.uniform(20, width / 2), rng.uniform(20, height / 2)
        boxes.append({"class_id": rng.randrange(len(labels)), "left": rng.uniform(0, width - w),
                      "top": rng.uniform(0, height - h), "width": w, "height": h})  # fmt: skip
    metadata |= {"objects": [{"confidence": round(rng.uniform(0.5, 0.95), 2)} for _ in boxes],
                 "class-map": {str(i): name for i, name in enumerate(labels)},
                 "type": "groundtruth/object-detection"}  # fmt: skip
    label = {"image_size": [{"width": width, "height": height, "depth": 3}], "annotations": boxes}
    return {"source-ref": source, ATTRIBUTE: label, f"{ATTRIBUTE}-metadata": metadata}


def write_manifest(task: str, path: Path, objects: int = OBJECTS) -> int:
    rng = random.Random(f"exports-{task}")
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as out:
        for i in range(objects):
            out.write(json.dumps(_line(task, i, rng), separators=(",", ":")) + "\n")
    return path.stat().st_size


# ---- the measured children ---------------------------------------------------------------------------------


class _CountingWriter:
    """The service's writer without its destination: streams go to temporary files, per-image files are counted."""

    def __init__(self) -> None:
        self.files = 0
        self.bytes = 0

    def write_file(self, path: str, body: bytes) -> None:
        self.files += 1
        self.bytes += len(body)

    @contextmanager
    def open_stream(self, path: str) -> Iterator[IO[bytes]]:
        with tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024) as stream:
            yield stream
            self.files += 1
            self.bytes += stream.tell()

    @contextmanager
    def scratch(self) -> Iterator[IO[bytes]]:
        with tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024) as stream:
            yield stream


def _export(task: str, manifest: str) -> dict[str, Any]:
    from gtchain.domain.exports import ExportFormat, ExportSchema, export_lines
    from gtchain.domain.tasks import TaskType

    schema = ExportSchema(TaskType(task), tuple(LABELS[task]), ATTRIBUTE)
    imported = peak_rss_mb()
    started = time.perf_counter()
    writer = _CountingWriter()
    with Path(manifest).open("rb") as lines:
        counts = export_lines(lines, schema, [ExportFormat(f) for f in FORMATS[task]], writer)
    return {"seconds": time.perf_counter() - started, "rss_after_imports_mb": imported, "files": writer.files,
            "bytes": writer.bytes, "labeled": counts.labeled, "skipped": counts.skipped,
            "annotations": [f.annotations for f in counts.formats]}  # fmt: skip


def _floor(manifest: str) -> dict[str, Any]:
    imported = peak_rss_mb()
    started = time.perf_counter()
    parsed = 0
    with Path(manifest).open("rb") as lines:
        for line in lines:
            json.loads(line)
            parsed += 1
    return {"seconds": time.perf_counter() - started, "rss_after_imports_mb": imported, "lines": parsed}


def _child(args: list[str]) -> dict[str, Any]:
    method, *rest = args
    if method == "export":
        return _export(rest[0], rest[1])
    return _floor(rest[0])


# ---- the parent -----------------------------------------------------------------------------------------------


def measure_task(task: str) -> list[Row]:
    manifest = WORK / "exports" / f"{task}.manifest"
    size = write_manifest(task, manifest)
    exports: list[Child] = []
    floors: list[Child] = []
    for _ in range(RUNS):  # interleaved, so drift on this shared machine hits both alike
        floors.append(run_child("bench.exports", "floor", str(manifest), log_name="exports-floor"))
        exports.append(run_child("bench.exports", "export", task, str(manifest), log_name="exports"))
    manifest.unlink()
    seconds = statistics.median(c.result["seconds"] for c in exports)
    floor = statistics.median(c.result["seconds"] for c in floors)
    peak = max(c.peak_rss_mb for c in exports)
    after_imports = max(c.result["rss_after_imports_mb"] for c in exports)
    result = exports[0].result
    formats = " + ".join(FORMATS[task])
    floor_peak = max(c.peak_rss_mb for c in floors)
    data = {"objects": OBJECTS, "bytes": size, "runs": RUNS, "seconds": seconds, "floor_seconds": floor,
            "peak_rss_mb": peak, "rss_after_imports_mb": after_imports, "floor_peak_rss_mb": floor_peak,
            **{k: result[k] for k in ("files", "bytes", "labeled", "skipped", "annotations")}}  # fmt: skip
    name = (f"{OBJECTS:,} objects, {task} ({size / 1e6:.0f} MB) -> {formats} "
            f"({result['files']:,} files, {result['bytes'] / 1e6:.0f} MB)")  # fmt: skip
    return [
        Row(
            "exports",
            f"{name}: time (floor: parse the lines)",
            f"{seconds:.1f} s (floor {floor:.1f} s)",
            "",
            None,
            data,
        ),
        Row(
            "exports",
            f"{name}: peak RSS",
            f"{peak:.0f} MB ({after_imports:.0f} MB after imports)",
            f"< {TARGET_PEAK_MB} MB",
            peak < TARGET_PEAK_MB,
        ),
    ]


def measure() -> list[Row]:
    return [row for task in FORMATS for row in measure_task(task)]


if __name__ == "__main__":
    child_main(_child)
