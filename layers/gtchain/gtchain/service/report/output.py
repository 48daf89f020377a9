"""Read a labeling job's output files from S3 into per-iteration counts, one entry in memory at a time.

The files are fetched by a thread a few pieces ahead of the parsing (_ReadAhead), so the time spent waiting on S3
overlaps the time spent parsing; memory stays bounded by those few pieces. While the parsing has pieces enough,
that thread makes the other calls it is given (Deferred: the report's reads of the training logs).
"""

import json
import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from gtchain.domain.report.curves import curve_from_messages
from gtchain.domain.report.models import TrainingCurve
from gtchain.domain.report.parse import (
    ACTIVE_LEARNING_PREFIX,
    AUTO_ANNOTATOR_FILE,
    CHUNK,
    CONSOLIDATION_PREFIX,
    EXAMPLES,
    ITERATION_DIR,
    MODEL_FILE,
    TRAINING_PREFIX,
    WHOLE_FILE_BYTES,
    WORKER_RESPONSE_PREFIX,
    IterationCounts,
    JobDetail,
    LabelReader,
    MalformedJsonError,
    ObjectId,
    ObjectIds,
    TrainingJobRef,
    examples,
    iter_json_array,
)
from gtchain.service.ports import StreamingObjectStore, TrainingLogs

READ_AHEAD = 4  # pieces (chunks or whole small files) fetched and waiting to be parsed: half a megabyte at most
WAIT_S = 0.05


class Deferred[T]:
    """A call made once, by whichever thread comes to it first: the read-ahead thread while the parsing has pieces
    enough, or the caller when it needs the result. An error in the call is raised to the caller, by result()."""

    def __init__(self, call: Callable[[], T]) -> None:
        self._call = call
        self._lock = threading.Lock()
        self._done = False
        self._value: T | None = None
        self._error: Exception | None = None

    def run(self) -> None:
        with self._lock:
            if self._done:
                return
            try:
                self._value = self._call()
            except Exception as exc:  # raised in the caller's thread, by result()
                self._error = exc
            self._done = True

    def result(self) -> T:
        self.run()
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]  # set when the call returned


@dataclass(frozen=True)
class _Read:
    key: str
    whole: bool  # one GET, the body in one piece; else chunks of CHUNK bytes


_END = b""  # marks the end of a file's pieces: a real piece is never empty


class _ReadAhead:
    """Fetch the files in order in a thread, at most READ_AHEAD pieces ahead of the reader. A file's fault (an S3
    error) is raised where its pieces are read. A reader that stops early in a file may go on with the next.
    While the reader has READ_AHEAD pieces waiting, the thread runs the `meanwhile` calls, one at a time."""

    def __init__(
        self, objects: StreamingObjectStore, bucket: str, reads: list[_Read], meanwhile: Sequence[Deferred[Any]] = ()
    ) -> None:
        self._queue: queue.Queue[tuple[int, bytes | Exception]] = queue.Queue(READ_AHEAD)
        self._stop = threading.Event()
        self._meanwhile = list(meanwhile)
        self._thread = threading.Thread(target=self._fetch, args=(objects, bucket, reads), name="report-read-ahead",
                                        daemon=True)  # fmt: skip

    def __enter__(self) -> "_ReadAhead":
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self._stop.set()  # a fetcher waiting for room stops within WAIT_S
        self._thread.join()

    def _put(self, item: tuple[int, bytes | Exception]) -> bool:
        while not self._stop.is_set():
            if self._meanwhile and self._queue.full():
                self._meanwhile.pop(0).run()
                continue
            try:
                self._queue.put(item, timeout=WAIT_S)
            except queue.Full:
                continue
            return True
        return False

    def _fetch(self, objects: StreamingObjectStore, bucket: str, reads: list[_Read]) -> None:
        for index, read in enumerate(reads):
            try:
                if read.whole:
                    pieces: Iterator[bytes] = iter((objects.get_bytes(bucket, read.key),))
                else:
                    pieces = objects.iter_chunks(bucket, read.key, CHUNK)
                for piece in pieces:
                    if piece and not self._put((index, piece)):
                        return
            except Exception as exc:  # the reader raises it: no further file is needed
                self._put((index, exc))
                return
            if not self._put((index, _END)):
                return
        while self._meanwhile and not self._stop.is_set():
            self._meanwhile.pop(0).run()

    def pieces(self, index: int) -> Iterator[bytes]:
        """The pieces of the index-th file, in order (what is left of earlier files is skipped)."""
        while True:
            try:
                got, piece = self._queue.get(timeout=WAIT_S)
            except queue.Empty:
                if self._thread.is_alive() or not self._queue.empty():
                    continue
                raise RuntimeError("the read-ahead thread ended before the files did") from None
            if got < index:
                continue
            if isinstance(piece, Exception):
                raise piece
            if piece is _END:
                return
            yield piece


