"""Where an export's files go: the converters write through this, the service or the CLI decides where.

Paths are relative, with "/" between folders (`coco/annotations.json`, `yolo/labels/<stem>.txt`). Small files
(one per image) are handed over whole; large ones (one per export) are written as a stream, so an export never
holds a whole manifest in memory. A scratch stream is a temporary file the converter writes and reads back."""

from contextlib import AbstractContextManager
from typing import IO, Protocol


class ExportWriter(Protocol):
    def write_file(self, path: str, body: bytes) -> None: ...
    def open_stream(self, path: str) -> AbstractContextManager[IO[bytes]]: ...
    def scratch(self) -> AbstractContextManager[IO[bytes]]: ...


def content_type(path: str) -> str:
    for suffix, kind in ((".json", "application/json"), (".jsonl", "application/x-ndjson"),
                         (".xml", "application/xml"), (".yaml", "application/yaml"), (".csv", "text/csv")):  # fmt: skip
        if path.endswith(suffix):
            return kind
    return "text/plain; charset=utf-8"
