"""Streaming the job's output: exact per-iteration counts from files cut at every possible boundary."""

import json
import threading
from collections import Counter
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from gtchain.domain.report.parse import (
    AUTO_ANNOTATOR_FILE,
    MAX_BIT_ID,
    LabelReader,
    MalformedJsonError,
    ObjectIds,
    iter_json_array,
    label_classes,
    loads,
)
from gtchain.service.report import output as parse
from gtchain.service.report.output import Deferred, JobOutput, parse_job_output
from tests.fakes import FakeObjects
from tests.fixtures.job_outputs import (
    CONSOLIDATION,
    TRUNCATED_KEEPS,
    IterationPlan,
    OutputPlan,
    Truth,
    consolidated_entry,
    write_job_output,
)

BUCKET = "out"
PREFIX = "jobs/birds-1/"
# 12 iterations: the notebook's schedule (probe, training batch, validation batch), then auto-labeling.
TWELVE = (IterationPlan(10), IterationPlan(190), IterationPlan(200)) + (IterationPlan(20, 74),) * 9


def _chunks(data: bytes, *cuts: int) -> Iterator[bytes]:
    start = 0
    for cut in cuts:
        yield data[start:cut]
        start = cut
    yield data[start:]


def _detail_as_truth(objects: FakeObjects) -> tuple[dict[int, dict[str, int]], list[str]]:
    detail = parse_job_output(objects, BUCKET, PREFIX, "category")
    rows = {
        n: {"human": c.human, "machine": c.machine, "humanBoxes": c.human_boxes, "machineBoxes": c.machine_boxes}
        for n, c in detail.iterations.items()
    }
    return rows, detail.warnings


def _written(plan: OutputPlan, chunk_size: int = 4096) -> tuple[FakeObjects, Truth]:
    objects = FakeObjects(chunk_size)
    return objects, write_job_output(objects.writer(BUCKET), PREFIX, plan)


def test_an_array_cut_anywhere_yields_the_same_elements() -> None:
    # Given an array with numbers, nested values, escapes and multi-byte characters
    elements = [{"datasetObjectId": "12345", "v": 1.5e-3, "n": [1, [2, {}]]}, 67890, 'Vögel "🐦"', [], None]
    data = json.dumps(elements, ensure_ascii=False).replace(", ", " ,\n ").encode()

    # When it is read in two chunks cut at every byte, and in one-byte chunks
    for cut in range(len(data) + 1):
        assert list(iter_json_array(_chunks(data, cut))) == elements, cut
    assert list(iter_json_array(iter(data[i : i + 1] for i in range(len(data))))) == elements
    assert list(iter_json_array(iter([b" [ ] \n"]))) == []


@pytest.mark.parametrize(
    ("data", "read", "message"),
    [
        (b'{"datasetObjectId": "1"}', 0, r"does not start with '\['"),
        (b'[{"a": 1}, {"a": 2}, {"a": ', 2, "Expecting value: char 27"),
        (b'[{"a": 1} {"a": 2}]', 1, "expected ',' or ']'"),
        (b'[{"a": 1}, ', 1, "ends inside the array"),
        (b'[{"a": 1}', 1, "ends inside the array"),
        (b'[{"a": 1}] [', 1, "has data after the array"),
        (b'[{"a": 1}, {"a": 2} , ]', 2, "Expecting value: char 22"),
        (b'[{"a": "\xff"}]', 0, "not UTF-8"),
    ],
)
def test_a_malformed_array_raises_after_the_elements_before_the_fault(data: bytes, read: int, message: str) -> None:
    elements: list[object] = []
    with pytest.raises(MalformedJsonError, match=message):
        for element in iter_json_array(_chunks(data, 5)):
            elements.append(element)
    assert len(elements) == read


def test_an_element_bigger_than_the_limit_stops_the_file_instead_of_filling_memory() -> None:
    data = b'[{"a": "' + b"x" * 5000 + b'"}]'
    chunks = (data[i : i + 100] for i in range(0, len(data), 100))
    with pytest.raises(MalformedJsonError):
        list(iter_json_array(chunks, max_element_chars=1000))


