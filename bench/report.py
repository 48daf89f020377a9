"""The printed table and results.json: every figure with its target, or why it is not available yet."""

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Row:
    section: str
    name: str
    value: str
    target: str = ""
    met: bool | None = None  # None: context only, or not available
    data: dict[str, Any] = field(default_factory=dict)  # the raw numbers behind `value`

    def verdict(self) -> str:
        return {True: "yes", False: "**no**", None: ""}[self.met]


def unavailable(section: str, name: str, why: str, target: str = "") -> Row:
    return Row(section, name, f"not available yet: {why}", target)


def markdown(rows: list[Row]) -> str:
    lines = ["| Section | Measurement | Result | Target | Met |", "|---|---|---|---|---|"]
    lines += [f"| {r.section} | {r.name} | {r.value} | {r.target} | {r.verdict()} |" for r in rows]
    return "\n".join(lines)


def as_json(rows: list[Row]) -> list[dict[str, Any]]:
    return [asdict(row) for row in rows]
