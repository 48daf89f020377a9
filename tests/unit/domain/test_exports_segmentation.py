"""Semantic segmentation exports: Ground Truth's colour masks (PNG, `internal-color-map`) read by gtchain's own
PNG reader, written as class-index masks (read back with Pillow) and COCO run-length encodings (read back with
pycocotools); each class's pixels are the mask's."""

import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO

from gtchain.domain.exports import ExportFormat, ExportSchema, export_lines, image_stem
from gtchain.domain.exports.png import PngError, decode_rgb
from gtchain.domain.tasks import TaskType
from local.groundtruth.masks import encode_png, palette
from tests.unit.domain.export_support import MemoryWriter

ATTRIBUTE = "category-ref"
SCHEMA = ExportSchema(TaskType.SEMANTIC_SEGMENTATION, ("Bird", "Feeder"), ATTRIBUTE)
FORMATS = [ExportFormat.COCO, ExportFormat.MASKS]
IMAGES = "s3://gtchain-data/datasets/birds"
OUTPUT = "s3://gtchain-data/chains/birds/jobs/job-1/annotations/consolidated-annotation/output"
COLORS = ["#ffffff", "#2ca02c", "#1f77b4"]  # BACKGROUND, then the labels: the documented first colours


def _classes(seed: int, shape: tuple[int, int] = (37, 53)) -> np.ndarray:
    """A mask of class indices: background with a rectangle of class 1 and a disc of class 2."""
    height, width = shape
    mask = np.zeros(shape, dtype=np.uint8)
    mask[3 + seed : 15 + seed, 4 : 20 + seed] = 1
    yy, xx = np.mgrid[:height, :width]
    mask[(yy - 25) ** 2 + (xx - 35 - seed) ** 2 < 60] = 2
    return mask


def _png(mask: np.ndarray, kind: str) -> bytes:
    rgb = palette(2)[mask]
    if kind == "emulator":  # local.groundtruth.masks: RGB, filter None on every row
        return encode_png(rgb)
    image = Image.fromarray(rgb)
    if kind == "palette":
        image = image.quantize(colors=3, method=Image.Quantize.MEDIANCUT)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")  # Pillow chooses the row filters
    return buffer.getvalue()


def _line(index: int, *, human: bool = True, colors: list[str] = COLORS) -> bytes:
    names = ["BACKGROUND", *SCHEMA.labels]
    color_map = {str(i): {"class-name": n, "hex-color": c, "confidence": [0.8, 0.81, 0.82][i]}
                 for i, (n, c) in enumerate(zip(names, colors, strict=True))}  # fmt: skip
    line = {
        "source-ref": f"{IMAGES}/{index:04d}.jpg", ATTRIBUTE: f"{OUTPUT}/{index}_2026-11-24T10:00:00.000000.png",
        f"{ATTRIBUTE}-metadata": {
            "internal-color-map": color_map, "type": "groundtruth/semantic-segmentation",
            "human-annotated": "yes" if human else "no", "creation-date": "2026-11-24T10:00:00.000000",
            "job-name": "labeling-job/job-1",
        },
    }  # fmt: skip
    return json.dumps(line).encode() + b"\n"


@pytest.mark.parametrize("kind", ["emulator", "rgb", "palette"])
def test_gtchain_reads_the_mask_pngs_as_pillow_does(kind: str) -> None:
    data = _png(_classes(0), kind)

    image = decode_rgb(data)

    expected = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    got = np.frombuffer(b"".join(image.rows), dtype=np.uint8).reshape(image.height, image.width, 3)
    assert (got == expected).all()


def test_an_interlaced_or_broken_png_is_refused_with_the_reason() -> None:
    with pytest.raises(PngError, match="not a PNG"):
        decode_rgb(b"GIF89a")
    data = bytearray(_png(_classes(0), "emulator"))
    data[28] = 1  # IHDR's interlace method
    with pytest.raises(PngError, match="interlace 1"):
        decode_rgb(bytes(data))


