"""Bounding-box exports read back by maintained readers: COCO by pycocotools, YOLO's data.yaml by PyYAML, VOC by
the standard library's XML parser; the boxes they give are the results' boxes."""

import json
import math
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from pycocotools.coco import COCO

from gtchain.domain.exports import ExportFormat, ExportSchema, export_lines, image_stem
from gtchain.domain.tasks import TaskType
from tests.unit.domain.export_support import (
    BOXES,
    REAL_BOXES,
    MemoryWriter,
    box_line,
    failed_line,
    unlabeled_line,
)

BOX_FORMATS = [ExportFormat.COCO, ExportFormat.YOLO, ExportFormat.VOC]
IMAGES = "s3://gtchain-data/datasets/birds"


def _results() -> list[bytes]:
    """Human and machine labels, float coordinates, two classes, an image without boxes, and objects the
    training formats must leave out (failed, unlabeled, not JSON)."""
    return [
        box_line(f"{IMAGES}/0001.jpg", [(0, 111, 134, 61, 128), (1, 161.5, 250.25, 30, 30.75)]),
        box_line(
            f"{IMAGES}/0002.jpg",
            [(0, 164.60000000000002, 138.8, 443.8, 300)],
            size=(1024, 768),
            human=False,
            confidences=[0.63],
        ),
        failed_line(f"{IMAGES}/0003.jpg", "ClientError: Annotation tasks expired. 1 of 3 workers responded."),
        box_line(f"{IMAGES}/0004.jpg", []),  # labeled: no bird in the image
        unlabeled_line(f"{IMAGES}/0005.jpg"),
        b"{not json\n",
        box_line(
            f"{IMAGES}/sub/0006.png", [(1, 0, 0, 640, 480), (0, 10, 20, 30, 40)], human=False, confidences=[0.71, 0.92]
        ),
    ]


def _boxes(lines: list[bytes]) -> dict[str, list[tuple[str, float, float, float, float]]]:
    """source-ref -> [(label, left, top, width, height)] of every labeled line, straight from the JSON."""
    found = {}
    for raw in lines:
        try:
            line = json.loads(raw)
        except ValueError:
            continue
        if "category" in line:
            class_map = line["category-metadata"]["class-map"]
            found[line["source-ref"]] = [
                (class_map[str(a["class_id"])], a["left"], a["top"], a["width"], a["height"])
                for a in line["category"]["annotations"]
            ]
    return found


@pytest.fixture
def exported() -> MemoryWriter:
    writer = MemoryWriter()
    export_lines(_results(), BOXES, BOX_FORMATS, writer)
    assert writer.open == []
    return writer


def _coco(writer: MemoryWriter, tmp_path: Any) -> COCO:
    path = tmp_path / "annotations.json"
    path.write_bytes(writer.files["coco/annotations.json"])
    return COCO(str(path))


def test_coco_loads_with_pycocotools_with_the_results_boxes(exported: MemoryWriter, tmp_path: Any) -> None:
    coco = _coco(exported, tmp_path)
    expected = _boxes(_results())

    # categories: chain.json's labels, in order
    assert [coco.cats[i]["name"] for i in sorted(coco.cats)] == ["Bird", "Nest"]
    # images: every labeled object (the one without boxes too), named by its source-ref, sized by image_size
    images = {image["file_name"]: image for image in coco.dataset["images"]}
    assert set(images) == set(expected)
    assert (images[f"{IMAGES}/0002.jpg"]["width"], images[f"{IMAGES}/0002.jpg"]["height"]) == (1024, 768)
    # annotations: as many as the results' boxes, each the same box
    assert len(coco.getAnnIds()) == sum(len(boxes) for boxes in expected.values()) == 5
    for source, boxes in expected.items():
        annotations = coco.loadAnns(coco.getAnnIds(imgIds=[images[source]["id"]]))
        got = [(coco.cats[a["category_id"]]["name"], *a["bbox"]) for a in annotations]
        assert got == boxes
        assert all(a["iscrowd"] == 0 and a["area"] == a["bbox"][2] * a["bbox"][3] for a in annotations)


def test_coco_keeps_machine_labels_confidence(exported: MemoryWriter, tmp_path: Any) -> None:
    coco = _coco(exported, tmp_path)
    by_source = {image["file_name"]: image for image in coco.dataset["images"]}
    confidences = {
        source: [a.get("confidence") for a in coco.loadAnns(coco.getAnnIds(imgIds=[image["id"]]))]
        for source, image in by_source.items()
    }

    assert confidences[f"{IMAGES}/0002.jpg"] == [0.63]
    assert confidences[f"{IMAGES}/sub/0006.png"] == [0.71, 0.92]
    assert confidences[f"{IMAGES}/0001.jpg"] == [None, None]  # human labels carry none
    assert [by_source[s]["human_annotated"] for s in sorted(by_source)] == [True, False, True, False]


