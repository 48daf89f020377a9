"""The reconciler's tick, through its handler on moto, counted in AWS calls (deterministic, unlike times): idle chains
cost it nothing, and a tick that repairs a lost event stays within its budget however many chains are idle."""

import json
from typing import Any

import pytest

from tests.calls import counting
from tests.integration.budgets.reconcile_world import add_idle_chains, lose_a_completed_event
from tests.integration.chain.flow import drop, manifest_lines, reconcile
from tests.support import Stack

# Issue 15: a tick over 1,000 idle chains and 1 chain that needs a repair makes at most 15 AWS calls in all.
TICK_BUDGET = 15


@pytest.mark.parametrize("idle", [0, 100, 1000])
def test_a_tick_that_repairs_a_lost_completed_event_stays_within_its_budget(stack: Stack, idle: int) -> None:
    # Given a chain whose job's Completed event was lost (its output not written yet), and `idle` chains the
    # tick has taken out
    job = lose_a_completed_event(stack, output=False)
    add_idle_chains(idle)

    # When the tick runs
    with counting() as calls:
        repaired = reconcile()

    # Then it read the live chain alone and applied the outcome (the results wait for the output), within budget
    assert repaired["chains"] == 1 and repaired["outcomes_applied"] == [job]
    assert [waiting.split(":")[0] for waiting in repaired["results_waiting"]] == ["repair/birds.manifest"]
    assert calls.total <= TICK_BUDGET, f"{idle} idle chains: {calls}"


def test_idle_chains_add_no_call_to_a_tick(stack: Stack, spec_document: dict[str, Any]) -> None:
    # Given a chain whose round runs, ticked once already
    drop(stack, "chains/birds/chain.json", json.dumps(spec_document))
    drop(stack, "chains/birds/inbox/birds.manifest", manifest_lines(20))
    reconcile()
    with counting() as alone:
        reconcile()

    # When 1,000 idle chains join it, the next tick makes the very same calls
    add_idle_chains(1000)
    with counting() as among_idle:
        repaired = reconcile()

    assert repaired["chains"] == 1
    assert among_idle == alone, f"alone: {alone}; among 1,000 idle chains: {among_idle}"
    assert "dynamodb.Scan" not in among_idle
