"""An emulated labeling job seen from outside: the API, the output layout the notebook and the reporter read,
the training logs, the state-change event, the carried model, and the fault knobs."""

import json
from datetime import datetime, timedelta

from tests.unit.local.emulated import BUCKET, World


def test_a_job_moves_through_its_states_and_announces_its_end_in_aws_shape(world: World) -> None:
    arn = world.create("birds-1", 1300)
    assert world.describe("birds-1")["LabelingJobStatus"] == "Initializing"
    world.timers.fire_next()
    assert world.describe("birds-1")["LabelingJobStatus"] == "InProgress"
    world.finish()

    job = world.describe("birds-1")
    counters = job["LabelCounters"]
    assert job["LabelingJobStatus"] == "Completed"
    assert counters["TotalLabeled"] == counters["HumanLabeled"] + counters["MachineLabeled"]
    assert counters["TotalLabeled"] + counters["FailedNonRetryableError"] == 1300
    assert counters["MachineLabeled"] > 0 and counters["Unlabeled"] == 0
    assert job["LastModifiedTime"] - job["CreationTime"] > timedelta(hours=1)  # emulated hours, not seconds
    (event,) = world.events()
    assert event["detail-type"] == "SageMaker Ground Truth Labeling Job State Change"
    assert event["source"] == "aws.sagemaker"
    assert event["resources"] == [arn]
    assert event["detail"] == {"LabelingJobStatus": "Completed"}


def test_the_output_layout_is_the_one_the_notebook_reads(world: World) -> None:
    world.create("birds-2", 1300)
    world.finish()
    job = world.describe("birds-2")
    prefix = "out/birds-2/"
    keys = world.keys(prefix)

    # Human labels: consolidation responses per iteration, counted once per datasetObjectId
    responses = [k for k in keys if "/consolidation-response/" in k]
    human_ids = {entry["datasetObjectId"] for key in responses for entry in world.json(key)}
    assert len(human_ids) == job["LabelCounters"]["HumanLabeled"]
    entry = world.json(responses[0])[0]["consolidatedAnnotation"]["content"]
    assert entry["category-metadata"]["human-annotated"] == "yes"
    assert entry["category"]["image_size"][0]["depth"] == 3
    assert any("/consolidation-request/iteration-" in k for k in keys)
    assert any(k.startswith(f"{prefix}annotations/worker-response/iteration-1/") for k in keys)
    # Machine labels: auto_annotator_output.txt, the iteration two folders up, lines "<id> <json>"
    auto = [k for k in keys if k.endswith("auto_annotator_output.txt")]
    machine = 0
    for key in auto:
        int(key.split("/")[-3])
        lines = world.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read().decode().splitlines()
        machine += len(lines)
        annotation = json.loads(" ".join(lines[0].split()[1:]))
        datetime.strptime(annotation["category-metadata"]["creation-date"], "%Y-%m-%dT%H:%M:%S.%f")
        assert annotation["category-metadata"]["human-annotated"] == "no"
    assert machine == job["LabelCounters"]["MachineLabeled"]
    # Models: training/.../<iteration>/<dir>/<training-job>/output/model.tar.gz
    models = [k for k in keys if k.endswith("/output/model.tar.gz")]
    assert models and all(int(k.split("/")[-5]) >= 1 for k in models)
    # The output manifest: every object, its label and metadata (or, for an object that failed, its failure)
    output = world.s3.get_object(Bucket=BUCKET, Key=f"{prefix}manifests/output/output.manifest")["Body"].read()
    lines = [json.loads(line) for line in output.decode().splitlines()]
    assert len(lines) == 1300 and all({"source-ref", "category-metadata"} <= set(line) for line in lines)
    assert sum("category" in line for line in lines) == job["LabelCounters"]["TotalLabeled"]
    assert job["LabelingJobOutput"]["OutputDatasetS3Uri"] == f"s3://{BUCKET}/{prefix}manifests/output/output.manifest"
    assert any(k.startswith(f"{prefix}manifests/intermediate/") for k in keys)

    # Training logs as the notebook parses them: the sample count, then one mAP per epoch
    logs = world.session.client("logs")
    group = "/aws/sagemaker/TrainingJobs"
    training_job = models[-1].split("/")[-3]
    stream = logs.describe_log_streams(logGroupName=group, logStreamNamePrefix=training_job)["logStreams"][0]
    events = logs.get_log_events(logGroupName=group, logStreamName=stream["logStreamName"], startFromHead=True)
    messages = [event["message"] for event in events["events"]]
    samples = next(
        int(m.split("num_training_samples': u'")[1].split("'")[0]) for m in messages if "Final configuration" in m
    )
    maps = [float(m.split("validation mAP <score>=(")[1][:-1]) for m in messages if "validation mAP <score>=(" in m]
    assert samples >= 200 and len(maps) > 10 and all(0.0 <= v <= 1.0 for v in maps)