def test_yolo_lines_recompute_to_the_pixel_boxes(exported: MemoryWriter) -> None:
    expected = _boxes(_results())
    sizes = {f"{IMAGES}/0002.jpg": (1024, 768)}
    data = yaml.safe_load(exported.files["yolo/data.yaml"])

    assert data["names"] == {0: "Bird", 1: "Nest"} and data["nc"] == 2
    assert data["images"] == list(expected)  # every labeled image, in results order
    for source, boxes in expected.items():
        width, height = sizes.get(source, (640, 480))
        lines = exported.text(f"yolo/labels/{image_stem(source)}.txt").splitlines()
        assert len(lines) == len(boxes)
        for line, (label, left, top, w, h) in zip(lines, boxes, strict=True):
            index, cx, cy, nw, nh = line.split()
            assert data["names"][int(index)] == label
            assert float(nw) * width == pytest.approx(w, abs=1e-3)
            assert float(nh) * height == pytest.approx(h, abs=1e-3)
            assert float(cx) * width - float(nw) * width / 2 == pytest.approx(left, abs=1e-3)
            assert float(cy) * height - float(nh) * height / 2 == pytest.approx(top, abs=1e-3)
    # an image without boxes is a background image: an empty label file
    assert exported.files[f"yolo/labels/{image_stem(f'{IMAGES}/0004.jpg')}.txt"] == b""


def test_yolo_label_files_sit_where_yolo_looks_for_an_image_copied_under_images() -> None:
    # images/<bucket>/<key> -> labels/<bucket>/<key without extension>.txt (YOLO swaps /images/ for /labels/)
    assert image_stem("s3://gtchain-data/datasets/birds/0001.jpg") == "gtchain-data/datasets/birds/0001"
    assert image_stem("s3://b/a b/c+d.e.png") == "b/a%20b/c+d.e"
    assert image_stem("s3://b/noext") == "b/noext"


@pytest.mark.parametrize(
    "source", ["s3://b/../../etc/passwd.jpg", "s3://b//x/./y.jpg", "s3://b/" + "x" * 300 + ".jpg", "file:///x.jpg"]
)
def test_image_file_names_never_leave_the_export_folder(source: str) -> None:
    stem = image_stem(source)

    assert not stem.startswith("/")
    assert all(part not in ("", ".", "..") for part in stem.split("/"))
    assert len(stem.encode()) <= 600


def test_voc_parses_to_the_same_boxes(exported: MemoryWriter) -> None:
    expected = _boxes(_results())
    stems = exported.text("voc/ImageSets/Main/default.txt").splitlines()

    assert stems == [image_stem(source) for source in expected]
    assert exported.text("voc/labels.txt").splitlines() == ["Bird", "Nest"]
    for source, boxes in expected.items():
        root = ET.fromstring(exported.files[f"voc/Annotations/{image_stem(source)}.xml"])  # noqa: S314 (our own output)
        assert root.findtext("path") == source
        assert root.findtext("filename") == source.rsplit("/", 1)[1]
        width, height = int(root.findtext("size/width", "")), int(root.findtext("size/height", ""))
        assert (width, height) == ((1024, 768) if source.endswith("0002.jpg") else (640, 480))
        got = []
        for obj in root.iter("object"):
            xmin, ymin, xmax, ymax = (float(obj.findtext(f"bndbox/{n}", "")) for n in ("xmin", "ymin", "xmax", "ymax"))
            got.append((obj.findtext("name"), xmin, ymin, xmax - xmin, ymax - ymin))
        assert [(label, x, y) for label, x, y, _, _ in got] == [(label, x, y) for label, x, y, _, _ in boxes]
        for (_, _, _, w, h), (_, _, _, ew, eh) in zip(got, boxes, strict=True):
            assert math.isclose(w, ew, abs_tol=1e-9) and math.isclose(h, eh, abs_tol=1e-9)


def test_voc_and_yaml_escape_labels_and_sources() -> None:
    # Given labels and a source-ref with characters XML and YAML give a meaning to (and one XML cannot hold)
    labels = ('Bird <& "Co">', "key: value # not a comment", "line\u2028separator", "é\x01")
    schema = ExportSchema(TaskType.BOUNDING_BOX, labels, "category")
    source = "s3://b/a&b <c>/'quote\"#.jpg"
    writer = MemoryWriter()

    # When the line is exported
    export_lines([box_line(source, [(i, 1, 2, 3, 4) for i in range(4)], labels=labels)], schema, BOX_FORMATS, writer)

    # Then each reader gets back the same text (XML's one impossible character replaced)
    data = yaml.safe_load(writer.files["yolo/data.yaml"])
    assert list(data["names"].values()) == list(labels) and data["images"] == [source]
    root = ET.fromstring(writer.files[f"voc/Annotations/{image_stem(source)}.xml"])  # noqa: S314 (our own output)
    assert root.findtext("path") == source
    assert [o.findtext("name") for o in root.iter("object")] == [*labels[:3], "é\ufffd"]
    assert json.loads(writer.files["coco/annotations.json"])["images"][0]["file_name"] == source