def _lines(pieces: Iterator[bytes]) -> Iterator[bytes]:
    """Lines, each with its end, cut as botocore's StreamingBody.iter_lines(keepends=True) cuts them: a line ends
    at LF, CR LF or a lone CR, wherever the pieces are cut."""
    pending = b""
    for piece in pieces:
        lines = (pending + piece).splitlines(keepends=True)
        pending = lines.pop() if lines else b""
        yield from lines
    if pending:
        yield pending


class _Reader:
    def __init__(self, objects: StreamingObjectStore, bucket: str, prefix: str, label_attribute: str) -> None:
        self.objects = objects
        self.bucket = bucket
        self.prefix = prefix
        self.label_attribute = label_attribute
        self.detail = JobDetail()
        self.human = ObjectIds()
        self.machine = ObjectIds()
        self.both_examples: list[ObjectId] = []
        self.labels = LabelReader(label_attribute)

    def _keys(self, subprefix: str) -> Iterator[str]:
        for info in self.objects.list_objects(self.bucket, self.prefix + subprefix):
            yield info.key.removeprefix(self.prefix)

    def consolidation_files(self) -> list[tuple[int, str, int]]:
        files = []
        for info in self.objects.list_objects(self.bucket, self.prefix + CONSOLIDATION_PREFIX):
            key = info.key.removeprefix(self.prefix)
            if not key.endswith(".json"):
                continue
            parts = key.split("/")
            match = ITERATION_DIR.match(parts[-2]) if len(parts) >= 2 else None
            if match is None:
                self.detail.warnings.append(f"{key}: not in an iteration-<N> folder; skipped")
                continue
            files.append((int(match.group(1)), key, info.size))
        return sorted(files)

    def worker_response_objects(self) -> list[tuple[int, ObjectId]]:
        """(iteration, datasetObjectId) of every object workers answered: the layout alone says it,
        annotations/worker-response/iteration-<N>/<datasetObjectId>/<time>.json; nothing is read."""
        found = set()
        for key in self._keys(WORKER_RESPONSE_PREFIX):
            parts = key.removeprefix(WORKER_RESPONSE_PREFIX).split("/")
            match = ITERATION_DIR.match(parts[0]) if len(parts) == 3 and parts[2].endswith(".json") else None
            if match is None:
                self.detail.warnings.append(f"{key}: not iteration-<N>/<datasetObjectId>/<file>.json; skipped")
                continue
            found.add((int(match.group(1)), int(parts[1]) if parts[1].isdecimal() else parts[1]))
        return sorted(found, key=lambda pair: (pair[0], str(pair[1])))

    def count_answered(self) -> None:
        """Human-labeled objects from the worker responses, for a job whose consolidation output is absent."""
        for iteration, object_id in self.worker_response_objects():
            if self.human.add(object_id):
                self.detail.at(iteration).human += 1

    def auto_annotator_files(self) -> tuple[list[tuple[int, str]], list[str]]:
        """The files, and warnings about the keys skipped (added after the human files' warnings)."""
        files, warnings = [], []
        for key in self._keys(ACTIVE_LEARNING_PREFIX):
            parts = key.split("/")
            if parts[-1] != AUTO_ANNOTATOR_FILE:
                continue
            if len(parts) < 4 or not parts[-3].isdecimal():
                warnings.append(f"{key}: no iteration number two folders above it; skipped")
                continue
            files.append((int(parts[-3]), key))
        return sorted(files), warnings

    def training_jobs(self) -> tuple[list[TrainingJobRef], list[str]]:
        """The trained models' jobs, and warnings about the keys skipped (added last)."""
        refs, warnings = set(), []
        for key in self._keys(TRAINING_PREFIX):
            parts = key.split("/")
            if parts[-1] != MODEL_FILE:
                continue
            if len(parts) < 6 or parts[-2] != "output" or not parts[-5].isdecimal():
                warnings.append(f"{key}: not <iteration>/<dir>/<training-job>/output/; skipped")
                continue
            refs.add(TrainingJobRef(int(parts[-5]), parts[-3]))
        return sorted(refs, key=lambda ref: (ref.iteration, ref.name)), warnings

    def _response_entries(self, pieces: Iterator[bytes], whole: bool) -> Iterator[Any]:
        if not whole:
            return iter_json_array(pieces)
        body = b"".join(pieces)
        try:
            document = json.loads(body)
        except ValueError:  # malformed: the streaming parser says where, and yields what precedes the fault
            document = None
        return iter(document) if isinstance(document, list) else iter_json_array(iter([body]))

    def read_human(self, iteration: int, key: str, pieces: Iterator[bytes], whole: bool) -> None:
        counted, skipped = 0, 0
        counts = self.detail.at(iteration)
        classes: dict[str, int] = {}
        entry, count, add = self.labels.entry, self.labels.count, self.human.add
        try:
            for element in self._response_entries(pieces, whole):
                parsed = entry(element)
                if parsed is None:
                    skipped += 1
                    continue
                object_id, content = parsed
                if not add(object_id):
                    self.detail.repeated_entries += 1
                    continue
                counts.human += 1
                counts.human_boxes += count(content, classes)
                counted += 1
        except MalformedJsonError as exc:
            self.detail.warnings.append(
                f"{key}: malformed JSON ({exc}); {counted} objects read before the fault were counted"
            )
        self.detail.add_classes(classes, human=True)
        self._drop_if_empty(iteration)
        if skipped:
            self.detail.warnings.append(
                f"{key}: {skipped} entries without a datasetObjectId or a {self.label_attribute!r} annotation; skipped"
            )

    def _drop_if_empty(self, iteration: int) -> None:
        """An iteration is listed only once something was counted in it."""
        if self.detail.iterations.get(iteration) == IterationCounts():
            del self.detail.iterations[iteration]

    def read_machine(self, iteration: int, key: str, pieces: Iterator[bytes]) -> None:
        bad_lines: list[int] = []
        counts = self.detail.at(iteration)
        classes: dict[str, int] = {}
        read, count, human, add = self.labels.line, self.labels.count, self.human, self.machine.add
        for number, line in enumerate(_lines(pieces), 1):
            if not line.strip():
                continue
            parsed = read(line)
            if parsed is None:
                bad_lines.append(number)
                continue
            object_id, content = parsed
            if object_id in human:
                self.detail.in_both += 1
                if len(self.both_examples) < EXAMPLES:
                    self.both_examples.append(object_id)
                continue
            if not add(object_id):
                self.detail.repeated_entries += 1
                continue
            counts.machine += 1
            counts.machine_boxes += count(content, classes)
        self.detail.add_classes(classes, human=False)
        self._drop_if_empty(iteration)
        if bad_lines:
            self.detail.warnings.append(
                f"{key}: {len(bad_lines)} malformed lines skipped (lines {examples(bad_lines[:EXAMPLES])}"
                f"{', ...' if len(bad_lines) > EXAMPLES else ''})"
            )


