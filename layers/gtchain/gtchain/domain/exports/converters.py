"""The formats: each converter takes labeled objects one at a time and writes through an ExportWriter.

What a converter keeps per object is at most a few bytes (a digest of its file name, to refuse two images that
would share one); everything else is written as it comes.
"""

import csv
import hashlib
import io
import json
import shutil
from contextlib import ExitStack
from dataclasses import dataclass
from typing import IO, Any, ClassVar
from xml.sax.saxutils import escape

from gtchain.domain.exports.formats import ExportFormat
from gtchain.domain.exports.objects import Box, ExportSchema, Labeled, Skipped, image_stem
from gtchain.domain.exports.png import encode_grey
from gtchain.domain.exports.segmentation import class_regions
from gtchain.domain.exports.text import number, xml_text, yaml_string
from gtchain.domain.exports.writer import ExportWriter

SKIPPED_FILE = "skipped.jsonl"
COCO_FILE = "annotations.json"
YOLO_DATA = "data.yaml"
YOLO_LABELS = "labels"
VOC_ANNOTATIONS = "Annotations"
VOC_IMAGE_SET = "ImageSets/Main/default.txt"
VOC_LABELS = "labels.txt"
CSV_FILE = "labels.csv"
JSONL_FILE = "labels.jsonl"
CSV_COLUMNS = ("source", "label", "confidence", "human_annotated")
MASKS_INDEX = "index.jsonl"
MASKS_LABELS = "labels.txt"
MASKS_DIR = "masks"


@dataclass
class FormatCounts:
    format: ExportFormat
    objects: int = 0  # images (or rows) written
    annotations: int = 0  # boxes written
    skipped: int = 0  # entries in skipped.jsonl
    dropped_boxes: int = 0  # boxes with no area inside the image (YOLO, VOC)
    files: int = 0  # files written
    main: str = ""  # the format's main file, relative to the export


def skipped_line(entry: dict[str, Any]) -> bytes:
    return json.dumps(entry, ensure_ascii=False).encode() + b"\n"


class Converter:
    format: ClassVar[ExportFormat]
    main: ClassVar[str]

    def __init__(self, writer: ExportWriter, schema: ExportSchema, stack: ExitStack) -> None:
        self.writer = writer
        self.schema = schema
        self.counts = FormatCounts(self.format, main=f"{self.format}/{self.main}")
        self.skipped = self.stream(SKIPPED_FILE, stack)

    def stream(self, name: str, stack: ExitStack) -> IO[bytes]:
        self.counts.files += 1
        return stack.enter_context(self.writer.open_stream(f"{self.format}/{name}"))

    def write_file(self, name: str, body: bytes) -> None:
        self.counts.files += 1
        self.writer.write_file(f"{self.format}/{name}", body)

    def skip(self, entry: dict[str, Any]) -> None:
        self.skip_line(skipped_line(entry))

    def skip_line(self, line: bytes) -> None:
        self.counts.skipped += 1
        self.skipped.write(line)

    def add(self, item: Labeled, where: dict[str, Any]) -> None:
        raise NotImplementedError

    def finish(self) -> None:
        """Close what add() left open (called before the streams are closed)."""


class _PerImage(Converter):
    """Formats with one file per image: two images whose paths differ only in their extension would share one
    file, so the second is left out (with the reason)."""

    suffix: ClassVar[str]

    def __init__(self, writer: ExportWriter, schema: ExportSchema, stack: ExitStack) -> None:
        super().__init__(writer, schema, stack)
        self._stems: set[bytes] = set()

    def claim(self, item: Labeled, where: dict[str, Any]) -> str | None:
        stem = image_stem(item.source)
        key = hashlib.blake2b(stem.encode(), digest_size=12).digest()
        if key in self._stems:
            reason = f"another image already has the file {stem}{self.suffix} (paths that differ only in extension)"
            self.skip(Skipped(item.source, item.digest, "conflict", reason).entry(**where))
            return None
        self._stems.add(key)
        return stem

    def inside(self, item: Labeled, box: Box) -> tuple[float, float, float, float] | None:
        """The box clipped to the image (these formats cannot hold a box outside it); None if nothing is left."""
        x0, y0 = max(0.0, box.left), max(0.0, box.top)
        x1, y1 = min(item.width, box.left + box.width), min(item.height, box.top + box.height)
        if x1 <= x0 or y1 <= y0:
            self.counts.dropped_boxes += 1
            return None
        return x0, y0, x1, y1


