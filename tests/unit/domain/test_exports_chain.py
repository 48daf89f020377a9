"""The chain's export: every manifest's results, newest first, one entry per object."""

import json

import pytest

from gtchain.domain.exports import Exporter, ExportFormat
from tests.unit.domain.export_support import BOXES, MemoryWriter, box_line, failed_line

IMAGES = "s3://gtchain-data/datasets/birds"


def test_the_newest_label_of_an_object_wins_and_a_later_failure_does_not_hide_an_earlier_label() -> None:
    # Given an older manifest that labeled a, b and c, and a newer one that labeled a again, failed on b, and
    # could label d only
    older = [box_line(f"{IMAGES}/{n}.jpg", [(0, 1, 1, 10, 10)]) for n in "abc"]
    newer = [
        box_line(f"{IMAGES}/a.jpg", [(1, 5, 5, 20, 20)]),
        failed_line(f"{IMAGES}/b.jpg"),
        failed_line(f"{IMAGES}/e.jpg"),
        box_line(f"{IMAGES}/d.jpg", []),
    ]
    writer = MemoryWriter()

    # When the chain is exported, newest first
    with Exporter(writer, BOXES, [ExportFormat.COCO, ExportFormat.YOLO], "chain", chain=True) as exporter:
        exporter.feed(newer, "second.manifest")
        exporter.feed(older, "first.manifest")

    # Then each object is in once, with its newest label; only e, never labeled, is skipped
    coco = json.loads(writer.files["coco/annotations.json"])
    names = {image["id"]: image["file_name"].rsplit("/", 1)[1] for image in coco["images"]}
    assert sorted(names.values()) == ["a.jpg", "b.jpg", "c.jpg", "d.jpg"]
    [a_box] = [x for x in coco["annotations"] if names[x["image_id"]] == "a.jpg"]
    assert a_box["bbox"] == [5, 5, 20, 20] and a_box["category_id"] == 2
    assert exporter.counts.duplicates == 1 and exporter.counts.labeled == 4
    assert [(s["source"], s["manifest"], s["line"]) for s in writer.jsonl("coco/skipped.jsonl")] == [
        (f"{IMAGES}/e.jpg", "second.manifest", 3)
    ]
    assert writer.jsonl("yolo/skipped.jsonl") == writer.jsonl("coco/skipped.jsonl")


def test_an_exception_closes_the_streams_without_finishing_them() -> None:
    writer = MemoryWriter()

    def broken() -> list[bytes]:
        raise OSError("connection reset")

    with (
        pytest.raises(OSError, match="connection reset"),
        Exporter(writer, BOXES, [ExportFormat.COCO], "chain", chain=True) as exporter,
    ):
        exporter.feed([box_line(f"{IMAGES}/a.jpg", [])])
        exporter.feed(broken())

    assert writer.open == []
    assert writer.files == {}  # nothing half-written was kept
