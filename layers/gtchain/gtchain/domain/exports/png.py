"""PNG in pure Python (zlib and struct): read a semantic segmentation label mask, write a class-index mask.

The Lambda layer has no imaging library, so this reads what label masks are: non-interlaced PNG
(https://www.w3.org/TR/png/), 8-bit greyscale, RGB, greyscale with alpha or RGBA, or palette or greyscale of 1,
2, 4 or 8 bits, with any of the five row filters; interlaced and 16-bit files are refused with the reason. It is
meant for masks, not photographs: a pixel costs a few Python operations (about a second for a 1,000 x 1,000 mask
that uses the Sub, Average or Paeth filters; None and Up are much faster).
"""

import struct
import zlib
from dataclasses import dataclass

SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_PIXELS = 50_000_000  # a bigger "mask" is refused rather than allowed to exhaust the function's memory
_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}


class PngError(ValueError):
    pass


@dataclass(frozen=True)
class Image:
    width: int
    height: int
    rows: tuple[bytes, ...]  # one per row: RGB triplets (3 bytes a pixel), whatever the file's colour type


def decode_rgb(data: bytes) -> Image:
    """The pixels as RGB (alpha dropped, greyscale and palette expanded)."""
    if not data.startswith(SIGNATURE):
        raise PngError("not a PNG file")
    position, chunks = len(SIGNATURE), []
    header: tuple[int, ...] | None = None
    palette = b""
    while position + 8 <= len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind, body = data[position + 4 : position + 8], data[position + 8 : position + 8 + length]
        position += 12 + length
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"PLTE":
            palette = body
        elif kind == b"IDAT":
            chunks.append(body)
        elif kind == b"IEND":
            break
    if header is None or not chunks:
        raise PngError("the PNG file has no IHDR or no IDAT")
    width, height, depth, color_type, _, _, interlace = header
    packed = depth in (1, 2, 4) and color_type in (0, 3)  # several pixels a byte: greyscale or palette
    if not (depth == 8 or packed) or color_type not in _CHANNELS or interlace:
        raise PngError(f"unsupported PNG: bit depth {depth}, colour type {color_type}, interlace {interlace}")
    if not 0 < width * height <= MAX_PIXELS:
        raise PngError(f"a {width} x {height} PNG is not a label mask")
    channels = _CHANNELS[color_type]
    stride = (width * depth + 7) // 8 if packed else width * channels
    try:
        raw = zlib.decompressobj().decompress(b"".join(chunks), height * (stride + 1))
    except zlib.error as exc:
        raise PngError(f"the PNG data is corrupt: {exc}") from None
    if len(raw) < height * (stride + 1):
        raise PngError("the PNG data is truncated")
    table = [palette[i : i + 3] for i in range(0, len(palette) - 2, 3)]
    rows = []
    previous = bytes(stride)
    for y in range(height):
        start = y * (stride + 1)
        row = _unfilter(raw[start], raw[start + 1 : start + 1 + stride], previous, channels)
        previous = row
        if packed:
            row = _unpack(row, depth, width, scale=255 // (2**depth - 1) if color_type == 0 else 1)
        rows.append(_to_rgb(row, color_type, table))
    return Image(width, height, tuple(rows))


def _unfilter(method: int, line: bytes, above: bytes, bpp: int) -> bytes:
    if method == 0:
        return line
    if method == 2:
        return bytes((a + b) & 0xFF for a, b in zip(line, above, strict=True))
    out = bytearray(line)
    for x in range(len(out)):
        left = out[x - bpp] if x >= bpp else 0
        if method == 1:
            predicted = left
        elif method == 3:
            predicted = (left + above[x]) >> 1
        elif method == 4:
            upper_left = above[x - bpp] if x >= bpp else 0
            p = left + above[x] - upper_left
            pa, pb, pc = abs(p - left), abs(p - above[x]), abs(p - upper_left)
            predicted = left if pa <= pb and pa <= pc else (above[x] if pb <= pc else upper_left)
        else:
            raise PngError(f"unknown PNG row filter {method}")
        out[x] = (out[x] + predicted) & 0xFF
    return bytes(out)


def _unpack(row: bytes, depth: int, width: int, scale: int) -> bytes:
    """Sub-byte samples, most significant bits first, as one byte each (greyscale scaled to 0-255)."""
    per_byte, mask = 8 // depth, (1 << depth) - 1
    values = bytes(((byte >> (8 - depth * (i + 1))) & mask) * scale for byte in row for i in range(per_byte))
    return values[:width]


def _to_rgb(row: bytes, color_type: int, palette: list[bytes]) -> bytes:
    if color_type == 2:
        return row
    if color_type == 6:
        return b"".join(row[i : i + 3] for i in range(0, len(row), 4))
    if color_type == 0:
        return bytes(v for v in row for _ in range(3))
    if color_type == 4:
        return bytes(v for v in row[::2] for _ in range(3))
    try:
        return b"".join(palette[v] for v in row)
    except IndexError:
        raise PngError("a pixel names a colour the PNG's palette has not") from None


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def encode_grey(width: int, height: int, rows: list[bytes]) -> bytes:
    """An 8-bit greyscale PNG (colour type 0, filter None on every row): here, one class index a pixel."""
    raw = b"".join(b"\x00" + row for row in rows)
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return SIGNATURE + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(raw, 6)) + _chunk(b"IEND", b"")
