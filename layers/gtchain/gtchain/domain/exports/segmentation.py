"""Semantic segmentation labels: a colour mask read into class indices, and the COCO run-length encoding of a class.

Ground Truth's label is a PNG showing each class in its `hex-color` from `internal-color-map`
(https://docs.aws.amazon.com/sagemaker/latest/dg/sms-data-output.html, "Semantic Segmentation Job Output").
"""

import re
from dataclasses import replace
from typing import Any

from gtchain.domain.exports.objects import Labeled
from gtchain.domain.exports.png import PngError, decode_rgb


class MaskError(ValueError):
    pass


def with_mask(item: Labeled, data: bytes) -> Labeled:
    """The item with its mask as class indices (0 = background, i + 1 = labels[i]) and its size from the PNG."""
    try:
        image = decode_rgb(data)
    except PngError as exc:
        raise MaskError(f"the mask {item.mask_uri} cannot be read: {exc}") from None
    lookup = dict(item.colors)
    rows = []
    for row in image.rows:
        try:
            rows.append(bytes(lookup[row[i : i + 3]] for i in range(0, len(row), 3)))
        except KeyError as exc:
            shown = "#" + bytes(exc.args[0]).hex()
            raise MaskError(f"the mask {item.mask_uri} has colour {shown}, which internal-color-map has not") from None
    return replace(item, width=image.width, height=image.height, mask=tuple(rows))


def class_regions(item: Labeled) -> list[dict[str, Any]]:
    """Per class in the mask (background excepted), in class order: its COCO segmentation as an uncompressed RLE
    (`{"size": [height, width], "counts": [...]}`, column-major, starting with a run of other pixels), its area
    (pixels) and its bounding box `[x, y, width, height]`."""
    width, height = int(item.width), int(item.height)
    flat = b"".join(item.mask)
    columns = b"".join(flat[x::width] for x in range(width))  # column-major, as COCO's RLE counts
    regions = []
    for category in sorted(set(flat) - {0}):
        counts, position, area = [], 0, 0
        x0, y0, x1, y1 = width, height, -1, -1
        for run in re.finditer(re.escape(bytes([category])) + b"+", columns):
            start, end = run.span()
            counts += [start - position, end - start]
            position, area = end, area + end - start
            first_x, last_x = start // height, (end - 1) // height
            x0, x1 = min(x0, first_x), max(x1, last_x)
            if first_x == last_x:
                y0, y1 = min(y0, start % height), max(y1, (end - 1) % height)
            else:  # the run crosses a column's end: it holds the last row of one column and the first of the next
                y0, y1 = 0, height - 1
        if position < len(columns):
            counts.append(len(columns) - position)
        regions.append({
            "category": category, "area": area, "bbox": [x0, y0, x1 - x0 + 1, y1 - y0 + 1],
            "segmentation": {"size": [height, width], "counts": counts},
        })  # fmt: skip
    return regions
