"""Exports: once a manifest's results are written (the report function, on Manifest Completed), its labels in the
formats chain.json's `exports` names, for the manifest and for the whole chain so far; and the same files in a
local folder for the CLI (docs/exports.md).

The converters (domain.exports) stream: they read the results line by line and write through an ExportWriter.
Here the writer is S3 (through the ObjectStore port) or a folder. Large files go through a temporary file and
one upload; per-image files are put concurrently, and a file whose content S3 already holds (same MD5 ETag) is
not put again, so the chain's export, rewritten at every manifest, only puts what changed, and a retried export
only puts what is missing.
"""

import hashlib
import json
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from gtchain.domain import events, names
from gtchain.domain.events import ExportReadyDetail, ExportWritten, FormatWritten, ManifestCompletedDetail
from gtchain.domain.exports import (
    ExportCounts,
    Exporter,
    ExportFormat,
    ExportSchema,
    content_type,
    formats_problem,
)
from gtchain.domain.exports.converters import SKIPPED_FILE
from gtchain.domain.records import ChainRecord, ManifestRecord
from gtchain.domain.spec import ChainSpec
from gtchain.domain.tasks import TaskType
from gtchain.observability import logger
from gtchain.service.outcome import Outcome
from gtchain.service.ports import ChainStore, ObjectStore
from gtchain.service.report.job import ReportPorts

PUT_WORKERS = 8  # concurrent puts of per-image files (botocore's pool holds 10 connections)
SPOOL_BYTES = 8 * 1024 * 1024  # a stream stays in memory up to this size, then moves to a temporary file


class ExportError(Exception):
    """An export that cannot be made as asked (no chain.json, a format the task has not, no results yet)."""


def schema_of(spec: ChainSpec) -> ExportSchema:
    return ExportSchema(spec.task, tuple(spec.labels), spec.label_attribute_name)


# ---- writers -------------------------------------------------------------------------------------------------


class S3ExportWriter:
    """Writes an export under `prefix` in `bucket`. Close it (or use it as a context manager) to wait for the
    puts still running; the first failed put raises there."""

    def __init__(self, objects: ObjectStore, bucket: str, prefix: str, *, workers: int = PUT_WORKERS) -> None:
        self.objects = objects
        self.bucket = bucket
        self.prefix = prefix
        self.puts = 0  # objects put
        self.unchanged = 0  # per-image files S3 already held
        self._etags: dict[bytes, bytes] | None = None  # key digest -> MD5 (8 bytes each), listed on first use
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="export-put")
        self._slots = threading.BoundedSemaphore(workers * 4)  # puts queued at once: bounds the bodies held
        self._failures: list[BaseException] = []

    def __enter__(self) -> "S3ExportWriter":
        return self

    def __exit__(self, kind: object, *_: object) -> None:
        self.close(raise_errors=kind is None)

    def close(self, *, raise_errors: bool = True) -> None:
        self._pool.shutdown(wait=True)
        if self._failures and raise_errors:
            raise self._failures[0]

    @staticmethod
    def _id(key: str) -> bytes:
        return hashlib.blake2b(key.encode(), digest_size=8).digest()

    def _existing(self) -> dict[bytes, bytes]:
        if self._etags is None:
            self._etags = {}
            for info in self.objects.list_objects(self.bucket, self.prefix):
                try:
                    self._etags[self._id(info.key)] = bytes.fromhex(info.etag)[:8]
                except ValueError:  # a multipart ETag ("<hex>-<parts>") is no MD5: the file is put again
                    continue
        return self._etags

    def write_file(self, path: str, body: bytes) -> None:
        if self._failures:
            raise self._failures[0]
        key = self.prefix + path
        if self._existing().get(self._id(key)) == hashlib.md5(body, usedforsecurity=False).digest()[:8]:
            self.unchanged += 1
            return
        self._slots.acquire()
        future = self._pool.submit(self.objects.put, self.bucket, key, body, content_type(path))
        future.add_done_callback(self._done)
        self.puts += 1

    def _done(self, future: "Future[None]") -> None:
        self._slots.release()
        if (error := future.exception()) is not None:
            self._failures.append(error)

    @contextmanager
    def open_stream(self, path: str) -> Iterator[IO[bytes]]:
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as stream:
            yield stream
            stream.seek(0)
            self.objects.upload(self.bucket, self.prefix + path, stream, content_type(path))
            self.puts += 1

    @contextmanager
    def scratch(self) -> Iterator[IO[bytes]]:
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as stream:
            yield stream