def test_twelve_iterations_with_repeated_ids_count_each_object_once_in_its_lowest_iteration() -> None:
    # Given 12 iterations; 5 objects of iteration 2 consolidated again (with other boxes) in iteration 12,
    # whose folder sorts before iteration-2 and ends in "2" like it
    objects, truth = _written(OutputPlan(TWELVE, repeats=5), chunk_size=333)

    # When the output is parsed
    detail = parse_job_output(objects, BUCKET, PREFIX, "category")
    rows, warnings = _detail_as_truth(objects)

    # Then every iteration matches the truth, numerically ordered, and nothing is reported twice
    assert list(detail.iterations) == list(range(1, 13))
    assert rows == truth.iterations
    assert detail.iterations[2].human == 190 and detail.iterations[12].human == 20
    assert detail.total("human") == 580 and detail.total("machine") == 666
    assert detail.repeated_entries == 5
    assert warnings == []
    assert [(r.iteration, r.name) for r in detail.training_jobs] == truth.training_jobs
    assert [r.iteration for r in detail.training_jobs] == list(range(4, 13))


def test_a_job_without_auto_labeling_has_only_human_iterations() -> None:
    objects, truth = _written(OutputPlan((IterationPlan(30), IterationPlan(45)), training=False))

    detail = parse_job_output(objects, BUCKET, PREFIX, "category")

    assert _detail_as_truth(objects) == (truth.iterations, [])
    assert detail.total("machine") == 0 and detail.training_jobs == []