class JobOutput:
    """A job's output files, listed (consolidation responses, auto-annotator output, trained models); parse()
    reads them."""

    def __init__(self, objects: StreamingObjectStore, bucket: str, prefix: str, label_attribute: str) -> None:
        self._objects, self._bucket, self._prefix = objects, bucket, prefix
        self._reader = _Reader(objects, bucket, prefix, label_attribute)
        self._consolidated = self._reader.consolidation_files()
        self._machine_files, self._machine_warnings = self._reader.auto_annotator_files()
        self.training_jobs, self._training_warnings = self._reader.training_jobs()

    def parse(self, meanwhile: Sequence[Deferred[Any]] = ()) -> JobDetail:
        """Count each object once: human in the lowest iteration it was consolidated in (or, without
        consolidation output, answered by workers in), else machine. `meanwhile`'s calls are made while the
        parsing has pieces enough (all of them by the end).

        Files are read in iteration order (numerically: iteration-10 after iteration-9), so the first
        time an object is seen is its lowest iteration.
        """
        reader, consolidated, machine_files = self._reader, self._consolidated, self._machine_files
        reads = [_Read(self._prefix + key, whole=size <= WHOLE_FILE_BYTES) for _, key, size in consolidated]
        reads += [_Read(self._prefix + key, whole=False) for _, key in machine_files]
        with _ReadAhead(self._objects, self._bucket, reads, meanwhile) as ahead:
            for index, (iteration, key, _) in enumerate(consolidated):
                reader.read_human(iteration, key, ahead.pieces(index), reads[index].whole)
            if not consolidated:
                reader.count_answered()
            reader.detail.warnings += self._machine_warnings
            for index, (iteration, key) in enumerate(machine_files, len(consolidated)):
                reader.read_machine(iteration, key, ahead.pieces(index))
        for deferred in meanwhile:  # those the thread had no time for
            deferred.run()
        detail = reader.detail
        if detail.in_both:
            more = ", ..." if detail.in_both > EXAMPLES else ""
            detail.warnings.append(
                f"{detail.in_both} objects are in both the human (consolidation) and the machine (auto-annotator) "
                f"output; each is counted as human (datasetObjectIds {examples(reader.both_examples)}{more})"
            )
        detail.warnings += self._training_warnings
        detail.training_jobs = self.training_jobs
        detail.iterations = dict(sorted(detail.iterations.items()))
        return detail


