"""Results: one manifest of labels per dropped manifest, in input order, once every round has completed."""

import json
from typing import Any

from tests.integration.chain.flow import advance, drop, jobs, manifest_lines, model_arn, reconcile
from tests.integration.lifecycle.groundtruth import (
    complete,
    labeled_by,
    of_type,
    output_key,
    results,
    round_job,
    status,
    write_output,
)
from tests.support import DATA_BUCKET, Stack, finish_job


def test_results_in_input_order_across_three_rounds_with_a_retried_round(
    stack: Stack, spec_document: dict[str, Any]
) -> None:
    # Given a chain of 3 rounds with baselines, and a 30-line manifest (rounds of 10)
    spec_document["rounds"] = 3
    drop(stack, "chains/birds/chain.json", json.dumps(spec_document))
    manifest = manifest_lines(30)
    drop(stack, "chains/birds/inbox/birds.manifest", manifest)

    # When round 1 completes with a model, round 2 fails (after labeling 4 objects) and is retried,
    # and every baseline labels its objects too
    complete(stack, round_job(1), model=model_arn("r1"))
    failed = round_job(2)
    write_output(stack, failed)  # whatever a failed attempt left behind must not reach the results
    finish_job(failed, "Failed", human=4, reason="ClientError: workers could not load the images")
    advance(failed, "Failed")
    complete(stack, round_job(2, role="baseline"))
    assert not of_type(stack.published(), "Manifest Completed")
    drop(stack, "chains/birds/chain.json", json.dumps(spec_document))  # resume: round 2 again, attempt 2
    complete(stack, round_job(2, attempt=2), model=model_arn("r2"))
    # the round's completed baseline is kept: the retry never runs (and pays for) a second one
    assert not [name for name in jobs() if name.endswith("-r2b-a2")]
    complete(stack, round_job(3, role="baseline"))
    assert not of_type(stack.published(), "Manifest Completed")  # round 3 is still running
    complete(stack, round_job(3), machine=3)

    # Then the results have one line per input line, in input order, each labeled by its round's final job
    lines = results(stack, "birds", "birds.manifest")
    assert [line["source-ref"] for line in lines] == [json.loads(x)["source-ref"] for x in manifest.splitlines()]
    expected = [round_job(1)] * 10 + [round_job(2, attempt=2)] * 10 + [round_job(3)] * 10
    assert [labeled_by(line) for line in lines] == expected
    # And Manifest Completed says what it took: the failed attempt's 4 human labels are paid for too
    # (10 + 4 + 10 + 7) human x (0.08 + 3 x 0.036) + 3 machine x 0.08 = 5.828 + 0.24
    [completed] = of_type(stack.published(), "Manifest Completed")
    assert completed == completed | {
        "chainId": "birds", "manifestKey": "chains/birds/inbox/birds.manifest", "rounds": [1, 2, 3],
        "resultsUri": f"s3://{DATA_BUCKET}/chains/birds/results/birds.manifest", "objects": 30, "human": 27,
        "machine": 3, "skipped": 0, "unlabeled": 0, "costUsd": "6.07", "costComplete": True,
    }  # fmt: skip
    assert any(n["Subject"] == "gtchain: birds.manifest labeled" and "s3://" in n["Message"]
               for n in stack.notifications())  # fmt: skip

    # And a repeated event announces nothing twice
    advance(round_job(3), "Completed")
    assert not of_type(stack.published(), "Manifest Completed")


def test_results_wait_for_the_output_and_the_reconciler_writes_them(
    stack: Stack, spec_document: dict[str, Any]
) -> None:
    # Given a one-round chain whose job completed before Ground Truth wrote its output manifest (the first
    # object comes with an old label, which the new one replaces)
    spec_document.update(rounds=1, baseline=False)
    drop(stack, "chains/birds/chain.json", json.dumps(spec_document))
    first, *rest = manifest_lines(5).splitlines()
    first = json.dumps(json.loads(first) | {"category": {"annotations": []}, "team": "vision"})
    drop(stack, "chains/birds/inbox/birds.manifest", "\n".join([first, *rest]) + "\n")
    job = round_job(1)
    complete(stack, job, output=False)

    # Then there are no results yet, and status.json says they are being written
    assert "Contents" not in stack.s3.list_objects_v2(Bucket=DATA_BUCKET, Prefix="chains/birds/results/")
    [manifest] = status(stack, "birds")["manifests"]
    assert manifest["status"] == "writing results" and manifest["roundsCompleted"] == 1
    assert reconcile()["outcomes_applied"] == []  # nothing to apply: the output is still missing

    # When the output appears, without the one object Ground Truth could not label
    write_output(stack, job)
    key = output_key(job)
    body = stack.s3.get_object(Bucket=DATA_BUCKET, Key=key)["Body"].read().decode().splitlines()
    stack.put(key, "\n".join(line for line in body if "bird-00002" not in line) + "\n")
    reconcile()

    # Then the reconciler writes the results, that object without a label, and announces them once
    lines = results(stack, "birds", "birds.manifest")
    assert [("category-metadata" in line) for line in lines] == [True, True, False, True, True]
    assert lines[0]["team"] == "vision" and lines[0]["category"]["annotations"] != []
    assert labeled_by(lines[0]) == job
    [completed] = of_type(stack.published(), "Manifest Completed")
    assert completed["unlabeled"] == 1 and completed["objects"] == 5
    assert status(stack, "birds")["manifests"][0]["status"] == "completed"
    reconcile()
    assert not of_type(stack.published(), "Manifest Completed")
    assert len(jobs()) == 1
