"""Nothing lost when S3 events are: the reconciler compares each chain's inbox and chain.json with the table."""

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from gtchain.service.reconcile import ReconcileError, reconcile_all
from tests.groundtruth import input_lines, round_job, status
from tests.support import manifest_lines
from tests.unit.service.world import World, drop, jobs, reconcile


def test_a_manifest_whose_s3_event_was_lost_is_picked_up_within_one_period(
    world: World, spec_document: dict[str, Any]
) -> None:
    # Given a chain, and a manifest uploaded whose Object Created event never arrived
    drop(world, "chains/birds/chain.json", json.dumps(spec_document))
    manifest = manifest_lines(20)
    world.put("chains/birds/inbox/lost.manifest", manifest)
    assert jobs() == {}

    # When the reconciler runs
    reconcile()

    # Then the manifest is queued and its first round runs, exactly once
    assert [json.dumps(line) for line in input_lines(world, round_job(1))] == manifest.splitlines()[:10]
    assert [m["name"] for m in status(world, "birds")["manifests"]] == ["lost.manifest"]
    reconcile()
    assert len(jobs()) == 1 and len(world.ports.store.list_rounds("birds")) == 2


def test_a_chain_json_whose_s3_event_was_lost_is_applied_by_the_reconciler(
    world: World, spec_document: dict[str, Any]
) -> None:
    drop(world, "chains/birds/chain.json", json.dumps(spec_document))
    drop(world, "chains/birds/inbox/birds.manifest", manifest_lines(20))
    world.put("chains/birds/chain.json", json.dumps(spec_document | {"state": "stopped"}))

    reconcile()

    assert [job.status for job in jobs().values()] == ["Stopping"]
    assert status(world, "birds")["state"] == "stopped"


def test_one_chain_that_cannot_be_reconciled_does_not_hold_up_the_others(
    world: World, spec_document: dict[str, Any]
) -> None:
    # Given a chain whose running job cannot be described (SageMaker keeps failing), and another chain
    # with a manifest whose event was lost
    drop(world, "chains/alpha/chain.json", json.dumps(spec_document))
    drop(world, "chains/alpha/inbox/a.manifest", manifest_lines(20))
    drop(world, "chains/beta/chain.json", json.dumps(spec_document))
    world.put("chains/beta/inbox/b.manifest", manifest_lines(20))
    failure = ClientError({"Error": {"Code": "InternalFailure"}, "ResponseMetadata": {"HTTPStatusCode": 500}}, "x")
    world.ports.labeling.fail("describe", failure, when=lambda name: "-alpha-" in name)

    # When the reconciler runs, it repairs the other chain and then fails (so the run is retried and alarmed)
    with pytest.raises(ReconcileError, match="alpha"):
        reconcile_all(world.ports)

    assert any("-beta-" in job.name for job in jobs().values())
