"""Lines of a labeling job's output manifest: labeled, failed, or neither.

Ground Truth writes one line per input line. A labeled object carries `<attr>` and `<attr>-metadata`; an
object it could not label carries only `<attr>-metadata`, holding `failure-reason` and `retry-count`.
https://docs.aws.amazon.com/sagemaker/latest/dg/sms-data-output.html
"""

import json
from dataclasses import dataclass
from typing import Any, Literal

from gtchain.domain.manifest import source_digest

Outcome = Literal["labeled", "failed", "unlabeled"]


@dataclass(frozen=True)
class OutputLine:
    source: str  # the object's source-ref (or inline source)
    outcome: Outcome
    members: dict[str, Any]  # what the results manifest takes from the line: the label and its metadata

    @property
    def digest(self) -> bytes:
        return source_digest(self.source)

    @property
    def failure_reason(self) -> str | None:
        if self.outcome != "failed":
            return None
        return str(self.members[metadata_key(self.attribute)].get("failure-reason"))

    @property
    def attribute(self) -> str:
        return next(iter(self.members)).removesuffix("-metadata")


def metadata_key(attribute: str) -> str:
    return f"{attribute}-metadata"


def read_output_line(line: bytes, attribute: str) -> OutputLine | None:
    """The object and what Ground Truth made of it; None for a line that names no object (or is no JSON)."""
    try:
        obj = json.loads(line)
    except ValueError:
        return None
    if not isinstance(obj, dict):
        return None
    source = obj.get("source-ref", obj.get("source"))
    if not isinstance(source, str):
        return None
    metadata = obj.get(metadata_key(attribute))
    if attribute in obj:
        members = {attribute: obj[attribute]}
        if metadata is not None:
            members[metadata_key(attribute)] = metadata
        return OutputLine(source, "labeled", members)
    if isinstance(metadata, dict) and "failure-reason" in metadata:
        return OutputLine(source, "failed", {metadata_key(attribute): metadata})
    return OutputLine(source, "unlabeled", {})
