"""Results: one manifest of labels per dropped manifest, in input order, once every round has completed."""

import json
from typing import Any

from tests.groundtruth import (
    complete,
    labeled_by,
    of_type,
    output_key,
    results,
    round_job,
    status,
    write_output,
)
from tests.support import DATA_BUCKET, manifest_lines, model_arn
from tests.unit.service.world import World, advance, drop, finish_job, jobs, reconcile


def test_results_in_input_order_across_three_rounds_with_a_retried_round(
    world: World, spec_document: dict[str, Any]
) -> None:
    # Given a chain of 3 rounds with baselines, and a 30-line manifest (rounds of 10)
    spec_document["rounds"] = 3
    drop(world, "chains/birds/chain.json", json.dumps(spec_document))
    manifest = manifest_lines(30)
    drop(world, "chains/birds/inbox/birds.manifest", manifest)

    # When round 1 completes with a model, round 2 fails (after labeling 4 objects) and is retried,
    # and every baseline labels its objects too
    complete(world, round_job(1), model=model_arn("r1"))
    failed = round_job(2)
    write_output(world, failed)  # whatever a failed attempt left behind must not reach the results
    finish_job(failed, "Failed", human=4, reason="ClientError: workers could not load the images")
    advance(failed, "Failed")
    complete(world, round_job(2, role="baseline"))
    assert not of_type(world.published(), "Manifest Completed")
    drop(world, "chains/birds/chain.json", json.dumps(spec_document))  # resume: round 2 again, attempt 2
    complete(world, round_job(2, attempt=2), model=model_arn("r2"))
    # the round's completed baseline is kept: the retry never runs (and pays for) a second one
    assert not [name for name in jobs() if name.endswith("-r2b-a2")]
    complete(world, round_job(3, role="baseline"))
    assert not of_type(world.published(), "Manifest Completed")  # round 3 is still running
    complete(world, round_job(3), machine=3)

    # Then the results have one line per input line, in input order, each labeled by its round's final job
    lines = results(world, "birds", "birds.manifest")
    assert [line["source-ref"] for line in lines] == [json.loads(x)["source-ref"] for x in manifest.splitlines()]
    expected = [round_job(1)] * 10 + [round_job(2, attempt=2)] * 10 + [round_job(3)] * 10
    assert [labeled_by(line) for line in lines] == expected
    # And Manifest Completed says what it took: the failed attempt's 4 human labels are paid for too
    # (10 + 4 + 10 + 7) human x (0.08 + 3 x 0.036) + 3 machine x 0.08 = 5.828 + 0.24
    [completed] = of_type(world.published(), "Manifest Completed")
    assert completed == completed | {
        "chainId": "birds", "manifestKey": "chains/birds/inbox/birds.manifest", "rounds": [1, 2, 3],
        "resultsUri": f"s3://{DATA_BUCKET}/chains/birds/results/birds.manifest", "objects": 30, "human": 27,
        "machine": 3, "skipped": 0, "unlabeled": 0, "costUsd": "6.07", "costComplete": True,
    }  # fmt: skip
    assert any(n["Subject"] == "gtchain: birds.manifest labeled" and "s3://" in n["Message"]
               for n in world.notifications())  # fmt: skip

    # And a repeated event announces nothing twice
    advance(round_job(3), "Completed")
    assert not of_type(world.published(), "Manifest Completed")


def test_results_wait_for_the_output_and_the_reconciler_writes_them(
    world: World, spec_document: dict[str, Any]
) -> None:
    # Given a one-round chain whose job completed before Ground Truth wrote its output manifest (the first
    # object comes with an old label, which the new one replaces)
    spec_document.update(rounds=1, baseline=False)
    drop(world, "chains/birds/chain.json", json.dumps(spec_document))
    first, *rest = manifest_lines(5).splitlines()
    first = json.dumps(json.loads(first) | {"category": {"annotations": []}, "team": "vision"})
    drop(world, "chains/birds/inbox/birds.manifest", "\n".join([first, *rest]) + "\n")
    job = round_job(1)
    complete(world, job, output=False)

    # Then there are no results yet, and status.json says they are being written
    assert world.keys("chains/birds/results/") == []
    [manifest] = status(world, "birds")["manifests"]
    assert manifest["status"] == "writing results" and manifest["roundsCompleted"] == 1
    assert reconcile()["outcomes_applied"] == []  # nothing to apply: the output is still missing

    # When the output appears, without the one object Ground Truth could not label
    write_output(world, job)
    key = output_key(job)
    body = world.get(key).decode().splitlines()
    world.put(key, "\n".join(line for line in body if "bird-00002" not in line) + "\n")
    reconcile()

    # Then the reconciler writes the results, that object without a label, and announces them once
    lines = results(world, "birds", "birds.manifest")
    assert [("category-metadata" in line) for line in lines] == [True, True, False, True, True]
    assert lines[0]["team"] == "vision" and lines[0]["category"]["annotations"] != []
    assert labeled_by(lines[0]) == job
    [completed] = of_type(world.published(), "Manifest Completed")
    assert completed["unlabeled"] == 1 and completed["objects"] == 5
    assert status(world, "birds")["manifests"][0]["status"] == "completed"
    reconcile()
    assert not of_type(world.published(), "Manifest Completed")
    assert len(jobs()) == 1