class DirectoryWriter:
    """Writes an export into a local folder (the CLI's --out). A stream is written beside its file and renamed
    into place when complete."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.files = 0
        self._folders: set[Path] = set()  # made already: one mkdir per folder, not per file

    def _path(self, path: str) -> Path:
        parts = path.split("/")
        if any(part in ("", ".", "..") for part in parts):  # the converters never make such a path; refuse it
            raise ExportError(f"{path!r} is not a relative path inside {self.root}")
        target = self.root.joinpath(*parts)
        if target.parent not in self._folders:
            target.parent.mkdir(parents=True, exist_ok=True)
            self._folders.add(target.parent)
        return target

    def write_file(self, path: str, body: bytes) -> None:
        self._path(path).write_bytes(body)
        self.files += 1

    @contextmanager
    def open_stream(self, path: str) -> Iterator[IO[bytes]]:
        target = self._path(path)
        partial = target.with_name(target.name + ".partial")
        try:
            with partial.open("w+b") as stream:
                yield stream
            partial.replace(target)
            self.files += 1
        finally:
            partial.unlink(missing_ok=True)

    @contextmanager
    def scratch(self) -> Iterator[IO[bytes]]:
        with tempfile.TemporaryFile() as stream:
            yield stream


# ---- what is exported ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ResultsFile:
    manifest: str  # the manifest's name (birds.manifest)
    bucket: str
    key: str


def newest_first(entries: Iterable[tuple[str, Sequence[int]]]) -> list[str]:
    """Manifest names, the one with the latest rounds first (round numbers run chain-wide, in queue order); a
    name uploaded again counts once, at its latest rounds."""
    latest: dict[str, int] = {}
    for name, rounds in entries:
        latest[name] = max(latest.get(name, 0), max(rounds, default=0))
    return sorted(latest, key=lambda name: (-latest[name], name))


def _describe(chain_id: str, manifest: str | None) -> str:
    scope = f"manifest {manifest}" if manifest else "every manifest with results so far, newest first"
    return f"gtchain export of chain {chain_id}: {scope}"


def _run(
    objects: ObjectStore, files: Sequence[ResultsFile], schema: ExportSchema, formats: Sequence[ExportFormat],
    writer: Any, description: str, *, chain: bool,
) -> ExportCounts:  # fmt: skip
    with Exporter(writer, schema, formats, description, chain=chain, fetch=_fetcher(objects)) as exporter:
        for results in files:
            exporter.feed(objects.iter_lines(results.bucket, results.key), results.manifest if chain else None)
    return exporter.counts


def _fetcher(objects: ObjectStore) -> Callable[[str], bytes | None]:
    """Reads a semantic segmentation mask (in the job's output, under chains/): None when it is not there."""

    def fetch(uri: str) -> bytes | None:
        location = names.parse_s3_uri(uri)
        if location is None or objects.head(*location) is None:
            return None
        return objects.get_bytes(*location)

    return fetch


def _written(bucket: str, prefix: str, counts: ExportCounts) -> ExportWritten:
    base = names.s3_uri(bucket, prefix)
    return ExportWritten(
        uri=base, objects=counts.labeled, skipped=counts.skipped,
        formats=[
            FormatWritten(format=f.format.value, uri=f"{base}{f.format.value}/", main_uri=f"{base}{f.main}",
                          skipped_uri=f"{base}{f.format.value}/{SKIPPED_FILE}", files=f.files, objects=f.objects,
                          annotations=f.annotations, skipped=f.skipped)
            for f in counts.formats
        ],
    )  # fmt: skip


def _export_to_s3(
    objects: ObjectStore, bucket: str, prefix: str, files: Sequence[ResultsFile], schema: ExportSchema,
    formats: Sequence[ExportFormat], description: str, *, chain: bool,
) -> ExportWritten:  # fmt: skip
    with S3ExportWriter(objects, bucket, prefix) as writer:
        counts = _run(objects, files, schema, formats, writer, description, chain=chain)
    logger.info("export written", extra={"prefix": prefix, "objects": counts.labeled, "skipped": counts.skipped,
                                         "puts": writer.puts, "unchanged": writer.unchanged})  # fmt: skip
    return _written(bucket, prefix, counts)


def export_manifest_results(
    objects: ObjectStore, store: ChainStore, bucket: str, chain: ChainRecord, manifest: ManifestRecord
) -> ExportReadyDetail | None:
    """A completed manifest's export, and the chain's export of every manifest with results so far (this one
    included). Nothing when chain.json asks for no exports. Idempotent: an export is rewritten identically
    (per-image files S3 already holds are not put again)."""
    formats = list(chain.spec.exports)
    if not formats:
        return None
    chain_id = chain.chain_id
    schema = schema_of(chain.spec)
    this = ResultsFile(manifest.name, bucket, names.results_key(chain_id, manifest.name))
    manifest_export = _export_to_s3(
        objects, bucket, names.manifest_export_prefix(chain_id, manifest.name), [this], schema, formats,
        _describe(chain_id, manifest.name), chain=False,
    )  # fmt: skip
    done = [(m.name, m.rounds) for m in store.list_manifests(chain_id) if m.status == "completed"]
    ordered = newest_first([*done, (manifest.name, manifest.rounds)])
    files = [ResultsFile(name, bucket, names.results_key(chain_id, name)) for name in ordered]
    chain_export = _export_to_s3(
        objects,
        bucket,
        names.chain_export_prefix(chain_id),
        files,
        schema,
        formats,
        _describe(chain_id, None),
        chain=True,
    )
    return ExportReadyDetail(
        chain_id=chain_id, manifest=manifest.name, results_uri=names.s3_uri(bucket, this.key),
        formats=[f.value for f in formats], manifest_export=manifest_export, chain_export=chain_export,
    )  # fmt: skip


def handle_manifest_completed(ports: ReportPorts, completed: ManifestCompletedDetail) -> Outcome:
    """The report function on Manifest Completed: the manifest's exports, then Export Ready. Run here, not where
    the results are written, so a 100,000-image export has the report function's time and memory and never
    holds up the chain."""
    if ports.store is None or ports.reports_bucket is None:
        raise ValueError("exports need the chain table and the data bucket")
    chain = ports.store.get_chain(completed.chain_id)
    manifest = ports.store.get_manifest(completed.chain_id, completed.manifest, completed.version_id)
    if chain is None or manifest is None:
        return Outcome("ignored", f"{completed.chain_id}/{completed.manifest}: no such chain or manifest")
    detail = export_manifest_results(ports.objects, ports.store, ports.reports_bucket, chain, manifest)
    if detail is None:
        return Outcome("ignored", f"chain {chain.chain_id} asks for no exports")
    if ports.publisher is not None:
        ports.publisher.publish(events.EXPORT_READY, detail.to_detail())
    uris = {"manifestExportUri": detail.manifest_export.uri, "chainExportUri": detail.chain_export.uri}
    return Outcome("exported", f"{chain.chain_id}/{manifest.name}: {', '.join(detail.formats)}", uris)


# ---- the CLI: `gtchain results CHAIN [MANIFEST] --format F --out DIR` -------------------------------------------


def _read_json(objects: ObjectStore, bucket: str, key: str) -> Any:
    if objects.head(bucket, key) is None:
        return None
    try:
        return json.loads(objects.get_bytes(bucket, key))
    except ValueError:
        return None


def chain_schema(objects: ObjectStore, bucket: str, chain_id: str) -> ExportSchema:
    """task, labels and labelAttributeName from the chain's chain.json (fixed for the chain's life, so any
    version that has them will do: the other fields are not checked here)."""
    document = _read_json(objects, bucket, names.spec_key(chain_id))
    if not isinstance(document, dict):
        raise ExportError(f"chain {chain_id} has no readable chain.json (s3://{bucket}/{names.spec_key(chain_id)})")
    task, labels, attribute = document.get("task"), document.get("labels"), document.get("labelAttributeName")
    if task not in {t.value for t in TaskType} or not isinstance(attribute, str) or not attribute:
        raise ExportError(f"chain {chain_id}'s chain.json has no valid task and labelAttributeName")
    if not isinstance(labels, list) or not labels or not all(isinstance(label, str) for label in labels):
        raise ExportError(f"chain {chain_id}'s chain.json has no list of labels")
    return ExportSchema(TaskType(task), tuple(labels), attribute)


def export_to_directory(
    objects: ObjectStore, bucket: str, chain_id: str, formats: Sequence[str], out: Path,
    manifest: str | None = None,
) -> ExportWritten:  # fmt: skip
    """Write `out/<format>/...` for each format from the results already in S3, as the service writes them: one
    manifest's results (`manifest`, with or without .manifest), or, without one, every manifest with results
    (newest first, one entry per object, as the chain's export). The formats need not be in chain.json, but must
    fit the chain's task. Raises ExportError with a one-line reason otherwise."""
    names.check_chain_id(chain_id)
    schema = chain_schema(objects, bucket, chain_id)
    try:
        wanted = [ExportFormat(f) for f in formats]
    except ValueError:
        raise ExportError(
            f"unknown format in {', '.join(formats)}; choose from {', '.join(f.value for f in ExportFormat)}"
        ) from None
    if not wanted:
        raise ExportError("name at least one format")
    if problem := formats_problem(schema.task, wanted):
        raise ExportError(f"chain {chain_id}: {problem}")
    status = _read_json(objects, bucket, names.status_key(chain_id))
    entries = status.get("manifests", []) if isinstance(status, dict) else []
    completed = [
        (e["name"], e.get("rounds") or [])
        for e in entries
        if isinstance(e, dict) and e.get("status") == "completed" and isinstance(e.get("name"), str)
    ]
    if manifest is not None:
        name = manifest if manifest.endswith(names.MANIFEST_SUFFIX) else manifest + names.MANIFEST_SUFFIX
        ordered = [name]
    else:
        ordered = newest_first(completed)
    files = [ResultsFile(name, bucket, names.results_key(chain_id, name)) for name in ordered]
    missing = [f.manifest for f in files if objects.head(bucket, f.key) is None]
    if missing or not files:
        raise ExportError(f"chain {chain_id} has no results for {', '.join(missing) or 'any manifest'} yet")
    writer = DirectoryWriter(out)
    counts = _run(objects, files, schema, wanted, writer, _describe(chain_id, manifest and ordered[0]),
                  chain=manifest is None)  # fmt: skip
    return _written_local(out, counts)


def _written_local(out: Path, counts: ExportCounts) -> ExportWritten:
    base = out.resolve()
    return ExportWritten(
        uri=str(base), objects=counts.labeled, skipped=counts.skipped,
        formats=[
            FormatWritten(format=f.format.value, uri=str(base / f.format.value), main_uri=str(base / f.main),
                          skipped_uri=str(base / f.format.value / SKIPPED_FILE), files=f.files, objects=f.objects,
                          annotations=f.annotations, skipped=f.skipped)
            for f in counts.formats
        ],
    )  # fmt: skip
