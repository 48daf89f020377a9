"""The reconciler's two schedules through its handler on moto: the tick (a Scheduled Event) reads live chains only;
the sweep (its rule's constant input, as template.yaml sets it) finds a lost upload into an idle chain."""

import json
from typing import Any

from functions.reconcile import app as reconcile_app
from tests.integration.chain.flow import drop, jobs, manifest_lines, reconcile
from tests.support import LambdaContext, Stack, template


def sweep() -> dict[str, Any]:
    [rule] = [r for r in template().plan().functions["ReconcileFunction"].rules if r.input is not None]
    assert rule.logical_id == "ReconcileFunctionSweep" and rule.input is not None
    return dict(reconcile_app.lambda_handler(json.loads(rule.input), LambdaContext()))


def test_the_sweep_picks_up_a_manifest_lost_into_an_idle_chain_which_the_tick_no_longer_reads(
    stack: Stack, spec_document: dict[str, Any]
) -> None:
    # Given a chain with nothing to do, taken out of the live chains by a tick
    drop(stack, "chains/birds/chain.json", json.dumps(spec_document))
    assert reconcile()["idle"] == ["birds"]
    # and a manifest uploaded into it whose Object Created event was lost
    stack.put("chains/birds/inbox/lost.manifest", manifest_lines(20))

    # When the tick runs, it reads no chain; when the sweep runs, it queues the manifest and round 1 starts
    assert reconcile()["chains"] == 0
    swept = sweep()
    assert swept["chains"] == 1 and swept["manifests_picked_up"] == ["birds/lost.manifest"]
    assert len(jobs()) == 1

    # Then the chain is live again: the next tick reads it, and the next sweep finds nothing more
    assert reconcile()["chains"] == 1
    assert sweep()["manifests_picked_up"] == []
