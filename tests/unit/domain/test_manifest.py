import io
import json

import pytest

from gtchain.domain.manifest import check_parts, scan_manifest, split_sizes
from gtchain.domain.tasks import PROFILES, TaskType


@pytest.mark.parametrize(
    "objects,rounds,sizes",
    [(2500, 2, [1250, 1250]), (10, 3, [4, 3, 3]), (11, 3, [4, 4, 3]), (2, 5, [1, 1]), (7, 1, [7])],
)
def test_split_is_contiguous_balanced_and_front_loaded(objects: int, rounds: int, sizes: list[int]) -> None:
    assert split_sizes(objects, rounds) == sizes
    assert sum(sizes) == objects


def _scan(lines: list[str], task: TaskType = TaskType.BOUNDING_BOX) -> tuple[object, bytes]:
    sink = io.BytesIO()
    scan = scan_manifest((line.encode() for line in lines), task=PROFILES[task],
                         allowed_buckets=frozenset({"data"}), sink=sink)  # fmt: skip
    return scan, sink.getvalue()


def test_accepted_lines_stream_to_the_sink_in_order_with_their_sizes() -> None:
    lines = [json.dumps({"source-ref": f"s3://data/{i}.jpg"}) + "\n" for i in range(3)]
    scan, written = _scan([*lines[:2], "\n", lines[2].rstrip("\n")])
    assert written.decode() == "".join(lines)
    assert scan.objects == 3 and list(scan.line_bytes) == [len(line) for line in lines]  # type: ignore[attr-defined]


def test_text_tasks_accept_inline_source() -> None:
    scan, _ = _scan([json.dumps({"source": "great product"}) + "\n"], TaskType.TEXT_CLASSIFICATION)
    assert scan.objects == 1 and scan.issues == []  # type: ignore[attr-defined]


def test_issue_reports_are_capped_but_counted() -> None:
    scan, _ = _scan(["nope\n"] * 250)
    assert scan.issue_count == 250 and len(scan.issues) == 100  # type: ignore[attr-defined]


def test_parts_over_40_mb_are_named() -> None:
    big = json.dumps({"source-ref": "s3://data/x.jpg", "n": "x" * 19_000}) + "\n"
    sink = io.BytesIO()
    lines = (big.replace("x.jpg", f"{i}.jpg").encode() for i in range(2300))
    scan = scan_manifest(lines, task=PROFILES[TaskType.BOUNDING_BOX], allowed_buckets=frozenset({"data"}), sink=sink)
    issues = check_parts(scan, split_sizes(scan.objects, 1))
    assert len(issues) == 1 and "at most 41943040 bytes" in issues[0].message
    assert check_parts(scan, split_sizes(scan.objects, 2)) == []
