"""Emulated time: timers fire in order, and the whole process reads the emulated clock."""

import time
from datetime import UTC, datetime, timedelta

from local.clock import Clock, Timers


def test_timers_fire_in_due_order_and_move_the_process_clock() -> None:
    fired: list[str] = []
    wall = datetime.now(UTC)
    with Clock(datetime(2026, 3, 2, 8, 0, tzinfo=UTC)) as clock:
        timers = Timers(clock)
        timers.after(timedelta(hours=2), "late", lambda: fired.append("late"))
        early = timers.after(timedelta(minutes=5), "early", lambda: fired.append("early"))
        timers.after(timedelta(minutes=5), "early too", lambda: fired.append("early too"))
        timers.after(timedelta(minutes=1), "cancelled", lambda: fired.append("cancelled")).cancel()
        timers.after(timedelta(minutes=30), "schedule", lambda: fired.append("schedule"), background=True)

        assert timers.next_due() == early.due
        while timers.has_work():
            timers.fire_next()

        assert fired == ["early", "early too", "schedule", "late"]
        assert datetime.now(UTC) >= datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
        assert time.time() >= datetime(2026, 3, 2, 10, 0, tzinfo=UTC).timestamp()
    # And afterwards the process is back on the wall clock
    assert abs(datetime.now(UTC) - wall) < timedelta(minutes=1)