class Coco(Converter):
    """One annotations.json (https://cocodataset.org/#format-data): images, categories, annotations. Images are
    written as they come; annotations go to a scratch file and are copied after them."""

    format = ExportFormat.COCO
    main = COCO_FILE

    def __init__(self, writer: ExportWriter, schema: ExportSchema, stack: ExitStack, description: str) -> None:
        super().__init__(writer, schema, stack)
        self.out = self.stream(COCO_FILE, stack)
        self.annotations = stack.enter_context(writer.scratch())
        categories = [{"id": i + 1, "name": name, "supercategory": ""} for i, name in enumerate(schema.labels)]
        head = {"info": {"description": description, "contributor": "gtchain"}, "licenses": [],
                "categories": categories}  # fmt: skip
        self.out.write(json.dumps(head, ensure_ascii=False)[:-1].encode() + b', "images": [')

    def add(self, item: Labeled, where: dict[str, Any]) -> None:
        self.counts.objects += 1
        image_id = self.counts.objects
        image = {"id": image_id, "file_name": item.source, "width": item.width, "height": item.height,
                 "human_annotated": item.human}  # fmt: skip
        self.out.write((b", " if image_id > 1 else b"") + json.dumps(image, ensure_ascii=False).encode())
        if item.mask_uri:
            self._regions(item, image_id)
            return
        for box in item.boxes:
            self.counts.annotations += 1
            annotation: dict[str, Any] = {
                "id": self.counts.annotations, "image_id": image_id, "category_id": box.category + 1,
                "bbox": [box.left, box.top, box.width, box.height], "area": box.width * box.height, "iscrowd": 0,
            }  # fmt: skip
            if not item.human and box.confidence is not None:
                annotation["confidence"] = box.confidence
            separator = b", " if self.counts.annotations > 1 else b""
            self.annotations.write(separator + json.dumps(annotation).encode())

    def _regions(self, item: Labeled, image_id: int) -> None:
        """Semantic segmentation: one annotation per class the mask shows, its pixels as an uncompressed RLE."""
        confidences = dict(item.class_confidence)
        for region in class_regions(item):
            self.counts.annotations += 1
            annotation: dict[str, Any] = {
                "id": self.counts.annotations, "image_id": image_id, "category_id": region["category"],
                "segmentation": region["segmentation"], "area": region["area"], "bbox": region["bbox"], "iscrowd": 0,
            }  # fmt: skip
            if not item.human and confidences.get(region["category"]) is not None:
                annotation["confidence"] = confidences[region["category"]]
            separator = b", " if self.counts.annotations > 1 else b""
            self.annotations.write(separator + json.dumps(annotation).encode())

    def finish(self) -> None:
        self.out.write(b'], "annotations": [')
        self.annotations.seek(0)
        shutil.copyfileobj(self.annotations, self.out)
        self.out.write(b"]}\n")


class Yolo(_PerImage):
    """labels/<stem>.txt per image (`class x_centre y_centre width height`, normalised by the image size) and
    data.yaml with the class names and every image's URI, in the order written."""

    format = ExportFormat.YOLO
    main = YOLO_DATA
    suffix = ".txt"

    def __init__(self, writer: ExportWriter, schema: ExportSchema, stack: ExitStack, description: str) -> None:
        super().__init__(writer, schema, stack)
        self.data = self.stream(YOLO_DATA, stack)
        names = "".join(f"  {i}: {yaml_string(name)}\n" for i, name in enumerate(schema.labels))
        self.data.write(
            f"# {description}\n"
            f"# Image <uri> s3://<bucket>/<key> has its labels in {YOLO_LABELS}/<bucket>/<key without extension>.txt\n"
            f"# (see docs/exports.md): copy the images to images/<bucket>/<key> to train.\n"
            f"# No train/val split is made: both name the same images.\n"
            f"path: .\ntrain: images\nval: images\nnc: {len(schema.labels)}\nnames:\n{names}images:\n".encode()
        )
        self.listed = 0

    def add(self, item: Labeled, where: dict[str, Any]) -> None:
        stem = self.claim(item, where)
        if stem is None:
            return
        lines = []
        for box in item.boxes:
            clipped = self.inside(item, box)
            if clipped is None:
                continue
            x0, y0, x1, y1 = clipped
            cx, cy = (x0 + x1) / 2 / item.width, (y0 + y1) / 2 / item.height
            w, h = (x1 - x0) / item.width, (y1 - y0) / item.height
            lines.append(f"{box.category} {cx:.6f} {cy:.6f} {w:.6f} {h:.6f}\n")
        self.counts.objects += 1
        self.counts.annotations += len(lines)
        self.write_file(f"{YOLO_LABELS}/{stem}.txt", "".join(lines).encode())
        self.data.write(f"  - {yaml_string(item.source)}\n".encode())
        self.listed += 1

    def finish(self) -> None:
        if not self.listed:
            self.data.write(b"  []\n")


