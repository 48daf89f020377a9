"""Input manifests: streamed validation and the split into rounds.

A manifest is JSON Lines. It is read once, line by line, so a 100,000-line manifest never sits in
memory whole; the accepted lines go to a sink (a temporary file) from which the round parts are cut.
"""

import hashlib
import json
from array import array
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import IO, Any

from gtchain.domain.json_input import JsonInputError, decode_utf8, parse_json
from gtchain.domain.names import parse_s3_uri
from gtchain.domain.tasks import TaskProfile

MAX_LINE_CHARS = 100_000
MAX_ATTRIBUTE_CHARS = 20_000
MAX_OBJECTS_PER_JOB = 100_000
MAX_INPUT_BYTES = 40 * 1024 * 1024
AUTO_LABELING_MIN_OBJECTS = 1_250
MAX_REPORTED_ISSUES = 100


@dataclass(frozen=True)
class Issue:
    """One thing wrong with an input, and where: a line (1-based) and a field, when they apply."""

    message: str
    line: int | None = None
    field: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in (("line", self.line), ("field", self.field), ("message", self.message)) if v}


@dataclass
class ManifestScan:
    objects: int = 0
    issues: list[Issue] = field(default_factory=list)
    issue_count: int = 0
    line_bytes: "array[int]" = field(default_factory=lambda: array("Q"))  # size of each accepted line, in order
    source_digests: list[bytes] = field(default_factory=list)  # one per object, in order

    def add(self, issue: Issue) -> None:
        self.issue_count += 1
        if len(self.issues) < MAX_REPORTED_ISSUES:
            self.issues.append(issue)


def source_digest(source: str) -> bytes:
    """A compact identity for an object's data: 16 bytes instead of the whole URI or text."""
    # surrogatepass: the same bytes for any valid text, and never an exception (scan_manifest rejects
    # unpaired surrogates before this; the output-manifest reader has no such check).
    return hashlib.blake2b(source.encode("utf-8", "surrogatepass"), digest_size=16).digest()


def scan_manifest(
    lines: Iterable[bytes], *, task: TaskProfile, allowed_buckets: frozenset[str], sink: IO[bytes]
) -> ManifestScan:
    """Validate every line; write each accepted line (newline-terminated) to sink."""
    scan = ManifestScan()
    first_line_of: dict[bytes, int] = {}
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        obj = _parse_line(raw, number, scan)
        if obj is None:
            continue
        source = _check_object(obj, number, task, allowed_buckets, scan)
        if source is None:
            continue
        digest = source_digest(source)
        if (first := first_line_of.setdefault(digest, number)) != number:
            field_name = "source-ref" if "source-ref" in obj else "source"
            scan.add(
                Issue(
                    f"duplicate of line {first}: the same object would be labeled (and paid) twice",
                    number,
                    field_name,
                )
            )
            continue
        line = raw.rstrip(b"\r\n") + b"\n"
        sink.write(line)
        scan.line_bytes.append(len(line))
        scan.source_digests.append(digest)
        scan.objects += 1
    if scan.objects == 0 and scan.issue_count == 0:
        scan.add(Issue("the manifest has no objects"))
    return scan


def _parse_line(raw: bytes, number: int, scan: ManifestScan) -> dict[str, Any] | None:
    try:
        if len(raw.rstrip(b"\r\n")) > MAX_LINE_CHARS:  # in bytes; maybe not in characters
            text = decode_utf8(raw)
            if (chars := len(text.rstrip("\r\n"))) > MAX_LINE_CHARS:
                scan.add(Issue(f"line is {chars} characters; Ground Truth takes at most {MAX_LINE_CHARS}", number))
                return None
        obj = parse_json(raw)
    except JsonInputError as exc:
        column = f" (column {exc.column})" if exc.column else ""
        scan.add(Issue(exc.message + column, number, exc.field))
        return None
    if not isinstance(obj, dict):
        scan.add(Issue(f"each line must be a JSON object, not {type(obj).__name__}", number))
        return None
    return obj


def _check_object(
    obj: dict[str, Any], number: int, task: TaskProfile, allowed_buckets: frozenset[str], scan: ManifestScan
) -> str | None:
    """Return the object's identity (its source-ref or inline source), or None when rejected."""
    ok = True
    for name, value in obj.items():
        if name.startswith("$"):
            scan.add(Issue("attribute names must not start with '$'", number, name))
            ok = False
        elif len(value if isinstance(value, str) else json.dumps(value)) > MAX_ATTRIBUTE_CHARS:
            scan.add(Issue(f"attribute is over {MAX_ATTRIBUTE_CHARS} characters", number, name))
            ok = False
    if "source-ref" in obj:
        ref = obj["source-ref"]
        location = parse_s3_uri(ref) if isinstance(ref, str) else None
        if location is None:
            scan.add(Issue(f"{ref!r} is not an S3 URI of the form s3://bucket/key", number, "source-ref"))
            return None
        if location[0] not in allowed_buckets:
            scan.add(
                Issue(
                    f"bucket {location[0]!r} is not in the stack's allow-list ({', '.join(sorted(allowed_buckets))}): "
                    "workers would be shown data from outside it",
                    number,
                    "source-ref",
                )
            )
            return None
        return ref if ok else None
    if "source" in obj:
        if not task.inline_text:
            scan.add(Issue("image tasks need source-ref (an S3 URI), not inline source", number, "source"))
            return None
        if not isinstance(obj["source"], str) or not obj["source"]:
            scan.add(Issue("source must be non-empty text", number, "source"))
            return None
        return obj["source"] if ok else None
    wanted = "source-ref or source" if task.inline_text else "source-ref"
    scan.add(Issue(f"the line has no {wanted}", number, wanted.split(" ")[0]))
    return None


def split_sizes(objects: int, rounds: int) -> list[int]:
    """Contiguous parts in order, sizes differing by at most one, earlier parts larger; no empty part."""
    parts = min(rounds, objects)
    base, extra = divmod(objects, parts)
    return [base + 1 if i < extra else base for i in range(parts)]


def check_parts(scan: ManifestScan, sizes: list[int]) -> list[Issue]:
    """Ground Truth's per-job limits, checked on the parts the rounds will get."""
    issues: list[Issue] = []
    start = 0
    for index, size in enumerate(sizes, start=1):
        if size > MAX_OBJECTS_PER_JOB:
            issues.append(
                Issue(
                    f"round part {index} of {len(sizes)} would have {size} objects; a labeling job takes at most "
                    f"{MAX_OBJECTS_PER_JOB}: raise rounds in chain.json or split the manifest"
                )
            )
        part_bytes = sum(scan.line_bytes[start : start + size])
        if part_bytes > MAX_INPUT_BYTES:
            issues.append(
                Issue(
                    f"round part {index} of {len(sizes)} would be {part_bytes} bytes; a labeling job's manifest "
                    f"is at most {MAX_INPUT_BYTES} bytes"
                )
            )
        start += size
    return issues