@pytest.mark.parametrize("streamed", [False, True])
def test_a_truncated_response_file_keeps_what_precedes_the_fault_and_says_so(
    streamed: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Read whole, or streamed: then the reader leaves the file at its fault and goes on with the next ones
    if streamed:
        monkeypatch.setattr(parse, "WHOLE_FILE_BYTES", 0)
    objects, truth = _written(OutputPlan((IterationPlan(20), IterationPlan(10, 5)), truncate_a_response_file=True))

    rows, warnings = _detail_as_truth(objects)

    # Iteration 1's second file held ids 10-19: only the first two survived
    assert rows == truth.iterations and rows[1]["human"] == 10 + TRUNCATED_KEEPS
    assert truth.truncated_file is not None
    cut = objects.body(BUCKET, PREFIX + truth.truncated_file).rindex(b'"consolid')
    assert warnings == [
        f"{truth.truncated_file}: malformed JSON (Unterminated string starting at: char {cut}); "
        f"{TRUNCATED_KEEPS} objects read before the fault were counted"
    ]


def test_an_object_labeled_by_humans_and_the_machine_counts_once_as_human() -> None:
    objects, truth = _written(OutputPlan((IterationPlan(20), IterationPlan(5, 30)), in_both=3, malformed_auto_lines=2))

    detail = parse_job_output(objects, BUCKET, PREFIX, "category")

    assert detail.iterations[2].machine == 30 and detail.in_both == 3
    assert detail.warnings == [
        f"{truth.malformed_lines_file}: 2 malformed lines skipped (lines 2, 3)",
        "3 objects are in both the human (consolidation) and the machine (auto-annotator) output; each is "
        "counted as human (datasetObjectIds 0, 1, 2)",
    ]


def test_entries_and_files_out_of_place_are_named_and_skipped() -> None:
    # Given a response file with an entry lacking its id and one lacking the label, a file outside any
    # iteration folder, and an auto-annotator file with no iteration number two folders up
    objects = FakeObjects()
    good = [consolidated_entry(1, 2), consolidated_entry(1, 1)]
    entries = [*good, {"consolidatedAnnotation": {"content": {}}}, {"datasetObjectId": "2", "x": 1}]
    objects.put(BUCKET, f"{PREFIX}{CONSOLIDATION}/iteration-3/2026-11-24_10:00:00.json", json.dumps(entries).encode())
    objects.put(BUCKET, f"{PREFIX}{CONSOLIDATION}/stray.json", b"[]")
    objects.put(BUCKET, f"{PREFIX}activelearning/x/latest/auto_annotator_output.txt", b"5 {}\n")

    detail = parse_job_output(objects, BUCKET, PREFIX, "category")

    assert {n: (c.human, c.human_boxes) for n, c in detail.iterations.items()} == {3: (1, 2)}
    assert detail.repeated_entries == 1
    assert detail.warnings == [
        "annotations/consolidated-annotation/consolidation-response/stray.json: not in an iteration-<N> folder; "
        "skipped",
        "annotations/consolidated-annotation/consolidation-response/iteration-3/2026-11-24_10:00:00.json: 2 entries "
        "without a datasetObjectId or a 'category' annotation; skipped",
        "activelearning/x/latest/auto_annotator_output.txt: no iteration number two folders above it; skipped",
    ]


def test_large_response_files_are_streamed_and_small_ones_read_whole_with_the_same_counts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    plan = OutputPlan((IterationPlan(40),))
    objects, _ = _written(plan, chunk_size=64)
    whole = parse_job_output(objects, BUCKET, PREFIX, "category")
    assert objects.chunk_reads == []  # small files: one GET each, parsed whole

    monkeypatch.setattr(parse, "WHOLE_FILE_BYTES", 0)
    objects, _ = _written(plan, chunk_size=64)
    streamed = parse_job_output(objects, BUCKET, PREFIX, "category")

    assert len(objects.chunk_reads) == 2  # both response files, through iter_chunks (64-byte pieces)
    assert streamed.iterations == whole.iterations and streamed.warnings == whole.warnings


def test_lines_are_cut_as_botocore_cuts_them_wherever_the_chunks_end() -> None:
    # Given auto-annotator lines ended by LF, CR LF and a lone CR, a blank line, and a last line without an end
    data = b'1 {"a": 1}\n\n2 {"b": 2}\r\n3 {"c": 3}\r4 {"d": 4}'
    expected = data.splitlines(keepends=True)  # what StreamingBody.iter_lines(keepends=True) yields

    # When the file arrives in two chunks cut at every byte, and in one-byte chunks, the lines are the same
    for cut in range(len(data) + 1):
        assert list(parse._lines(_chunks(data, cut))) == expected, cut
    assert list(parse._lines(iter(data[i : i + 1] for i in range(len(data))))) == expected


@pytest.mark.parametrize(
    "data",
    [
        b'{"category": {"annotations": [{"class_id": 0}]}, "v": [1.5e-3, NaN, "V\\u00f6gel \xf0\x9f\x90\xa6"]}',
        b' {"a": 1} ', b"[1, 2]", b"7", b'"x"', b"null", b'{"a": 1} {"b": 2}', b'{"a": 1', b"", b"\xff",
        b'\xef\xbb\xbf{"a": 1}', '{"a": 1}'.encode("utf-16"), '{"a": 1}'.encode("utf-16-le"),
        b'{"a": "\xed\xa0\x80"}', b'{"a": "\\ud800"}',
    ],
)  # fmt: skip
def test_loads_gives_what_json_loads_gives(data: bytes) -> None:
    try:
        expected: Any = json.loads(data)
    except ValueError as exc:
        with pytest.raises(type(exc)):
            loads(data)
    else:
        assert repr(loads(data)) == repr(expected)  # repr: NaN is not equal to itself


def test_object_ids_keep_manifest_line_numbers_as_bits_and_any_other_id_apart() -> None:
    ids = ObjectIds()
    added = [0, 7, 8, 100_000, MAX_BIT_ID - 1, MAX_BIT_ID, -1, "7", "bird-1"]
    for value in added:
        assert value not in ids and ids.add(value)
        assert value in ids and not ids.add(value)
    assert all(value not in ids for value in (1, 6, 9, 99_999, 100_001, MAX_BIT_ID + 1, -2, "0", "8"))


def test_labels_are_counted_as_label_classes_names_them_while_the_class_map_changes() -> None:
    gulls = {"class-map": {"0": "Bird", "1": "Gull"}}
    cases: list[tuple[Any, Any, int]] = [  # label, metadata, boxes
        ({"annotations": [{"class_id": 0}, {"class_id": 1}, {"class_id": 0}]}, gulls, 3),
        ({"annotations": [{"class_id": 1}, {"class_id": "1"}, {"class_id": 2}, {}, "box", {"class_id": None}]}, gulls,
         6),
        ({"annotations": [{"class_id": 0}, {"class_id": 1}]}, {"class-map": {"0": "Pigeon"}}, 2),  # another map
        ({"annotations": [{"class_id": 0}, {"class_id": [0]}, {"class_id": 1.0}, {"class_id": True}]}, None, 4),
        ({"annotations": [{"class_id": 0}, {"class_id": 1}]}, gulls, 2),  # the first map again
        (3, {"class-name": "Gull"}, 0), (3, {}, 0), (True, gulls, 0), ({"annotations": "boxes"}, gulls, 0),
        ("mask.png", gulls, 0),
    ]  # fmt: skip
    labels = LabelReader("category")
    for label, metadata, boxes in cases:
        counted: dict[str, int] = {}
        assert labels.count({"category": label, "category-metadata": metadata}, counted) == boxes
        assert counted == Counter(label_classes(label, metadata)), (label, metadata)


def test_calls_made_meanwhile_are_made_once_each_and_their_errors_reach_the_caller() -> None:
    # Given calls for the parse to make while it reads (as the report reads the training logs), one of them failing
    objects, truth = _written(OutputPlan(TWELVE), chunk_size=333)
    made: list[int] = []

    def call(number: int) -> int:
        made.append(number)
        if number == 3:
            raise LookupError("no such log")
        return number

    calls = [Deferred(partial(call, number)) for number in range(6)]

    # When the output is parsed, every call is made once, its result or its error kept for the caller
    detail = JobOutput(objects, BUCKET, PREFIX, "category").parse(meanwhile=calls)
    assert sorted(made) == list(range(6))
    assert [calls[n].result() for n in (0, 1, 2, 4, 5)] == [0, 1, 2, 4, 5]
    assert sorted(made) == list(range(6))  # asking for a result makes no call again
    with pytest.raises(LookupError, match="no such log"):
        calls[3].result()
    rows = {n: {"human": c.human, "machine": c.machine, "humanBoxes": c.human_boxes, "machineBoxes": c.machine_boxes}
            for n, c in detail.iterations.items()}  # fmt: skip
    assert rows == truth.iterations and detail.warnings == []  # and the parse is the same


class _UnreadableObjects(FakeObjects):
    """A store whose chunks of one key cannot be read (a connection that breaks)."""

    def __init__(self, unreadable: str, chunk_size: int) -> None:
        super().__init__(chunk_size)
        self.unreadable = unreadable

    def iter_chunks(self, bucket: str, key: str, chunk_size: int = 1024 * 1024) -> Iterator[bytes]:
        for number, chunk in enumerate(super().iter_chunks(bucket, key, chunk_size)):
            if key.endswith(self.unreadable) and number == 2:
                raise ConnectionError(f"{key}: connection reset")
            yield chunk


def test_a_file_that_cannot_be_read_fails_the_parse_with_its_error_and_the_read_ahead_stops() -> None:
    # Given an output whose auto-annotator file of iteration 6 breaks off after two chunks
    objects = _UnreadableObjects(f"/output/6/batch-006/{AUTO_ANNOTATOR_FILE}", chunk_size=333)
    write_job_output(objects.writer(BUCKET), PREFIX, OutputPlan(TWELVE))

    # When the output is parsed, the error is the parse's, and no reading thread is left behind
    with pytest.raises(ConnectionError, match="connection reset"):
        parse_job_output(objects, BUCKET, PREFIX, "category")
    assert not any(thread.name == "report-read-ahead" for thread in threading.enumerate())


REAL = Path(__file__).resolve().parents[4] / "shared" / "real-gt"


@pytest.mark.skipif(not REAL.is_dir(), reason="../shared/real-gt is not beside the repository")
def test_a_real_jobs_worker_responses_count_its_human_labels_per_iteration() -> None:
    # Given the real job birds-open-images-clone's output as Ground Truth laid it out: its output manifest and
    # worker responses (aws/amazon-sagemaker-examples, ic_data.tar.gz; no consolidation output is public)
    objects = FakeObjects()
    prefix = "jobs/birds-open-images-clone/"
    real = REAL / "output-manifest" / "ic_birds-open-images-clone.output.manifest"
    objects.put(BUCKET, prefix + "manifests/output/output.manifest", real.read_bytes())
    responses = REAL / "worker-response" / "birds-open-images-clone"
    for path in sorted(responses.rglob("*.json")):
        objects.put(BUCKET, f"{prefix}annotations/worker-response/{path.relative_to(responses)}", path.read_bytes())

    # When the reporter parses it
    detail = parse_job_output(objects, BUCKET, prefix, "birds-open-images-clone")

    # Then the numbers are the files': 10 objects answered in iteration 1, 292 in iteration 2, all by humans
    assert {n: (c.human, c.machine) for n, c in detail.iterations.items()} == {1: (10, 0), 2: (292, 0)}
    assert detail.total("human") == 302 == len(real.read_bytes().splitlines())
    assert detail.warnings == []
