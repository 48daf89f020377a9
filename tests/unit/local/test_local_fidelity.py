"""The emulated Ground Truth's files read the way real Ground Truth's read (issue 14, "Emulator differences").

Each test reads the emulator's output and, where a real artifact exists, the real one with the same code.
The real files are in ../shared/real-gt/ (see its SOURCES.md):
- output-manifest/bb_ground-truth-od-demo.sample_output.manifest: a real 2022 bounding-box job,
  aws/amazon-sagemaker-examples archived/pytorch_yolov5_training_and_hpo/sample_output.manifest
  (commit 2d519b52c3a2c2361f2b87f0d3de46fd6c0232a5);
- output-manifest/ic_birds-open-images-clone.output.manifest and worker-response/birds-open-images-clone/:
  a real 2019 image-classification job with 5 workers per object, aws/amazon-sagemaker-examples
  prepare_data/sm-ground_truth_annotation_consolidation_image_classification/ic_data.tar.gz (same commit);
- output-manifest/docs_bounding-box.json: the example on
  https://docs.aws.amazon.com/sagemaker/latest/dg/sms-data-output.html (awsdocs/amazon-sagemaker-developer-guide
  doc_source/sms-data-output.md, commit a869fa5c9bd1074a85bd23748d0463e322ad8939).
"""

import json
import re
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from local.groundtruth.loop import FAILED, ActiveLearningRun, DetectionKit, RunConfig
from tests.unit.local.emulated import REGION, World

REAL = Path(__file__).resolve().parents[3].parent / "shared" / "real-gt"
REAL_BOXES = REAL / "output-manifest" / "bb_ground-truth-od-demo.sample_output.manifest"
REAL_CLASSES = REAL / "output-manifest" / "ic_birds-open-images-clone.output.manifest"
REAL_WORKERS = REAL / "worker-response" / "birds-open-images-clone"
DOCS_BOXES = REAL / "output-manifest" / "docs_bounding-box.json"
PUBLIC_WORKER = re.compile(r"^public\.us-east-1\.[A-Z2-7]{26}$")
EXPIRED = "ClientError: Annotation tasks expired"


def real(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"the real artifact {path} is not on this machine (see ../shared/real-gt/SOURCES.md)")
    return path


