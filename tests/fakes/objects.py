"""S3 in memory, as the data bucket is: versioned, ETags, conditional puts, lines and chunks as botocore
streams them. Also CloudWatch Logs' training streams, for the reporter.

What it models: every put makes a new version (its id opaque, distinct per put); head/get without a
version read the latest, with one that version (an unknown version is not found, as a 400 is to the S3
adapter); the ETag of a PUT is the body's MD5 (multipart uploads are not modelled: upload is one PUT);
listings come in key order (UTF-8 binary) and, as ListObjectsV2 gives no version ids, name an object's
ETag as its version; put_if_absent fails while the key has a current version (If-None-Match: *).
"""

import hashlib
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO

from gtchain.service.ports import ObjectInfo


class NoSuchKeyError(KeyError):
    """GetObject of a key (or version) that is not there."""


@dataclass(frozen=True)
class Version:
    version_id: str
    body: bytes
    content_type: str
    metadata: dict[str, str]

    @property
    def etag(self) -> str:
        return hashlib.md5(self.body, usedforsecurity=False).hexdigest()


class FakeObjects:
    """An ObjectStore (and StreamingObjectStore): `chunk_size` is what iter_chunks hands out, however many
    bytes the caller asks for, so tests cross every boundary a real stream can cut at."""

    def __init__(self, chunk_size: int = 7) -> None:
        self.versions: dict[tuple[str, str], list[Version]] = {}  # (bucket, key) -> oldest first
        self.chunk_size = chunk_size
        self.chunk_reads: list[str] = []
        self._ids = itertools.count(1)
        self._before_put: list[tuple[str, Callable[[], None]]] = []

    # ---- what a test injects or reads -------------------------------------------------------------------

    def before_put(self, key: str, action: Callable[[], None]) -> None:
        """Run `action` once, right before the next put of `key` lands (another writer slipping in)."""
        self._before_put.append((key, action))

    def writer(self, bucket: str) -> Callable[[str, bytes], None]:
        return lambda key, body: self.put(bucket, key, body)

    def body(self, bucket: str, key: str) -> bytes:
        return self.get_bytes(bucket, key)

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        return [info.key for info in self.list_objects(bucket, prefix)]

    def history(self, bucket: str, key: str) -> list[bytes]:
        """Every version's body, oldest first (ListObjectVersions)."""
        return [version.body for version in self.versions.get((bucket, key), [])]

    # ---- the port ---------------------------------------------------------------------------------------

    def _version(self, bucket: str, key: str, version: str | None) -> Version | None:
        versions = self.versions.get((bucket, key), [])
        if version is None:
            return versions[-1] if versions else None
        return next((v for v in versions if v.version_id == version), None)

    def head(self, bucket: str, key: str, version: str | None = None) -> ObjectInfo | None:
        found = self._version(bucket, key, version)
        if found is None:
            return None
        return ObjectInfo(key, found.version_id, found.etag, len(found.body), dict(found.metadata))

    def get_bytes(self, bucket: str, key: str, version: str | None = None) -> bytes:
        found = self._version(bucket, key, version)
        if found is None:
            raise NoSuchKeyError(f"s3://{bucket}/{key} (version {version})")
        return found.body

    def iter_lines(self, bucket: str, key: str, version: str | None = None) -> Iterator[bytes]:
        # botocore's StreamingBody.iter_lines(keepends=True): \n, \r\n and a lone \r each end a line.
        yield from self.get_bytes(bucket, key, version).splitlines(keepends=True)

    def iter_chunks(self, bucket: str, key: str, chunk_size: int = 1024 * 1024) -> Iterator[bytes]:
        self.chunk_reads.append(key)
        body = self.get_bytes(bucket, key)
        for start in range(0, len(body), self.chunk_size):
            yield body[start : start + self.chunk_size]

    def put(
        self, bucket: str, key: str, body: bytes, content_type: str = "application/octet-stream",
        metadata: dict[str, str] | None = None,
    ) -> None:  # fmt: skip
        for index, (hooked, action) in enumerate(self._before_put):
            if hooked == key:
                del self._before_put[index]
                action()
                break
        version_id = f"{next(self._ids):08d}.{hashlib.sha256(body).hexdigest()[:12]}"
        version = Version(version_id, body, content_type, dict(metadata or {}))
        self.versions.setdefault((bucket, key), []).append(version)

    def put_if_absent(self, bucket: str, key: str, body: bytes, content_type: str) -> bool:
        if self._version(bucket, key, None) is not None:
            return False
        self.put(bucket, key, body, content_type)
        return True

    def upload(self, bucket: str, key: str, stream: IO[bytes], content_type: str) -> None:
        self.put(bucket, key, stream.read(), content_type)

    def list_objects(self, bucket: str, prefix: str) -> Iterator[ObjectInfo]:
        keys = sorted((k for b, k in self.versions if b == bucket and k.startswith(prefix)), key=str.encode)
        for key in keys:
            latest = self.versions[(bucket, key)][-1]
            yield ObjectInfo(key, latest.etag, latest.etag, len(latest.body))

    def list_prefixes(self, bucket: str, prefix: str) -> Iterator[str]:
        found = {
            prefix + key[len(prefix) :].split("/", 1)[0] + "/"
            for b, key in self.versions
            if b == bucket and key.startswith(prefix) and "/" in key[len(prefix) :]
        }
        yield from sorted(found, key=str.encode)


class FakeLogs:
    """Training log streams (TrainingLogs): stream name -> messages."""

    def __init__(self, streams: dict[str, list[str]] | None = None) -> None:
        self.streams = streams or {}

    def log_streams(self, prefix: str) -> list[str]:
        return sorted(name for name in self.streams if name.startswith(prefix))

    def iter_messages(self, stream: str) -> Iterator[str]:
        yield from self.streams[stream]