def test_the_final_model_is_a_sagemaker_model_a_later_job_starts_from(world: World) -> None:
    world.create("birds-3", 1300)
    world.finish()
    model_arn = world.describe("birds-3")["LabelingJobOutput"]["FinalActiveLearningModelArn"]
    model = world.sagemaker.describe_model(ModelName=model_arn.split("/")[-1])
    assert model["PrimaryContainer"]["ModelDataUrl"].endswith("/output/model.tar.gz")

    world.create("birds-4", 1300, initial_model=model_arn)
    world.finish()
    warm = world.describe("birds-4")
    assert warm["LabelingJobStatus"] == "Completed"
    # A warm start sends no training batch: after the probe come the validation batches, then auto-labeling
    iterations = sorted(
        {int(k.split("iteration-")[1].split("/")[0]) for k in world.keys("out/birds-4/annotations/consolidated")}
    )
    assert (
        len(
            world.json(
                world.keys(
                    f"out/birds-4/annotations/consolidated-annotation/consolidation-response/iteration-{iterations[1]}/"
                )[0]
            )
        )
        == 200
    )


def test_a_model_that_does_not_fit_the_job_fails_it(world: World) -> None:
    world.create("birds-5", 1300)
    world.finish()
    model_arn = world.describe("birds-5")["LabelingJobOutput"]["FinalActiveLearningModelArn"]
    world.events()
    world.create("texts-1", 1300, task="text-classification", initial_model=model_arn)
    world.finish()
    job = world.describe("texts-1")
    assert job["LabelingJobStatus"] == "Failed"
    assert "InitialActiveLearningModelArn" in job["FailureReason"] and "object-detection" in job["FailureReason"]
    assert [e["detail"]["LabelingJobStatus"] for e in world.events()] == ["Failed"]


def test_stop_labeling_job_stops_between_iterations(world: World) -> None:
    world.create("birds-6", 400)
    world.timers.fire_next()
    world.timers.fire_next()
    world.sagemaker.stop_labeling_job(LabelingJobName="birds-6")
    assert world.describe("birds-6")["LabelingJobStatus"] == "Stopping"
    world.finish()
    job = world.describe("birds-6")
    assert job["LabelingJobStatus"] == "Stopped"
    assert 0 < job["LabelCounters"]["TotalLabeled"] < 400
    assert [e["detail"]["LabelingJobStatus"] for e in world.events()] == ["Stopped"]


def test_fault_knobs_fail_a_job_and_repeat_or_lose_its_event(world: World) -> None:
    world.faults.fail_job("fails-*", "ClientError: boom", after_iterations=1)
    world.faults.duplicate_job_event("twice-*", copies=2)
    world.faults.drop_job_event("lost-*")
    for name in ("fails-1", "twice-1", "lost-1"):
        world.create(name, 100)
    world.finish()
    assert world.describe("fails-1")["FailureReason"] == "ClientError: boom"
    assert world.describe("fails-1")["LabelCounters"]["TotalLabeled"] == 100  # one iteration: 100 objects
    assert world.describe("lost-1")["LabelingJobStatus"] == "Completed"
    sent = sorted((e["resources"][0].split("/")[-1], e["detail"]["LabelingJobStatus"]) for e in world.events())
    assert sent == [("fails-1", "Failed"), ("twice-1", "Completed"), ("twice-1", "Completed")]


def test_delayed_output_appears_after_completed(world: World) -> None:
    world.faults.delay_output("late-*", timedelta(minutes=20))
    world.create("late-1", 100)
    while world.describe("late-1")["LabelingJobStatus"] != "Completed":
        world.timers.fire_next()
    assert world.keys("out/late-1/") == []
    world.finish()
    assert "out/late-1/manifests/output/output.manifest" in world.keys("out/late-1/")