def parse_job_output(objects: StreamingObjectStore, bucket: str, prefix: str, label_attribute: str) -> JobDetail:
    """List a job's output files and parse them (JobOutput)."""
    return JobOutput(objects, bucket, prefix, label_attribute).parse()


def training_curve(logs: TrainingLogs, ref: TrainingJobRef) -> tuple[TrainingCurve | None, str | None]:
    """The training job's curve, or why there is none."""
    # Streams are named <training-job-name>/algo-<n>-<time>; the first instance's is enough.
    streams = logs.log_streams(f"{ref.name}/")
    if not streams:
        return None, f"training job {ref.name} (iteration {ref.iteration}) has no log in CloudWatch; no curve"
    curve = curve_from_messages(ref, logs.iter_messages(streams[0]))
    if not curve.values:
        return None, f"training job {ref.name} (iteration {ref.iteration}) logged no validation metric"
    return curve, None


def training_curves(logs: TrainingLogs, refs: list[TrainingJobRef]) -> tuple[list[TrainingCurve], list[str]]:
    """One curve per training job that logged a validation metric; a warning for each that did not."""
    return collect_curves([training_curve(logs, ref) for ref in refs])


def collect_curves(found: Sequence[tuple[TrainingCurve | None, str | None]]) -> tuple[list[TrainingCurve], list[str]]:
    return [c for c, _ in found if c is not None], [w for _, w in found if w is not None]
