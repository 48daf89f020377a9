"""What one invocation did: every handler logs it, counts it as a metric and returns it."""

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Outcome:
    action: str  # e.g. queued | duplicate | rejected | applied | in-progress | reported | ignored
    detail: str = ""
    uris: dict[str, str] = field(default_factory=dict)  # what the invocation wrote, where it says

    def as_result(self) -> dict[str, Any]:
        return {"action": self.action, "detail": self.detail, **self.uris}
