"""AWS calls per reconciler run, counted (deterministic: the same on every run and machine): the tick's over 1, 100
and 1,000 idle chains beside one chain that needs a repair, and the sweep's over idle chains.

Each scenario runs the reconcile handler through its real entry point on moto (mock_aws), in a fresh stack, in one
child interpreter (`python -m bench.calls <result-file>`); the worlds are tests/integration/budgets/reconcile_world's,
as the budget tests build them.
"""

from collections.abc import Callable
from typing import Any

from bench.proc import child_main, run_child
from bench.report import Row
from bench.scenarios import CHILD_ENV, counted

IDLE = (0, 100, 1000)
TICK_BUDGET = 15  # issue 15: a tick over 1,000 idle chains and 1 chain that needs a repair
SWEPT_IDLE = 1000


def _measure(_: list[str]) -> dict[str, Any]:
    from tests.integration.budgets.reconcile_world import add_idle_chains, lose_a_completed_event
    from tests.integration.chain.flow import reconcile
    from tests.integration.chain.test_reconcile_schedules import sweep

    def lost_completed(idle: int, output: bool) -> Callable[[Any], None]:
        def prepare(stack: Any) -> None:
            lose_a_completed_event(stack, output=output)
            add_idle_chains(idle)

        return prepare

    return {
        "tick": {str(idle): counted(lost_completed(idle, output=False), lambda _: reconcile()) for idle in IDLE},
        "tick_with_output": counted(lost_completed(max(IDLE), output=True), lambda _: reconcile()),
        "sweep": counted(lambda _: add_idle_chains(SWEPT_IDLE), lambda _: sweep()),
    }


def _breakdown(measured: dict[str, Any]) -> str:
    return ", ".join(f"{name} {count}" for name, count in sorted(measured["calls"].items()))


def measure() -> list[Row]:
    measured = run_child("bench.calls", env=CHILD_ENV, log_name="calls").result
    rows = []
    for idle in IDLE:
        tick = measured["tick"][str(idle)]
        repaired = tick["result"]["outcomes_applied"] != []
        rows.append(Row(
            "AWS calls", f"reconciler tick: 1 chain whose Completed event was lost (output not written yet) + "
            f"{idle:,} idle chains", f"{tick['total']} calls ({_breakdown(tick)})", f"<= {TICK_BUDGET}",
            repaired and tick["total"] <= TICK_BUDGET, tick,
        ))  # fmt: skip
    heavy = measured["tick_with_output"]
    rows.append(Row(
        "AWS calls", f"... the same with the output written (the tick also writes and announces the results), "
        f"+ {max(IDLE):,} idle chains", f"{heavy['total']} calls ({_breakdown(heavy)})", data=heavy,
    ))  # fmt: skip
    swept = measured["sweep"]
    rows.append(Row(
        "AWS calls", f"reconciler sweep (hourly): {SWEPT_IDLE:,} idle chains, nothing lost",
        f"{swept['total']} calls ({_breakdown(swept)}): {swept['total'] / SWEPT_IDLE:.1f} per chain", data=swept,
    ))  # fmt: skip
    return rows


if __name__ == "__main__":
    child_main(_measure)