def test_failed_unlabeled_and_unreadable_objects_are_listed_in_skipped(exported: MemoryWriter) -> None:
    for fmt in BOX_FORMATS:
        skipped = exported.jsonl(f"{fmt}/skipped.jsonl")
        assert [(s["source"], s["status"], s["line"]) for s in skipped] == [
            (f"{IMAGES}/0003.jpg", "failed", 3),
            (f"{IMAGES}/0005.jpg", "unlabeled", 5),
            (None, "unreadable", 6),
        ]
        assert skipped[0]["reason"] == "failed: ClientError: Annotation tasks expired. 1 of 3 workers responded."
    # and none of them is in a training format
    assert all("0003" not in path and "0005" not in path for path in exported.files)
    assert b"0003.jpg" not in exported.files["coco/annotations.json"]


def test_two_images_that_would_share_a_label_file_keep_the_first() -> None:
    writer = MemoryWriter()
    lines = [box_line(f"{IMAGES}/a.jpg", [(0, 1, 1, 5, 5)]), box_line(f"{IMAGES}/a.png", [(0, 2, 2, 5, 5)])]

    counts = export_lines(lines, BOXES, BOX_FORMATS, writer)

    assert [(f.format, f.objects) for f in counts.formats] == [("coco", 2), ("yolo", 1), ("voc", 1)]
    [conflict] = writer.jsonl("yolo/skipped.jsonl")
    assert conflict["source"] == f"{IMAGES}/a.png" and conflict["status"] == "conflict"
    assert yaml.safe_load(writer.files["yolo/data.yaml"])["images"] == [f"{IMAGES}/a.jpg"]


def test_boxes_past_the_image_edge_are_clipped_for_yolo_and_voc_and_kept_in_coco() -> None:
    writer = MemoryWriter()
    line = box_line(f"{IMAGES}/a.jpg", [(0, -10, 470, 60, 20), (0, 700, 10, 5, 5)], size=(640, 480))

    counts = export_lines([line], BOXES, BOX_FORMATS, writer)

    assert json.loads(writer.files["coco/annotations.json"])["annotations"][0]["bbox"] == [-10, 470, 60, 20]
    assert writer.text(f"yolo/labels/{image_stem(f'{IMAGES}/a.jpg')}.txt") == "0 0.039062 0.989583 0.078125 0.020833\n"
    assert [f.dropped_boxes for f in counts.formats] == [0, 1, 1]  # the second box lies wholly outside


def test_the_real_ground_truth_bounding_box_manifest_converts_to_coco(tmp_path: Any) -> None:
    # A real job's output manifest (aws/amazon-sagemaker-examples, archived/pytorch_yolov5_training_and_hpo/
    # sample_output.manifest at 2d519b52; tests/data/real-gt/SOURCES.md): 100 images, 192 boxes, float coordinates.
    lines = REAL_BOXES.read_bytes().splitlines(keepends=True)
    schema = ExportSchema(TaskType.BOUNDING_BOX, ("Bird",), "category")
    writer = MemoryWriter()

    counts = export_lines(lines, schema, BOX_FORMATS, writer)

    coco = _coco(writer, tmp_path)
    assert len(coco.getImgIds()) == 100 and len(coco.getAnnIds()) == 192
    assert counts.labeled == 100 and counts.skipped == 0
    assert [(f.objects, f.annotations) for f in counts.formats] == [(100, 192)] * 3
    first = json.loads(lines[0])
    image = coco.loadImgs([1])[0]
    assert (image["file_name"], image["width"], image["height"]) == (first["source-ref"], 680, 1024)
    box = first["category"]["annotations"][0]
    assert coco.loadAnns([1])[0]["bbox"] == [box["left"], box["top"], box["width"], box["height"]]
    assert coco.loadAnns([1])[0]["bbox"][1] == 164.60000000000002  # the float as written, not rounded


def test_the_export_streams_files_out_while_the_lines_are_read() -> None:
    writer = MemoryWriter()
    seen: list[int] = []

    def lines() -> Iterator[bytes]:
        for i in range(2000):
            if i == 1500:  # by now the first images' files are written, before the manifest has been read
                seen.append(len(writer.under("yolo/labels/")))
            yield box_line(f"{IMAGES}/{i:05d}.jpg", [(0, 1, 2, 3, 4)])

    export_lines(lines(), BOXES, BOX_FORMATS, writer)

    assert seen == [1500]
    assert len(writer.under("voc/Annotations/")) == 2000
