"""Hostile manifest lines are bad input: each one is an issue naming its line and field, never an exception.

The line under test is always line 2, after a good line, so the report must point at it."""

import io
import json

import pytest

from gtchain.domain.manifest import scan_manifest
from gtchain.domain.tasks import PROFILES, TaskType

ALLOWED = "allowed-bucket"
GOOD = json.dumps({"source-ref": f"s3://{ALLOWED}/good.jpg"}).encode() + b"\n"
REF = f'"source-ref": "s3://{ALLOWED}/a.jpg"'.encode()

# name: (line 2, the field the issue names, a fragment of its message)
HOSTILE: dict[str, tuple[bytes, str | None, str]] = {
    # issue 11, defect 2: each of these raised out of the start function
    "5,000-digit integer": (b"{" + REF + b', "n": ' + b"1" * 5000 + b"}", "n", "out of range"),
    "30,000 nested [": (b"[" * 30_000, None, "nested more than 64 levels"),
    "unpaired surrogate in source-ref": (b'{"source-ref": "s3://allowed-bucket/\\ud800.jpg"}', "source-ref",
                                         "unpaired surrogate"),
    # its siblings
    "5,000-digit negative integer": (b"{" + REF + b', "n": -' + b"1" * 5000 + b"}", "n", "out of range"),
    "integer over the float range": (b"{" + REF + b', "n": 2' + b"0" * 308 + b"}", "n", "out of range"),
    "19,000 nested {": (b'{"a":' * 19_000, "a", "nested more than 64 levels"),
    "nesting just over the limit": (b"{" + REF + b', "n": ' + b"[" * 64 + b"]" * 64 + b"}", "n", "nested more"),
    "nested huge integer": (b"{" + REF + b', "n": {"m": [1, ' + b"9" * 400 + b"]}}", "n.m.1", "out of range"),
    "unpaired low surrogate": (b"{" + REF + b', "note": "x\\udc00"}', "note", "unpaired surrogate"),
    "surrogate in a key": (b"{" + REF + b', "\\ud800": 1}', "\ud800", "unpaired surrogate"),
    "NUL character": (b"{" + REF + b', "note": "a\\u0000b"}', "note", "control character U+0000"),
    "escape character": (b"{" + REF + b', "note": "\\u001b[31m"}', "note", "control character U+001B"),
    "raw control character": (b"{" + REF + b', "note": "a\x01b"}', None, "Invalid control character"),
    "invalid UTF-8": (b"{" + REF + b', "note": "\xff"}', None, "not UTF-8"),
    "UTF-8-encoded surrogate": (b"{" + REF + b', "note": "\xed\xa0\x80"}', None, "not UTF-8"),
    # duplicate keys (defect 4), however the second one is spelled
    "duplicate source-ref": (b'{"source-ref": "s3://evil-bucket/secret.jpg", "source-ref": "s3://allowed-bucket/ok.jpg"}',
                             "source-ref", 'duplicate key "source-ref"'),
    "duplicate source-ref, escaped": (
        b'{"source-ref": "s3://evil-bucket/secret.jpg", "source\\u002dref": "s3://allowed-bucket/ok.jpg"}',
        "source-ref", 'duplicate key "source-ref" (written "source\\u002dref")',
    ),
    "duplicate source-ref, all escaped": (
        b'{"\\u0073ource-ref": "s3://evil-bucket/a.jpg", "source-ref": "s3://allowed-bucket/ok.jpg"}',
        "source-ref", 'duplicate key "source-ref"',
    ),
    "duplicate nested key": (b"{" + REF + b', "meta": {"k": 1, "k": 2}}', "meta.k", 'duplicate key "k"'),
    # numbers JSON does not have, or that overflow to inf
    "NaN": (b"{" + REF + b', "score": NaN}', "score", "NaN is not a JSON number"),
    "Infinity": (b"{" + REF + b', "score": Infinity}', "score", "Infinity is not a JSON number"),
    "-Infinity": (b"{" + REF + b', "score": [-Infinity]}', "score.0", "-Infinity is not a JSON number"),
    "1e400": (b"{" + REF + b', "score": 1e400}', "score", "out of range"),
    "-1e400": (b"{" + REF + b', "score": -1e400}', "score", "out of range"),
    "long mantissa over the range": (b"{" + REF + b', "score": 9' + b"9" * 400 + b'.5}', "score", "out of range"),
    # byte order marks
    "UTF-8 BOM": (b"\xef\xbb\xbf" + GOOD.replace(b"good", b"bom"), None, "byte order mark (BOM)"),
    "UTF-16 BOM": (b"\xff\xfe{\x00}\x00", None, "UTF-16"),
}  # fmt: skip


def _scan(line: bytes, task: TaskType = TaskType.BOUNDING_BOX) -> tuple[object, bytes]:
    sink = io.BytesIO()
    scan = scan_manifest([GOOD, line + b"\n"], task=PROFILES[task], allowed_buckets=frozenset({ALLOWED}), sink=sink)
    return scan, sink.getvalue()


@pytest.mark.parametrize("case", list(HOSTILE))
def test_a_hostile_line_is_an_issue_with_its_line_and_field(case: str) -> None:
    line, field, message = HOSTILE[case]

    scan, written = _scan(line)

    [issue] = scan.issues  # type: ignore[attr-defined]
    assert (issue.line, issue.field) == (2, field)
    assert message in issue.message
    assert scan.objects == 1 and written == GOOD  # type: ignore[attr-defined]


def test_a_bom_is_named_as_such() -> None:
    scan, _ = _scan(b"\xef\xbb\xbf" + GOOD.replace(b"good", b"bom").rstrip())
    [issue] = scan.issues  # type: ignore[attr-defined]
    assert "UTF-8 byte order mark (BOM)" in issue.message and "without a BOM" in issue.message


def test_hostile_inline_text_is_rejected_for_text_tasks() -> None:
    scan, _ = _scan(b'{"source": "a\\ud800b"}', TaskType.TEXT_CLASSIFICATION)
    [issue] = scan.issues  # type: ignore[attr-defined]
    assert (issue.line, issue.field) == (2, "source") and "unpaired surrogate" in issue.message


@pytest.mark.parametrize(
    "line",
    [
        b"{" + REF + b', "note": "\\ud83d\\ude00 and \\t\\n\\r"}',  # an escaped pair is one character; tab etc. allowed
        b"{" + REF + b', "note": "\\\\ud800"}',  # an escaped backslash, then the text ud800
        b"{" + REF + b', "n": 1' + b"0" * 308 + b', "m": -1.5e308, "tiny": 1e-400, "z": -0}',
        b"{" + REF + b', "n": ' + b"[" * 63 + b"]" * 63 + b"}",  # 64 levels with the line's own object
        b"{" + REF + b', "meta": {"k": 1}, "other": {"k": 1}}',  # the same key in two objects
    ],
)
def test_what_is_not_hostile_is_accepted(line: bytes) -> None:
    scan, written = _scan(line)
    assert scan.issues == [] and scan.objects == 2  # type: ignore[attr-defined]
    assert written == GOOD + line + b"\n"


def test_the_foreign_bucket_never_reaches_the_sink_behind_a_duplicate() -> None:
    line = b'{"source-ref": "s3://evil-bucket/secret.jpg", "source\\u002dref": "s3://allowed-bucket/ok.jpg"}'
    _, written = _scan(line)
    assert b"evil-bucket" not in written
