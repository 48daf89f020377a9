"""gtchain's events and notifications in memory, as a subscriber receives them.

What it models: an event's detail goes out as JSON (AwsPublisher serialises with default=str, so a
Decimal arrives as a string); an SNS subject is cut to its 100-character limit.
"""

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class FakePublisher:
    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []  # (detail type, detail), every one, in order
        self.notifications: list[tuple[str, str]] = []  # (subject, message)
        self._events_read = 0
        self._notifications_read = 0

    def publish(self, detail_type: str, detail: dict[str, Any]) -> None:
        self.events.append((detail_type, json.loads(json.dumps(detail, default=str))))

    @contextmanager
    def batch(self) -> Iterator[None]:
        """AwsPublisher sends a batch at its end; here every event is delivered at once (nothing reads them
        before the invocation ends)."""
        yield

    def flush(self) -> None:
        """Nothing is held (see batch)."""

    def notify(self, subject: str, message: str) -> None:
        self.notifications.append((subject[:100], message))

    def new_events(self) -> list[tuple[str, dict[str, Any]]]:
        """The events published since the last call (as draining a subscriber's queue gives them)."""
        fresh = self.events[self._events_read :]
        self._events_read = len(self.events)
        return fresh

    def new_notifications(self) -> list[tuple[str, str]]:
        fresh = self.notifications[self._notifications_read :]
        self._notifications_read = len(self.notifications)
        return fresh