class Voc(_PerImage):
    """Annotations/<stem>.xml per image (Pascal VOC: filename, size, object/name, bndbox), the image set
    ImageSets/Main/default.txt listing every stem, and labels.txt with the class names in order."""

    format = ExportFormat.VOC
    main = VOC_IMAGE_SET
    suffix = ".xml"

    def __init__(self, writer: ExportWriter, schema: ExportSchema, stack: ExitStack, description: str) -> None:
        super().__init__(writer, schema, stack)
        self.write_file(VOC_LABELS, "".join(f"{name}\n" for name in schema.labels).encode())
        self.image_set = self.stream(VOC_IMAGE_SET, stack)

    def add(self, item: Labeled, where: dict[str, Any]) -> None:
        stem = self.claim(item, where)
        if stem is None:
            return
        bucket, _, key = item.source.removeprefix("s3://").partition("/")
        parts = [
            "<?xml version='1.0' encoding='utf-8'?>\n<annotation>",
            f"<folder>{_xml(bucket)}</folder><filename>{_xml(key.rsplit('/', 1)[-1])}</filename>",
            f"<path>{_xml(item.source)}</path><source><database>gtchain</database></source>",
            f"<size><width>{number(item.width)}</width><height>{number(item.height)}</height>"
            f"<depth>{item.depth}</depth></size><segmented>0</segmented>",
        ]
        for box in item.boxes:
            clipped = self.inside(item, box)
            if clipped is None:
                continue
            xmin, ymin, xmax, ymax = (number(value) for value in clipped)
            parts.append(
                f"<object><name>{_xml(self.schema.labels[box.category])}</name><pose>Unspecified</pose>"
                f"<truncated>0</truncated><difficult>0</difficult><bndbox><xmin>{xmin}</xmin><ymin>{ymin}</ymin>"
                f"<xmax>{xmax}</xmax><ymax>{ymax}</ymax></bndbox></object>"
            )
            self.counts.annotations += 1
        parts.append("</annotation>\n")
        self.counts.objects += 1
        self.write_file(f"{VOC_ANNOTATIONS}/{stem}.xml", "".join(parts).encode())
        self.image_set.write(f"{stem}\n".encode())


def _xml(text: str) -> str:
    """Element text: &, < and > escaped, and what XML 1.0 cannot hold replaced."""
    return escape(xml_text(text))


class Csv(Converter):
    """labels.csv: source, label, confidence, human_annotated (RFC 4180 quoting, UTF-8)."""

    format = ExportFormat.CSV
    main = CSV_FILE

    def __init__(self, writer: ExportWriter, schema: ExportSchema, stack: ExitStack, description: str) -> None:
        super().__init__(writer, schema, stack)
        self.out = self.stream(CSV_FILE, stack)
        self.text = io.StringIO()
        self.rows = csv.writer(self.text, lineterminator="\r\n")
        self._row(CSV_COLUMNS)

    def _row(self, row: tuple[Any, ...]) -> None:
        self.rows.writerow(row)
        self.out.write(self.text.getvalue().encode())
        self.text.seek(0)
        self.text.truncate()

    def add(self, item: Labeled, where: dict[str, Any]) -> None:
        self.counts.objects += 1
        confidence = "" if item.confidence is None else repr(item.confidence)
        self._row((item.source, self.schema.labels[item.category], confidence, "true" if item.human else "false"))


class Jsonl(Converter):
    """labels.jsonl: one JSON object per labeled object."""

    format = ExportFormat.JSONL
    main = JSONL_FILE

    def __init__(self, writer: ExportWriter, schema: ExportSchema, stack: ExitStack, description: str) -> None:
        super().__init__(writer, schema, stack)
        self.out = self.stream(JSONL_FILE, stack)

    def add(self, item: Labeled, where: dict[str, Any]) -> None:
        self.counts.objects += 1
        row = {"source": item.source, "label": self.schema.labels[item.category], "class_id": item.category,
               "confidence": item.confidence, "human_annotated": item.human, "job_name": item.job_name}  # fmt: skip
        self.out.write(json.dumps(row, ensure_ascii=False).encode() + b"\n")


class Masks(_PerImage):
    """masks/<stem>.png per image: 8-bit greyscale, each pixel its class index (0 = background, i + 1 = chain.json's
    labels[i]); labels.txt (`<index> <name>` per line); index.jsonl (source, mask, size, human_annotated)."""

    format = ExportFormat.MASKS
    main = MASKS_INDEX
    suffix = ".png"

    def __init__(self, writer: ExportWriter, schema: ExportSchema, stack: ExitStack, description: str) -> None:
        super().__init__(writer, schema, stack)
        names = ["BACKGROUND", *schema.labels]
        self.write_file(MASKS_LABELS, "".join(f"{i} {name}\n" for i, name in enumerate(names)).encode())
        self.index = self.stream(MASKS_INDEX, stack)

    def add(self, item: Labeled, where: dict[str, Any]) -> None:
        stem = self.claim(item, where)
        if stem is None:
            return
        path = f"{MASKS_DIR}/{stem}.png"
        self.write_file(path, encode_grey(int(item.width), int(item.height), list(item.mask)))
        self.counts.objects += 1
        row = {"source": item.source, "mask": path, "width": item.width, "height": item.height,
               "human_annotated": item.human}  # fmt: skip
        self.index.write(json.dumps(row, ensure_ascii=False).encode() + b"\n")


CONVERTERS: dict[ExportFormat, type[Coco | Yolo | Voc | Csv | Jsonl | Masks]] = {
    ExportFormat.COCO: Coco, ExportFormat.YOLO: Yolo, ExportFormat.VOC: Voc,
    ExportFormat.CSV: Csv, ExportFormat.JSONL: Jsonl, ExportFormat.MASKS: Masks,
}  # fmt: skip
