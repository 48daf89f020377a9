"""AWS calls per event, counted (deterministic: the same on every run and machine), with the time the handler
spends outside moto (gtchain, Powertools, botocore: what stays when AWS's own service time replaces moto's).

Each scenario drives a handler through its real entry point on moto (mock_aws), in a fresh stack, in one child
interpreter (`python -m bench.events <result-file>`); chains with a history are written straight into the table
(tests/integration/budgets/history), as the budget tests build them.
"""

import json
from collections.abc import Callable
from typing import Any

from bench.proc import ROOT, child_main, run_child
from bench.report import Row
from bench.scenarios import CHILD_ENV, MotoTime, counted

# issue 15's budgets (tests/integration/budgets/test_event_calls.py asserts them)
NEXT_ROUND_BUDGET = 12
DUPLICATE_BUDGET = 3
FOREIGN_BUDGET = 2
UPLOAD_BUDGET = 15
UPLOAD_INTO_HISTORY_BUDGET = 20
HISTORIES = ((1, 1), (1, 10), (3, 17), (20, 1))  # (manifests, rounds each) before the counted event
UPLOAD_SIZES = (1_000, 10_000, 100_000)
LABELED = (5, 20, 1_000)  # manifests x rounds x objects: a chain that labeled 100,000 objects
NEW_OBJECTS, REPEATED = 1_000, 100


def _measure(_: list[str]) -> dict[str, Any]:
    from tests.integration.budgets.history import write_history
    from tests.integration.budgets.test_event_calls import _chain_with_history, _spec
    from tests.integration.chain.flow import advance, drop
    from tests.support import manifest_lines

    moto = MotoTime()
    spec_document: dict[str, Any] = json.loads((ROOT / "tests" / "data" / "chain.json").read_text())

    def history(manifests: int, rounds_each: int, baseline: bool) -> Callable[[Any], Any]:
        return lambda stack: _chain_with_history(stack, spec_document, manifests=manifests, rounds_each=rounds_each,
                                                 baseline=baseline)[0]  # fmt: skip

    def completed(name: str) -> dict[str, Any]:
        return advance(name, "Completed")

    def duplicate(stack: Any) -> str:
        name = history(1, 2, True)(stack)
        advance(name, "Completed")
        return str(name)

    def upload(lines: int) -> Callable[[Any], dict[str, Any]]:
        return lambda _: drop(_ACTIVE["stack"], "chains/fresh/inbox/birds.manifest", manifest_lines(lines))

    def fresh_chain(stack: Any) -> None:
        _ACTIVE["stack"] = stack
        drop(stack, "chains/fresh/chain.json", _spec(spec_document, rounds=2, baseline=True))

    def labeled_chain(stack: Any) -> None:
        _ACTIVE["stack"] = stack
        manifests, rounds, objects = LABELED
        write_history(stack, spec_document, "labeled", manifests=manifests, rounds_each=rounds, baseline=False,
                      lines_per_round=objects)  # fmt: skip

    def into_labeled(_: Any) -> dict[str, Any]:
        start = LABELED[0] * LABELED[1] * LABELED[2] - REPEATED
        return drop(_ACTIVE["stack"], "chains/labeled/inbox/more.manifest", manifest_lines(NEW_OBJECTS, start=start))

    return {
        "next_round_and_baseline": {f"{m}x{r}": counted(history(m, r, True), completed, moto) for m, r in HISTORIES},
        "next_round": counted(history(1, 10, False), completed, moto),
        "duplicate": counted(duplicate, completed, moto),
        "upload": {str(lines): counted(fresh_chain, upload(lines), moto) for lines in UPLOAD_SIZES},
        "upload_into_labeled": counted(labeled_chain, into_labeled, moto),
    }


_ACTIVE: dict[str, Any] = {}  # the stack of the scenario being measured (uploads put objects through it)


def _breakdown(measured: dict[str, Any]) -> str:
    return ", ".join(f"{name} {count}" for name, count in sorted(measured["calls"].items()))


def _row(name: str, measured: dict[str, Any], budget: int, less: int = 0) -> Row:
    total = measured["total"] - less
    return Row("AWS calls per event", name, f"{total} calls, {measured['own_ms']:.0f} ms outside moto "
               f"({_breakdown(measured)})", f"<= {budget} calls", total <= budget, measured)  # fmt: skip


def measure() -> list[Row]:
    measured = run_child("bench.events", env=CHILD_ENV, log_name="events").result
    rows = []
    for manifests, rounds in HISTORIES:
        rows.append(_row(f"Completed event that starts the next round and its baseline, after {manifests * rounds} "
                         f"earlier round(s) from {manifests} manifest(s)",
                         measured["next_round_and_baseline"][f"{manifests}x{rounds}"], NEXT_ROUND_BUDGET))  # fmt: skip
    totals = {m["total"] for m in measured["next_round_and_baseline"].values()}
    rows.append(Row("AWS calls per event", "... the same count whatever the history", f"{sorted(totals)}",
                    "one count", len(totals) == 1))  # fmt: skip
    rows.append(_row("Completed event that starts the next round (no baseline), after 10 earlier rounds",
                     measured["next_round"], NEXT_ROUND_BUDGET))  # fmt: skip
    rows.append(_row("duplicate Completed event", measured["duplicate"], DUPLICATE_BUDGET))
    for lines in UPLOAD_SIZES:
        # less the scenario's own PutObject of the manifest
        rows.append(_row(f"manifest upload that starts a round, {lines:,} lines", measured["upload"][str(lines)],
                         UPLOAD_BUDGET, less=1))  # fmt: skip
    rows.append(_row(f"manifest upload ({NEW_OBJECTS:,} lines, {REPEATED} labeled before) into a chain that labeled "
                     f"{LABELED[0] * LABELED[1] * LABELED[2]:,} objects", measured["upload_into_labeled"],
                     UPLOAD_INTO_HISTORY_BUDGET, less=1))  # fmt: skip
    return rows


if __name__ == "__main__":
    child_main(_measure)