def _export(tmp_path: Path) -> tuple[MemoryWriter, dict[str, np.ndarray], COCO]:
    masks = {f"{OUTPUT}/{i}_2026-11-24T10:00:00.000000.png": _classes(i) for i in range(3)}
    stored = {uri: _png(mask, kind) for (uri, mask), kind in zip(masks.items(), ["emulator", "rgb", "palette"],
                                                                   strict=True)}  # fmt: skip
    failed = {"source-ref": f"{IMAGES}/0009.jpg", f"{ATTRIBUTE}-metadata": {"failure-reason": "ClientError: expired",
                                                                          "retry-count": 1}}  # fmt: skip
    lines = [_line(0), _line(1, human=False), json.dumps(failed).encode(), _line(2), _line(7)]
    writer = MemoryWriter()
    export_lines(lines, SCHEMA, FORMATS, writer, fetch=stored.get)
    path = tmp_path / "annotations.json"
    path.write_bytes(writer.files["coco/annotations.json"])
    return writer, {f"{IMAGES}/{i:04d}.jpg": masks[uri] for i, uri in enumerate(masks)}, COCO(str(path))


def test_coco_holds_each_class_as_a_run_length_encoding_of_its_pixels(tmp_path: Path) -> None:
    _, masks, coco = _export(tmp_path)

    assert [coco.cats[i]["name"] for i in sorted(coco.cats)] == ["Bird", "Feeder"]
    images = {image["file_name"]: image for image in coco.dataset["images"]}
    assert sorted(images) == sorted(masks)
    for source, mask in masks.items():
        image = images[source]
        assert (image["height"], image["width"]) == mask.shape
        annotations = coco.loadAnns(coco.getAnnIds(imgIds=[image["id"]]))
        assert [a["category_id"] for a in annotations] == [1, 2]
        for annotation in annotations:
            pixels = mask == annotation["category_id"]
            assert (coco.annToMask(annotation) == pixels).all()
            assert annotation["area"] == pixels.sum() == mask_utils.area(coco.annToRLE(annotation))
            assert annotation["bbox"] == mask_utils.toBbox(coco.annToRLE(annotation)).tolist()
    machine = [(a["image_id"], a["confidence"]) for a in coco.dataset["annotations"] if "confidence" in a]
    assert machine == [(images[f"{IMAGES}/0001.jpg"]["id"], 0.81), (images[f"{IMAGES}/0001.jpg"]["id"], 0.82)]


def test_masks_hold_class_indices_and_the_objects_without_one_are_skipped(tmp_path: Path) -> None:
    writer, masks, _ = _export(tmp_path)

    assert writer.text("masks/labels.txt") == "0 BACKGROUND\n1 Bird\n2 Feeder\n"
    index = writer.jsonl("masks/index.jsonl")
    assert [row["source"] for row in index] == list(masks)
    for row in index:
        assert row["mask"] == f"masks/{image_stem(row['source'])}.png"
        read = np.asarray(Image.open(io.BytesIO(writer.files[f"masks/{row['mask']}"])))
        assert read.dtype == np.uint8 and (read == masks[row["source"]]).all()
    for fmt in FORMATS:
        skipped = writer.jsonl(f"{fmt}/skipped.jsonl")
        assert [(s["source"].rsplit("/", 1)[1], s["status"]) for s in skipped] == [
            ("0009.jpg", "failed"), ("0007.jpg", "unreadable"),
        ]  # fmt: skip
        assert skipped[1]["reason"].endswith("_2026-11-24T10:00:00.000000.png is not there")


def test_a_mask_with_a_colour_outside_the_colour_map_is_skipped() -> None:
    writer = MemoryWriter()
    uri = f"{OUTPUT}/0_2026-11-24T10:00:00.000000.png"
    wrong = ["#ffffff", "#2ca02c", "#000000"]  # class 2 painted in a colour the map does not give

    export_lines([_line(0, colors=wrong)], SCHEMA, FORMATS, writer, fetch={uri: _png(_classes(0), "rgb")}.get)

    [skipped] = writer.jsonl("coco/skipped.jsonl")
    assert "has colour #1f77b4, which internal-color-map has not" in skipped["reason"]
    assert json.loads(writer.files["coco/annotations.json"])["images"] == []


def test_a_class_outside_chain_json_labels_is_skipped(tmp_path: Path) -> None:
    line: dict[str, Any] = json.loads(_line(0))
    line[f"{ATTRIBUTE}-metadata"]["internal-color-map"]["2"]["class-name"] = "Cat"
    writer = MemoryWriter()

    export_lines([json.dumps(line).encode()], SCHEMA, FORMATS, writer, fetch=lambda uri: None)

    [skipped] = writer.jsonl("masks/skipped.jsonl")
    assert skipped["reason"] == "class 'Cat' is not one of chain.json's labels"
