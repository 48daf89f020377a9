"""Real Ground Truth output read faithfully: failed objects, and a job that trained no model.

An object Ground Truth could not label is written as a line whose `<attr>-metadata` holds `failure-reason` and
`retry-count`, with no `<attr>` key (https://docs.aws.amazon.com/sagemaker/latest/dg/sms-data-output.html);
a job that trained no model reports `FinalActiveLearningModelArn` as "" in DescribeLabelingJob.
"""

import json
from typing import Any

from tests.groundtruth import (
    ATTRIBUTE,
    input_lines,
    label,
    of_type,
    output_key,
    results,
    round_job,
)
from tests.support import DATA_BUCKET, manifest_lines
from tests.unit.service.world import World, advance, drop, finish_job, jobs

EXPIRED = "ClientError: Annotation tasks expired. The tasks were not completed within the time limit."


def _finish_with_failures(world: World, job_name: str, failed: set[int], *, model: str | None = None) -> None:
    """Complete the job: the objects at `failed` positions could not be labeled, the rest were (by humans)."""
    lines = input_lines(world, job_name)
    out = []
    for index, obj in enumerate(lines):
        if index in failed:
            metadata = {"retry-count": 1, "failure-reason": EXPIRED, "job-name": f"labeling-job/{job_name}"}
            out.append({**obj, f"{ATTRIBUTE}-metadata": metadata})
        else:
            out.append({**obj, **label(job_name, index, human=True)})
    world.put(output_key(job_name), "".join(json.dumps(o, separators=(",", ":")) + "\n" for o in out))
    finish_job(job_name, human=len(lines) - len(failed), model=model)
    job = jobs()[job_name.lower()]
    job.label_counters["FailedNonRetryableError"] = len(failed)
    job.label_counters["TotalLabeled"] = len(lines) - len(failed)
    if model is not None and job.output is not None:
        job.output["FinalActiveLearningModelArn"] = model  # as the API reports it, "" included
    advance(job_name, "Completed")


def test_a_failed_object_is_in_the_results_as_failed_with_its_reason_and_counted_as_failed(
    world: World, spec_document: dict[str, Any]
) -> None:
    # Given a one-round chain of 10 objects, 2 of which Ground Truth could not label
    spec_document.update(rounds=1, baseline=False)
    drop(world, "chains/birds/chain.json", json.dumps(spec_document))
    drop(world, "chains/birds/inbox/birds.manifest", manifest_lines(10))

    # When its job completes
    _finish_with_failures(world, round_job(1), failed={3, 7})

    # Then the results keep the failure (reason, no label) for those two, a label for the others
    lines = results(world, "birds", "birds.manifest")
    failed = [line for line in lines if ATTRIBUTE not in line]
    assert len(lines) == 10 and len(failed) == 2
    assert all(line[f"{ATTRIBUTE}-metadata"]["failure-reason"] == EXPIRED for line in failed)
    assert [lines.index(line) for line in failed] == [3, 7]
    # And Manifest Completed counts them as failed, not as unlabeled nor labeled
    [completed] = of_type(world.published(), "Manifest Completed")
    assert (completed["human"], completed["failed"], completed["unlabeled"]) == (8, 2, 0)


def test_a_failed_object_is_not_skipped_as_already_labeled_by_a_later_manifest(
    world: World, spec_document: dict[str, Any]
) -> None:
    # Given images 0-9 labeled by round 1 except images 3 and 7, which failed
    spec_document.update(rounds=1, baseline=False)
    drop(world, "chains/birds/chain.json", json.dumps(spec_document))
    drop(world, "chains/birds/inbox/first.manifest", manifest_lines(10))
    _finish_with_failures(world, round_job(1), failed={3, 7})

    # When a second manifest holds images 0-9 again
    drop(world, "chains/birds/inbox/again.manifest", manifest_lines(10))

    # Then round 2 labels exactly the two that failed; the eight labeled ones are skipped
    refs = [line["source-ref"] for line in input_lines(world, round_job(2))]
    assert refs == [f"s3://{DATA_BUCKET}/images/bird-{i:05d}.jpg" for i in (3, 7)]
    record = world.ports.store.get_round("birds", 2)
    assert record is not None and (record.objects, record.skipped_objects) == (2, 8)


def test_an_empty_final_model_arn_is_no_model(world: World, spec_document: dict[str, Any]) -> None:
    # Given a two-round chain whose first job completes having trained no model (the API says "")
    spec_document.update(rounds=2, baseline=False)
    drop(world, "chains/birds/chain.json", json.dumps(spec_document))
    drop(world, "chains/birds/inbox/birds.manifest", manifest_lines(20))
    first = round_job(1)
    _finish_with_failures(world, first, failed=set(), model="")

    # Then Round Completed carries no model, says why, and round 2 starts without one
    [completed] = [e for e in of_type(world.published(), "Round Completed") if e["round"] == 1]
    assert completed.get("finalModelArn") is None
    assert "trained no model" in completed["note"]
    second = jobs()[round_job(2).lower()].request
    assert "InitialActiveLearningModelArn" not in second.get("LabelingJobAlgorithmsConfig", {})
