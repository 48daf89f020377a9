"""The seed notebook's experiment: 2,500 bird images, rounds 2, a baseline; the carried model must pay off."""

import json

import pytest

from local.cloud import LocalCloud
from local.dataset import chain_spec, manifest
from tests.e2e.conftest import CHAIN, START, machine_share, tags


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_round_two_with_the_carried_model_beats_its_baseline(seed: int) -> None:
    # Given the notebook's setup: 2,500 objects split in two rounds, a baseline for round 2
    with LocalCloud(seed=seed, start=START) as cloud:
        cloud.put(f"chains/{CHAIN}/chain.json", json.dumps(chain_spec("bounding-box", rounds=2, baseline=True)))
        cloud.put(f"chains/{CHAIN}/inbox/birds.manifest", manifest("bounding-box", cloud.bucket, 2500, seed))

        # When the chain runs to the end
        cloud.run()
        jobs = {tags(job)["gtchain:round"] + tags(job)["gtchain:role"]: job
                for job in (cloud.describe_job(name) for name in cloud.job_names())}  # fmt: skip

    # Then round 1 started cold on the first 1,250 objects, round 2 warm with round 1's model, the baseline cold
    assert set(jobs) == {"1round", "2round", "2baseline"}
    assert all(job["LabelingJobStatus"] == "Completed" for job in jobs.values())
    # (a few tasks may expire: Ground Truth counts those objects as failed, not labeled)
    counters = [job["LabelCounters"] for job in jobs.values()]
    assert all(c["TotalLabeled"] + c["FailedNonRetryableError"] == 1250 for c in counters)
    assert all(c["FailedNonRetryableError"] <= 12 for c in counters)
    carried = jobs["2round"]["LabelingJobAlgorithmsConfig"]["InitialActiveLearningModelArn"]
    assert carried == jobs["1round"]["LabelingJobOutput"]["FinalActiveLearningModelArn"]
    assert "InitialActiveLearningModelArn" not in jobs["2baseline"]["LabelingJobAlgorithmsConfig"]
    # And the model is worth at least 5 points of machine-labeled objects (an outcome of the learning loop)
    with_model, without = machine_share(jobs["2round"]), machine_share(jobs["2baseline"])
    assert with_model >= without + 5, f"seed {seed}: {with_model:.1f}% with the model, {without:.1f}% without"
