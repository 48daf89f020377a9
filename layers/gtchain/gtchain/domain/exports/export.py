"""An export: results-manifest lines in, every chosen format out, in one pass over the lines.

A manifest's export reads its results once. The chain's export reads every manifest's results, newest first, and
keeps one entry per object (source): the newest manifest that labeled it. An object left out of one manifest but
labeled in another is not listed as skipped. What stays in memory is one 16-byte digest per exported object
(the chain's export) and a 12-byte digest per image file name (YOLO, VOC), so 100,000 objects take a few MB.
"""

from collections.abc import Callable, Iterable
from contextlib import ExitStack
from dataclasses import dataclass, field
from types import TracebackType
from typing import IO, Any, Self

from gtchain.domain.exports.converters import CONVERTERS, Converter, FormatCounts, skipped_line
from gtchain.domain.exports.formats import ExportFormat
from gtchain.domain.exports.objects import ExportSchema, Labeled, Skipped, read_line
from gtchain.domain.exports.segmentation import MaskError, with_mask
from gtchain.domain.exports.writer import ExportWriter

# Reads a semantic segmentation mask by its S3 URI (the service's object store); None when it is not there.
Fetch = Callable[[str], bytes | None]


@dataclass
class ExportCounts:
    lines: int = 0  # results lines read
    labeled: int = 0  # objects the formats received
    skipped: int = 0  # objects left out (failed, unlabeled, unreadable), once each
    duplicates: int = 0  # the chain's export: older entries of an object a newer manifest has
    formats: list[FormatCounts] = field(default_factory=list)


class Exporter:
    """Feed it the lines of one or more results manifests (newest first), then close it. Usable as a context
    manager: on an exception the streams it opened are closed, and nothing is finished."""

    def __init__(
        self, writer: ExportWriter, schema: ExportSchema, formats: Iterable[ExportFormat], description: str,
        *, chain: bool = False, fetch: Fetch | None = None,
    ) -> None:  # fmt: skip
        self.schema = schema
        self.chain = chain
        self.fetch = fetch
        self.counts = ExportCounts()
        self._stack = ExitStack()
        try:
            self._converters: list[Converter] = [
                CONVERTERS[f](writer, schema, self._stack, description) for f in dict.fromkeys(formats)
            ]
            self._candidates: IO[bytes] = self._stack.enter_context(writer.scratch())
        except BaseException as exc:
            self._stack.__exit__(type(exc), exc, exc.__traceback__)
            raise
        self._exported: set[bytes] = set()
        self.counts.formats = [c.counts for c in self._converters]

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if kind is None:
            self.close()
        else:  # the streams see the exception: none of them is uploaded half-written
            self._stack.__exit__(kind, error, traceback)

    def feed(self, lines: Iterable[bytes], manifest: str | None = None) -> None:
        for number, raw in enumerate(lines, 1):
            item = read_line(raw, self.schema)
            if item is None:
                continue
            self.counts.lines += 1
            where: dict[str, Any] = {"line": number} if manifest is None else {"manifest": manifest, "line": number}
            if isinstance(item, Skipped):
                # written at the end: in the chain's export, an older manifest may still label the object
                self._candidates.write((item.digest or b"").hex().encode() + b"\t" + skipped_line(item.entry(**where)))
                continue
            if self.chain and item.digest in self._exported:
                self.counts.duplicates += 1
                continue
            if item.mask_uri:
                read = self._read_mask(item)
                if isinstance(read, Skipped):
                    self._candidates.write(item.digest.hex().encode() + b"\t" + skipped_line(read.entry(**where)))
                    continue
                item = read
            if self.chain:
                self._exported.add(item.digest)
            self._add(item, where)

    def _read_mask(self, item: Labeled) -> Labeled | Skipped:
        data = self.fetch(item.mask_uri) if self.fetch is not None else None
        if data is None:
            return Skipped(item.source, item.digest, "unreadable", f"the mask {item.mask_uri} is not there")
        try:
            return with_mask(item, data)
        except MaskError as exc:
            return Skipped(item.source, item.digest, "unreadable", str(exc))

    def _add(self, item: Labeled, where: dict[str, Any]) -> None:
        self.counts.labeled += 1
        for converter in self._converters:
            converter.add(item, where)

    def close(self) -> ExportCounts:
        with self._stack:
            self._write_skipped()
            for converter in self._converters:
                converter.finish()
        return self.counts

    def _write_skipped(self) -> None:
        self._candidates.seek(0)
        listed: set[bytes] = set()
        for raw in self._candidates:
            digest_hex, _, entry = raw.partition(b"\t")
            if digest_hex:
                digest = bytes.fromhex(digest_hex.decode())
                if self.chain and (digest in self._exported or digest in listed):
                    continue
                if self.chain:
                    listed.add(digest)
            self.counts.skipped += 1
            for converter in self._converters:
                converter.skip_line(entry)


def export_lines(
    lines: Iterable[bytes], schema: ExportSchema, formats: Iterable[ExportFormat], writer: ExportWriter,
    description: str = "gtchain export", fetch: Fetch | None = None,
) -> ExportCounts:  # fmt: skip
    """One results manifest to every format in `formats` (each under `<format>/`); `fetch` reads the masks of a
    semantic segmentation chain."""
    with Exporter(writer, schema, formats, description, fetch=fetch) as exporter:
        exporter.feed(lines)
    return exporter.counts
