"""Classification exports (CSV, JSON Lines) read back with the csv and json modules: one row per labeled object,
with its label; failed and unlabeled objects only in skipped.jsonl."""

import csv
import io
import json
from pathlib import Path

import pytest

from gtchain.domain.exports import ExportFormat, ExportSchema, export_lines
from gtchain.domain.tasks import TaskType
from tests.unit.domain.export_support import CLASSES, TEXT, MemoryWriter, class_line, failed_line, unlabeled_line

FORMATS = [ExportFormat.CSV, ExportFormat.JSONL]
IMAGES = "s3://gtchain-data/datasets/birds"
# A real image-classification output manifest (302 lines): shared/real-gt/SOURCES.md, aws/amazon-sagemaker-examples,
# prepare_data/sm-ground_truth_annotation_consolidation_image_classification/ic_data.tar.gz at 2d519b52.
REAL_CLASSES = (
    Path(__file__).parents[4]
    / "shared"
    / "real-gt"
    / "output-manifest"
    / ("ic_birds-open-images-clone.output.manifest")
)


def _results() -> list[bytes]:
    return [
        class_line(f"{IMAGES}/0.jpg", 0, confidence=0.95),
        class_line(f"{IMAGES}/1.jpg", 2, confidence=0.71, human=False),
        failed_line(f"{IMAGES}/2.jpg"),
        unlabeled_line(f"{IMAGES}/3.jpg"),
        class_line(f"{IMAGES}/4.jpg", 1, confidence=0.6),
    ]


def test_csv_and_jsonl_have_one_row_per_labeled_object_with_its_label() -> None:
    writer = MemoryWriter()

    counts = export_lines(_results(), CLASSES, FORMATS, writer)

    rows = list(csv.DictReader(io.StringIO(writer.text("csv/labels.csv"), newline="")))
    assert list(rows[0]) == ["source", "label", "confidence", "human_annotated"]
    assert [(r["source"], r["label"], float(r["confidence"]), r["human_annotated"]) for r in rows] == [
        (f"{IMAGES}/0.jpg", "Sparrow", 0.95, "true"),
        (f"{IMAGES}/1.jpg", "Gull", 0.71, "false"),
        (f"{IMAGES}/4.jpg", "Pigeon", 0.6, "true"),
    ]
    lines = writer.jsonl("jsonl/labels.jsonl")
    assert [(x["source"], x["label"], x["class_id"], x["human_annotated"]) for x in lines] == [
        (f"{IMAGES}/0.jpg", "Sparrow", 0, True), (f"{IMAGES}/1.jpg", "Gull", 2, False),
        (f"{IMAGES}/4.jpg", "Pigeon", 1, True),
    ]  # fmt: skip
    assert [(f.objects, f.skipped) for f in counts.formats] == [(3, 2), (3, 2)]
    for fmt in FORMATS:
        assert [(s["source"], s["status"]) for s in writer.jsonl(f"{fmt}/skipped.jsonl")] == [
            (f"{IMAGES}/2.jpg", "failed"), (f"{IMAGES}/3.jpg", "unlabeled"),
        ]  # fmt: skip


def test_text_with_commas_quotes_and_newlines_reads_back_whole() -> None:
    texts = ['She said "great", then left.', "Two\nlines, one message", "=1+1 is not a formula here"]
    lines = [class_line(text, i % 3, labels=TEXT.labels, text=True) for i, text in enumerate(texts)]
    writer = MemoryWriter()

    export_lines(lines, TEXT, FORMATS, writer)

    rows = list(csv.DictReader(io.StringIO(writer.text("csv/labels.csv"), newline="")))
    assert [r["source"] for r in rows] == texts
    assert [r["label"] for r in rows] == ["Praise", "Complaint", "Question"]
    assert [x["source"] for x in writer.jsonl("jsonl/labels.jsonl")] == texts


def test_a_class_outside_chain_json_labels_is_skipped_with_the_reason() -> None:
    writer = MemoryWriter()
    line = class_line(f"{IMAGES}/0.jpg", 0, labels=["Eagle"])

    export_lines([line], CLASSES, FORMATS, writer)

    [skipped] = writer.jsonl("csv/skipped.jsonl")
    assert skipped["status"] == "unreadable" and "'Eagle' is not one of chain.json's labels" in skipped["reason"]


def test_the_real_image_classification_manifest_exports_every_line() -> None:
    # Read from shared/real-gt beside the clone (CI has it read-only); the class names are the job's own.
    if not REAL_CLASSES.exists():
        pytest.skip(f"{REAL_CLASSES} is not beside this clone")
    lines = REAL_CLASSES.read_bytes().splitlines(keepends=True)
    metadata = [json.loads(x)["birds-open-images-clone-metadata"] for x in lines]
    labels = sorted({m["class-name"] for m in metadata})
    schema = ExportSchema(TaskType.IMAGE_CLASSIFICATION, tuple(labels), "birds-open-images-clone")
    writer = MemoryWriter()

    counts = export_lines(lines, schema, FORMATS, writer)

    rows = list(csv.DictReader(io.StringIO(writer.text("csv/labels.csv"), newline="")))
    assert len(rows) == 302 and counts.skipped == 0
    assert [r["label"] for r in rows] == [m["class-name"] for m in metadata]
    assert all(0.0 <= float(r["confidence"]) <= 1.0 for r in rows)