def parsed(lines: Iterable[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in lines if line.strip()]


def output(world: World, job: str, key: str = "manifests/output/output.manifest") -> list[str]:
    return world.lines(f"out/{job}/{key}")


def compact(text: str) -> bool:
    """Written with no spaces after , and : (what json.dumps(separators=(",", ":")) gives)."""
    return json.dumps(json.loads(text), separators=(",", ":")) == text


def box_values(lines: list[dict[str, Any]], attribute: str = "category") -> list[Any]:
    return [
        box[key]
        for line in lines
        if attribute in line
        for box in line[attribute]["annotations"]
        for key in ("left", "top", "width", "height")
    ]


def human_confidences(lines: list[dict[str, Any]], attribute: str) -> list[float]:
    metadata = [line[f"{attribute}-metadata"] for line in lines if attribute in line]
    return [m["confidence"] for m in metadata if m["human-annotated"] == "yes"]


# ---- 1. bounding-box coordinates -------------------------------------------------------------------------


def test_box_coordinates_are_averages_of_whole_pixel_boxes_with_their_float_digits(world: World) -> None:
    # Given a bounding-box job with 5 workers per image, as the real job had
    world.create("boxes-1", 300, workersPerObject=5)
    world.finish()

    for lines in (parsed(output(world, "boxes-1")), parsed(real(REAL_BOXES).read_text().splitlines())):
        values = box_values(lines)
        floats = [v for v in values if isinstance(v, float)]
        # Then, as in the real output (480 of 768 values), most coordinates are floats, whole ones are ints
        assert 0.3 < len(floats) / len(values) < 0.95
        assert all(not v.is_integer() for v in floats)
        # each an average of whole-pixel worker boxes: k/n for n members of at most 5 workers
        assert all(any(abs(v * n - round(v * n)) < 1e-6 for n in (2, 3, 4, 5)) for v in floats)
        # and some carry binary floating-point digits (e.g. 164.60000000000002)
        assert any(len(repr(v).split(".")[1]) > 6 for v in floats)


# ---- 2. confidence ---------------------------------------------------------------------------------------


def test_five_workers_confidences_run_as_the_real_jobs_never_reaching_one(world: World) -> None:
    world.create("classes-1", 300, task="image-classification", workersPerObject=5)
    world.create("boxes-2", 300, workersPerObject=5)
    world.finish()

    classes = [
        human_confidences(parsed(output(world, "classes-1")), "category"),
        human_confidences(parsed(real(REAL_CLASSES).read_text().splitlines()), "birds-open-images-clone"),
    ]
    for confidences in classes:
        # The real job: 297 of 302 at 0.95, the rest 0.60-0.94, none at 1.0 (expectation maximisation's posterior)
        assert max(confidences) == 0.95 and min(confidences) >= 0.5
        assert confidences.count(0.95) / len(confidences) > 0.9
    for lines in (parsed(output(world, "boxes-2")), parsed(real(REAL_BOXES).read_text().splitlines())):
        boxes = [o["confidence"] for line in lines if "category" in line for o in line["category-metadata"]["objects"]]
        # One per box; the real job's run 0.05-0.97
        assert min(boxes) > 0 and max(boxes) < 1.0 and np.mean(boxes) > 0.6


def test_with_a_single_worker_the_confidence_is_zero(world: World) -> None:
    # sms-data-output.html, "Confidence Score": one worker per object -> 0.00
    world.create("classes-2", 100, task="image-classification", workersPerObject=1)
    world.create("boxes-3", 100, workersPerObject=1)
    world.finish()

    assert set(human_confidences(parsed(output(world, "classes-2")), "category")) == {0.0}
    boxes = parsed(output(world, "boxes-3"))
    assert {o["confidence"] for line in boxes if "category" in line for o in line["category-metadata"]["objects"]} == {
        0.0
    }


def test_machine_confidence_is_the_models_own(world: World) -> None:
    world.create("classes-3", 1300, task="image-classification")
    world.finish()

    metadata = [line["category-metadata"] for line in parsed(output(world, "classes-3")) if "category" in line]
    machine = [m["confidence"] for m in metadata if m["human-annotated"] == "no"]
    human = [m["confidence"] for m in metadata if m["human-annotated"] == "yes"]
    # Auto-labels carry the model's probability (cleared the threshold, varies by object); humans' consolidation
    # has its own scale (sms-data-output.html: "You should not compare the confidence scores of human-labeled
    # data objects and auto-labeled data objects")
    assert len(machine) > 100 and len(set(machine)) > 5
    assert min(machine) > 0.5 and max(machine) <= 1.0
    assert max(human) <= 0.95


# ---- 3. and 5. one line per input line -------------------------------------------------------------------


def test_a_stopped_job_writes_one_output_line_per_input_line(world: World) -> None:
    world.create("stopped-1", 600)
    world.timers.fire_next()  # initialized
    world.timers.fire_next()  # first batch of 200
    world.sagemaker.stop_labeling_job(LabelingJobName="stopped-1")
    world.finish()

    job = world.describe("stopped-1")
    inputs = parsed(world.lines("in/stopped-1.manifest"))
    lines = parsed(output(world, "stopped-1"))
    assert job["LabelingJobStatus"] == "Stopped"
    # sms-data-output.html: one line per line of the input manifest, labels where there are any
    assert len(lines) == len(inputs) == 600
    assert [line["source-ref"] for line in lines] == [line["source-ref"] for line in inputs]
    labeled = [line for line in lines if "category" in line]
    assert len(labeled) == job["LabelCounters"]["TotalLabeled"] < 600
    # an object not labeled yet is written identically to its input line
    untouched = [line for line, given in zip(lines, inputs, strict=True) if "category-metadata" not in line]
    assert len(untouched) == job["LabelCounters"]["Unlabeled"] > 0
    assert all(line in inputs for line in untouched)


def test_every_intermediate_manifest_holds_one_line_per_input_line(world: World) -> None:
    world.create("steps-1", 1300)
    world.finish()

    keys = sorted(world.keys("out/steps-1/manifests/intermediate/"), key=lambda k: int(k.split("/")[-2]))
    labeled = []
    for key in keys:
        lines = parsed(world.lines(key))
        assert len(lines) == 1300
        labeled.append(sum("category" in line for line in lines))
    # cumulative: each iteration's file has every label so far; the last one is the output manifest
    assert labeled == sorted(labeled) and labeled[0] > 0
    assert world.lines(keys[-1]) == output(world, "steps-1")


# ---- 4. failed objects -----------------------------------------------------------------------------------


def test_objects_whose_tasks_expire_fail_with_the_documented_metadata_and_counters(world: World) -> None:
    # Given tasks available for a bit less time than the crowd needs to work through a batch
    world.create("expiring-1", 400, taskAvailabilitySeconds=1900)
    world.finish()

    job = world.describe("expiring-1")
    counters = job["LabelCounters"]
    lines = parsed(output(world, "expiring-1"))
    failed = [line for line in lines if "failure-reason" in line.get("category-metadata", {})]
    # Then a few objects failed, counted as FailedNonRetryableError, never as labeled
    assert job["LabelingJobStatus"] == "Completed"
    assert 0 < len(failed) == counters["FailedNonRetryableError"] < 40
    assert counters["TotalLabeled"] + counters["FailedNonRetryableError"] + counters["Unlabeled"] == 400
    for line in failed:
        # <attr>-metadata holds failure-reason and retry-count; there is no <attr>
        assert "category" not in line
        assert set(line["category-metadata"]) == {"failure-reason", "retry-count"}
        assert line["category-metadata"]["failure-reason"].startswith(EXPIRED)
        assert isinstance(line["category-metadata"]["retry-count"], int)
    # and no consolidated label exists for them
    responses = [k for k in world.keys("out/expiring-1/") if "/consolidation-response/" in k]
    labeled_ids = {int(e["datasetObjectId"]) for key in responses for e in world.json(key)}
    failed_ids = {i for i, line in enumerate(lines) if line in failed}
    assert labeled_ids.isdisjoint(failed_ids) and len(labeled_ids) == counters["HumanLabeled"]


def test_with_the_seed_notebooks_limits_a_small_seeded_share_of_objects_fails() -> None:
    # The default limits (TaskTimeLimitInSeconds 300, TaskAvailabilityLifetimeInSeconds 21600), 2,500 objects
    ids = [f"s3://bucket/images/{i:05d}.jpg" for i in range(2500)]
    runs = [ActiveLearningRun(DetectionKit(("Bird",)), ids, RunConfig(3, 200, False, None, seed)) for seed in (4, 4)]
    for run in runs:
        list(run.iterations())
    failed = [set(np.nonzero(run.labeled_by == FAILED)[0].tolist()) for run in runs]
    assert 0 < len(failed[0]) < 0.01 * 2500
    assert failed[0] == failed[1]  # seeded


def test_more_than_a_tenth_of_the_first_sample_failing_fails_the_job(world: World) -> None:
    # sms-automated-labeling.html: "If more than 10% of these data objects fail, the labeling job will fail."
    world.create("hopeless-1", 1300, taskAvailabilitySeconds=60)
    world.finish()

    job = world.describe("hopeless-1")
    assert job["LabelingJobStatus"] == "Failed"
    assert job["FailureReason"].startswith("ClientError:") and "10%" in job["FailureReason"]
    assert job["LabelCounters"]["FailedNonRetryableError"] == 10
    assert [e["detail"]["LabelingJobStatus"] for e in world.events()] == ["Failed"]


# ---- 6. class-map ----------------------------------------------------------------------------------------


def test_class_map_lists_only_the_classes_a_label_shows(world: World) -> None:
    world.create("boxes-4", 300, labels=["Bird", "Feeder", "Squirrel"])
    world.finish()

    docs = json.loads(real(DOCS_BOXES).read_text())
    examples = [
        (parsed(output(world, "boxes-4")), "category"),
        (parsed(real(REAL_BOXES).read_text().splitlines()), "category"),
        ([docs], "bounding-box-attribute-name"),
    ]
    for lines, attribute in examples:
        for line in (line for line in lines if attribute in line):
            shown = {str(box["class_id"]) for box in line[attribute]["annotations"]}
            assert set(line[f"{attribute}-metadata"]["class-map"]) == shown
    mixed = [line for line in examples[0][0] if len(line.get("category-metadata", {}).get("class-map", {})) > 1]
    assert mixed and len(mixed) < 300  # several classes in some images, not all classes in every image


# ---- 7. serialisation ------------------------------------------------------------------------------------


def test_files_are_compact_json_with_the_real_jobs_metadata_and_worker_fields(world: World) -> None:
    world.create("Birds-Mixed-Case-1", 1300)
    world.finish()
    prefix = "out/Birds-Mixed-Case-1/"
    keys = world.keys(prefix)

    # Compact JSON, like the real output manifests
    for path in (real(REAL_CLASSES), real(REAL_BOXES)):
        assert all(compact(line) for line in path.read_text().splitlines())
    manifests = [k for k in keys if k.endswith(".manifest")]
    assert all(compact(line) for key in manifests for line in world.lines(key))
    consolidation = [k for k in keys if "/consolidated-annotation/" in k and k.endswith(".json")]
    worker_files = [k for k in keys if "/worker-response/" in k][::10]  # every tenth: reading all is slow on moto
    assert all(compact(world.read(key).decode()) for key in consolidation + worker_files)
    auto = [k for k in keys if k.endswith("auto_annotator_output.txt")]
    assert auto and all(compact(line.split(" ", 1)[1]) for key in auto for line in world.lines(key))

    # job-name: "labeling-job/" and the job's name in lower case
    metadata = [line["category-metadata"] for line in parsed(output(world, "Birds-Mixed-Case-1"))]
    assert {m.get("job-name") for m in metadata if "job-name" in m} == {"labeling-job/birds-mixed-case-1"}
    real_names = {json.loads(line)["birds-open-images-clone-metadata"]["job-name"] for line in REAL_CLASSES.open()}
    assert real_names == {"labeling-job/birds-open-images-clone"}

    # Worker responses: times ending in Z, the public workforce's worker ids, no workerMetadata
    responses = [world.json(k)["answers"] for k in worker_files]
    real_responses = [json.loads(p.read_text())["answers"] for p in sorted(real(REAL_WORKERS).glob("*/*/*.json"))]
    assert len(real_responses) == 302
    for answers in (*responses, *real_responses):
        for answer in answers:
            assert PUBLIC_WORKER.match(answer["workerId"]) and "workerMetadata" not in answer
            assert answer["submissionTime"].endswith("Z")
        times = [answer["submissionTime"] for answer in answers]
        assert times == sorted(times)
    for answer in (a for answers in responses for a in answers):
        accepted = datetime.strptime(answer["acceptanceTime"], "%Y-%m-%dT%H:%M:%S.%fZ")
        submitted = datetime.strptime(answer["submissionTime"], "%Y-%m-%dT%H:%M:%S.%fZ")
        assert 0 < answer["timeSpentInSeconds"] <= 300
        assert abs((submitted - accepted).total_seconds() - answer["timeSpentInSeconds"]) < 0.01
    # About a hundred public workers take up the job, some many of its tasks (the real job: 97 workers gave
    # 1,510 answers, the busiest 80)
    requests = [world.json(k) for k in consolidation if "/consolidation-request/" in k]
    workers = [a["workerId"] for request in requests for entry in request for a in entry["annotations"]]
    counts = sorted(workers.count(w) for w in set(workers))
    assert 50 <= len(counts) <= 100 and counts[-1] > 3 * len(workers) / len(counts)


def test_a_private_workforce_carries_worker_metadata(world: World) -> None:
    team = f"arn:aws:sagemaker:{REGION}:123456789012:workteam/private-crowd/birders"
    world.create("private-1", 50, workforce={"type": "private", "workteamArn": team})
    world.finish()

    keys = [k for k in world.keys("out/private-1/") if "/worker-response/" in k]
    answers = [a for key in keys for a in world.json(key)["answers"]]
    # sms-data-output.html, "Worker Metadata": a private workforce's identityData
    assert all(re.match(r"^private\.us-east-1\.[a-z0-9]{17}$", a["workerId"]) for a in answers)
    identity = answers[0]["workerMetadata"]["identityData"]
    assert identity["identityProviderType"] == "Cognito"
    assert identity["issuer"].startswith("https://cognito-idp.us-east-1.amazonaws.com/us-east-1_")
    assert len({a["workerId"] for a in answers}) <= 25
