"""Semantic segmentation label masks as Ground Truth writes them: RGB PNG files, one colour per class.

A mask's pixels are class indices (0 = BACKGROUND); the PNG shows each class in its `hex-color` from the
label's `internal-color-map` (https://docs.aws.amazon.com/sagemaker/latest/dg/sms-data-output.html,
"Semantic Segmentation Job Output"): BACKGROUND is #ffffff. The first three label colours are the ones AWS's
documentation shows Ground Truth assigning (#2ca02c, #1f77b4, #ff7f0e: the 3D point cloud semantic
segmentation example on the same page, and the consolidation request example on
https://docs.aws.amazon.com/sagemaker/latest/dg/sms-custom-templates-step3-lambda-requirements.html); the
rest continue the same (matplotlib "tab10"/"tab20") palette, which is an assumption.

PNGs are written with zlib and struct (8-bit RGB, no interlace), so the emulator needs no imaging library;
`decode_png` reads back what `encode_png` writes (tests also read them with matplotlib).
"""

import struct
import zlib

import numpy as np
import numpy.typing as npt

UInt8Array = npt.NDArray[np.uint8]

BACKGROUND = "BACKGROUND"
BACKGROUND_COLOR = "#ffffff"
_PALETTE = (
    "#2ca02c", "#1f77b4", "#ff7f0e", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
    "#17becf", "#98df8a", "#aec7e8", "#ffbb78", "#ff9896", "#c5b0d5", "#c49c94", "#f7b6d2", "#c7c7c7",
    "#dbdb8d", "#9edae5",
)  # fmt: skip
_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def label_colors(count: int) -> list[str]:
    """Hex colours of a job's labels, in label order (class index 1..count). Past the palette, colours are
    spread over the hue circle (a job takes at most 50 labels)."""
    colors = list(_PALETTE[:count])
    for extra in range(count - len(colors)):
        hue = (extra * 0.618033988749895) % 1.0
        red, green, blue = _hsv(hue, 0.65, 0.85 - 0.25 * (extra % 2))
        colors.append(f"#{red:02x}{green:02x}{blue:02x}")
    return colors


def _hsv(hue: float, saturation: float, value: float) -> tuple[int, int, int]:
    sector = int(hue * 6) % 6
    f = hue * 6 - int(hue * 6)
    p, q, t = value * (1 - saturation), value * (1 - f * saturation), value * (1 - (1 - f) * saturation)
    rgb = [(value, t, p), (q, value, p), (p, value, t), (p, q, value), (t, p, value), (value, p, q)][sector]
    return round(rgb[0] * 255), round(rgb[1] * 255), round(rgb[2] * 255)


def rgb(hex_color: str) -> tuple[int, int, int]:
    value = hex_color.removeprefix("#")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


def palette(labels: int) -> UInt8Array:
    """(labels + 1, 3) RGB per class index: BACKGROUND first."""
    return np.array([rgb(BACKGROUND_COLOR), *(rgb(c) for c in label_colors(labels))], dtype=np.uint8)


def colorize(mask: UInt8Array, colors: UInt8Array) -> UInt8Array:
    """(H, W) class indices -> (H, W, 3) RGB."""
    result: UInt8Array = colors[mask]
    return result


def classes_of(image: UInt8Array, colors: UInt8Array) -> UInt8Array:
    """(H, W, 3) RGB (or RGBA) -> (H, W) class indices; a colour not in the palette raises."""
    flat = image[..., :3].reshape(-1, 3).astype(np.int64)
    codes = (flat[:, 0] << 16) | (flat[:, 1] << 8) | flat[:, 2]
    known = (colors[:, 0].astype(np.int64) << 16) | (colors[:, 1].astype(np.int64) << 8) | colors[:, 2]
    order = np.argsort(known)
    position = np.clip(np.searchsorted(known[order], codes), 0, len(known) - 1)
    found = known[order][position] == codes
    if not found.all():
        raise ValueError(f"{int((~found).sum())} pixels have a colour outside the class map")
    result: UInt8Array = order[position].astype(np.uint8).reshape(image.shape[:2])
    return result


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def encode_png(image: UInt8Array) -> bytes:
    """(H, W, 3) uint8 RGB -> PNG bytes (colour type 2, bit depth 8, filter 0 on every row)."""
    height, width, channels = image.shape
    if channels != 3 or image.dtype != np.uint8:
        raise ValueError("encode_png takes (H, W, 3) uint8 RGB")
    rows = np.hstack([np.zeros((height, 1), dtype=np.uint8), image.reshape(height, width * 3)])
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"".join(
        [_SIGNATURE, _chunk(b"IHDR", header), _chunk(b"IDAT", zlib.compress(rows.tobytes(), 6)), _chunk(b"IEND", b"")]
    )


def decode_png(data: bytes) -> UInt8Array:
    """PNG bytes written by `encode_png` (8-bit RGB or RGBA, any of the five filters) -> (H, W, 3) uint8."""
    if not data.startswith(_SIGNATURE):
        raise ValueError("not a PNG file")
    position, idat = len(_SIGNATURE), []
    width = height = channels = 0
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        body = data[position + 8 : position + 8 + length]
        position += 12 + length
        if kind == b"IHDR":
            width, height, depth, color_type, _, _, interlace = struct.unpack(">IIBBBBB", body)
            if depth != 8 or color_type not in (2, 6) or interlace:
                raise ValueError("decode_png reads 8-bit, non-interlaced RGB or RGBA PNGs only")
            channels = 3 if color_type == 2 else 4
        elif kind == b"IDAT":
            idat.append(body)
    raw = np.frombuffer(zlib.decompress(b"".join(idat)), dtype=np.uint8).reshape(height, 1 + width * channels)
    stride = width * channels
    out = np.zeros((height, stride), dtype=np.int64)
    for y in range(height):
        method, line = int(raw[y, 0]), raw[y, 1:].astype(np.int64)
        above = out[y - 1] if y else np.zeros(stride, dtype=np.int64)
        if method == 0:
            out[y] = line
        elif method == 2:
            out[y] = (line + above) % 256
        else:  # sub, average and paeth depend on the reconstructed left neighbour: byte by byte
            row = np.zeros(stride, dtype=np.int64)
            for x in range(stride):
                left = row[x - channels] if x >= channels else 0
                upper_left = above[x - channels] if x >= channels else 0
                if method == 1:
                    predicted = left
                elif method == 3:
                    predicted = (left + above[x]) // 2
                else:
                    p = left + above[x] - upper_left
                    pa, pb, pc = abs(p - left), abs(p - above[x]), abs(p - upper_left)
                    predicted = left if pa <= pb and pa <= pc else (above[x] if pb <= pc else upper_left)
                row[x] = (line[x] + predicted) % 256
            out[y] = row
    result: UInt8Array = out.astype(np.uint8).reshape(height, width, channels)[..., :3]
    return result
