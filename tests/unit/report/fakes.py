"""In-memory stand-ins for the reporter's ports (unit tests: no AWS)."""

import io
from collections.abc import Callable, Iterator
from typing import IO

from gtchain.service.ports import ObjectInfo


class MemoryObjects:
    """An object store that hands out chunks of `chunk_size` bytes, however many the caller asks for, so
    tests cross every boundary a real stream can cut at."""

    def __init__(self, chunk_size: int = 7) -> None:
        self.files: dict[tuple[str, str], bytes] = {}
        self.chunk_size = chunk_size
        self.chunk_reads: list[str] = []

    def put(self, bucket: str, key: str, body: bytes, content_type: str = "") -> None:
        self.files[(bucket, key)] = body

    def writer(self, bucket: str) -> Callable[[str, bytes], None]:
        return lambda key, body: self.put(bucket, key, body)

    def head(self, bucket: str, key: str, version: str | None = None) -> ObjectInfo | None:
        body = self.files.get((bucket, key))
        return None if body is None else ObjectInfo(key, str(hash(body)), str(hash(body)), len(body))

    def iter_lines(self, bucket: str, key: str, version: str | None = None) -> Iterator[bytes]:
        yield from io.BytesIO(self.files[(bucket, key)])

    def iter_chunks(self, bucket: str, key: str, chunk_size: int = 1024 * 1024) -> Iterator[bytes]:
        self.chunk_reads.append(key)
        body = self.files[(bucket, key)]
        for start in range(0, len(body), self.chunk_size):
            yield body[start : start + self.chunk_size]

    def get_bytes(self, bucket: str, key: str, version: str | None = None) -> bytes:
        return self.files[(bucket, key)]

    def put_if_absent(self, bucket: str, key: str, body: bytes, content_type: str) -> bool:
        if (bucket, key) in self.files:
            return False
        self.files[(bucket, key)] = body
        return True

    def upload(self, bucket: str, key: str, stream: IO[bytes], content_type: str) -> None:
        self.files[(bucket, key)] = stream.read()

    def list_objects(self, bucket: str, prefix: str) -> Iterator[ObjectInfo]:
        for b, key in sorted(self.files):
            if b == bucket and key.startswith(prefix):
                info = self.head(bucket, key)
                assert info is not None
                yield info


class MemoryLogs:
    def __init__(self, streams: dict[str, list[str]] | None = None) -> None:
        self.streams = streams or {}

    def log_streams(self, prefix: str) -> list[str]:
        return sorted(name for name in self.streams if name.startswith(prefix))

    def iter_messages(self, stream: str) -> Iterator[str]:
        yield from self.streams[stream]
