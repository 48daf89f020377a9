"""Emulated time: the process's clock, moved forward by the emulator, and the timers set against it.

Ground Truth jobs take hours; the demo takes seconds. Everything the emulator schedules (a job's next
iteration, a Lambda retry, the reconciler's schedule) is a timer here, and the emulator jumps the clock
from one timer to the next. While the clock runs, time-machine makes it the process's time: datetime.now()
and time.time() in moto, in the handlers and in gtchain all read emulated time (between jumps it ticks at
wall-clock speed), so a job's CreationTime, a record's timestamps and the reconciler's grace periods agree.
Timers due at the same instant fire in the order they were set.
"""

import heapq
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import time_machine


class Clock:
    def __init__(self, start: datetime | None = None) -> None:
        self.start = (start or datetime.now(UTC)).astimezone(UTC)
        self._travel: Any = None

    def __enter__(self) -> "Clock":
        self._travel = time_machine.travel(self.start, tick=True)
        self._coordinates = self._travel.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._travel.stop()

    def now(self) -> datetime:
        return datetime.now(UTC)

    def advance_to(self, moment: datetime) -> None:
        if moment > self.now():
            self._coordinates.move_to(moment)


@dataclass(order=True)
class Timer:
    due: datetime
    order: int
    label: str = field(compare=False)
    action: Callable[[], None] = field(compare=False)
    cancelled: bool = field(default=False, compare=False)
    # Background timers (the reconciler's schedule) do not count as work still to do.
    background: bool = field(default=False, compare=False)

    def cancel(self) -> None:
        self.cancelled = True


class Timers:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._heap: list[Timer] = []
        self._order = itertools.count()

    def after(self, delay: timedelta, label: str, action: Callable[[], None], *, background: bool = False) -> Timer:
        timer = Timer(self.clock.now() + delay, next(self._order), label, action, background=background)
        heapq.heappush(self._heap, timer)
        return timer

    def _live(self) -> list[Timer]:
        while self._heap and self._heap[0].cancelled:
            heapq.heappop(self._heap)
        return self._heap

    def next_due(self, *, include_background: bool = True) -> datetime | None:
        due = [t.due for t in self._live() if not t.cancelled and (include_background or not t.background)]
        return min(due) if due else None

    def has_work(self) -> bool:
        return any(not t.cancelled and not t.background for t in self._heap)

    def fire_next(self) -> Timer | None:
        """Move the clock to the earliest timer and run it."""
        live = self._live()
        if not live:
            return None
        timer = heapq.heappop(live)
        self.clock.advance_to(timer.due)
        timer.action()
        return timer
