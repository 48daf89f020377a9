"""Chains through the emulator: several rounds, several manifests, another task type."""

import json
from itertools import pairwise

from tests.e2e.conftest import Chain, tags


def test_a_chain_of_four_rounds_runs_them_one_after_another(chain: Chain) -> None:
    # Given a chain that splits each manifest into 4 rounds (small: humans label everything)
    chain.upload_spec(rounds=4, baseline=True)
    chain.drop_manifest("birds", 400)

    # When it runs to the end
    chain.cloud.run()

    # Then 4 jobs ran, in round order, each created only after the previous one completed
    jobs = chain.jobs()
    assert [tags(job)["gtchain:round"] for job in jobs] == ["1", "2", "3", "4"]
    assert [job["LabelingJobName"].rsplit("-", 2)[-2:] for job in jobs] == [
        ["r1", "a1"],
        ["r2", "a1"],
        ["r3", "a1"],
        ["r4", "a1"],
    ]
    assert all(job["LabelingJobStatus"] == "Completed" for job in jobs)
    for previous, job in pairwise(jobs):
        assert job["CreationTime"] >= previous["LastModifiedTime"]
    # And under 1,250 objects Ground Truth auto-labels nothing and trains no model, so no baseline runs
    for job in jobs:
        counters = job["LabelCounters"]
        assert counters["MachineLabeled"] == counters["Unlabeled"] == 0
        assert counters["TotalLabeled"] == counters["HumanLabeled"] == 100 - counters["FailedNonRetryableError"]
    assert all("FinalActiveLearningModelArn" not in job["LabelingJobOutput"] for job in jobs)
    assert {event["role"] for event in chain.recorder.of_type("Round Started")} == {"round"}
    # And the results hold every input line, in order, with its label
    results = chain.results("birds")
    assert [line["source-ref"].rsplit("/", 1)[1] for line in results] == [f"{i:06d}.jpg" for i in range(400)]
    failed = [line for line in results if "category" not in line]
    assert all("failure-reason" in line["category-metadata"] for line in failed)
    assert len(failed) == sum(job["LabelCounters"]["FailedNonRetryableError"] for job in jobs)
    assert all("annotations" in line["category"] for line in results if line not in failed)
    assert chain.status()["roundsCompleted"] == 4


def test_a_manifest_dropped_mid_chain_queues_behind_the_running_rounds(chain: Chain) -> None:
    # Given a chain running the first of a manifest's two rounds
    chain.upload_spec(rounds=2, baseline=False)
    chain.drop_manifest("first", 300)
    chain.cloud.run(until=lambda: any(job["LabelingJobStatus"] == "InProgress" for job in chain.jobs()))

    # When a second manifest arrives, and the chain runs on
    chain.drop_manifest("second", 200, seed=1)
    assert len(chain.jobs()) == 1
    chain.cloud.run()

    # Then the second manifest became rounds 3 and 4, run after the first manifest's rounds
    jobs = chain.jobs()
    assert [tags(job)["gtchain:round"] for job in jobs] == ["1", "2", "3", "4"]
    assert [job["LabelCounters"]["TotalLabeled"] + job["LabelCounters"]["FailedNonRetryableError"]
            for job in jobs] == [150, 150, 100, 100]  # fmt: skip
    for previous, job in pairwise(jobs):
        assert job["CreationTime"] >= previous["LastModifiedTime"]
    # And each manifest got its own results, line for line
    assert len(chain.results("first")) == 300
    assert len(chain.results("second")) == 200
    assert [event["manifest"] for event in chain.recorder.of_type("Manifest Completed")] == [
        "first.manifest", "second.manifest",
    ]  # fmt: skip


def test_an_image_classification_chain_carries_its_model(chain: Chain) -> None:
    # Given an image-classification chain of two rounds of 1,300 objects each
    chain.upload_spec(task="image-classification", rounds=2, baseline=False)
    chain.drop_manifest("birds", 2600, task="image-classification")

    # When it runs
    chain.cloud.run()

    # Then round 2 started from round 1's model and auto-labeled part of its objects
    first, second = chain.jobs()
    assert first["LabelingJobStatus"] == second["LabelingJobStatus"] == "Completed"
    model = first["LabelingJobOutput"]["FinalActiveLearningModelArn"]
    assert second["LabelingJobAlgorithmsConfig"]["InitialActiveLearningModelArn"] == model
    assert second["LabelCounters"]["MachineLabeled"] > 0
    # And the labels are classification labels in Ground Truth's shape
    output = chain.cloud.get(second["LabelingJobOutput"]["OutputDatasetS3Uri"].split("/", 3)[3]).decode()
    lines = [json.loads(line) for line in output.splitlines()]
    assert len(lines) == 1300
    assert {line["category-metadata"]["class-name"] for line in lines} <= {"Sparrow", "Pigeon", "Gull"}
    assert {line["category-metadata"]["type"] for line in lines} == {"groundtruth/image-classification"}
    machine = [line for line in lines if line["category-metadata"]["human-annotated"] == "no"]
    assert len(machine) == second["LabelCounters"]["MachineLabeled"]
