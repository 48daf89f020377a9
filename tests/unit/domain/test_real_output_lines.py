"""gtchain's readers on real Ground Truth artifacts (../shared/real-gt, each file's source in its SOURCES.md)."""

import json
from pathlib import Path

import pytest

from gtchain.domain.events import LabelingJobStateChangeEvent
from gtchain.domain.labeling_job import LabelingJob, model_arn
from gtchain.domain.output_manifest import read_output_line

REAL = Path(__file__).resolve().parents[4] / "shared" / "real-gt"
pytestmark = pytest.mark.skipif(not REAL.is_dir(), reason="../shared/real-gt is not beside the repository")


def _lines(name: str) -> list[bytes]:
    return [line for line in (REAL / "output-manifest" / name).read_bytes().splitlines() if line.strip()]


def test_a_real_image_classification_output_manifest_reads_as_302_labeled_objects() -> None:
    # aws/amazon-sagemaker-examples, ic_data/output.manifest (job birds-open-images-clone, 2019)
    lines = _lines("ic_birds-open-images-clone.output.manifest")
    read = [read_output_line(line, "birds-open-images-clone") for line in lines]
    assert len(read) == 302 and all(r is not None and r.outcome == "labeled" for r in read)
    first = read[0]
    assert first is not None and first.members["birds-open-images-clone"] == 9
    assert len({r.digest for r in read if r is not None}) == 302


def test_a_real_bounding_box_output_manifest_keeps_float_coordinates() -> None:
    # aws/amazon-sagemaker-examples, archived/pytorch_yolov5_training_and_hpo/sample_output.manifest (2022)
    read = [read_output_line(line, "category") for line in _lines("bb_ground-truth-od-demo.sample_output.manifest")]
    assert len(read) == 100 and all(r is not None and r.outcome == "labeled" for r in read)
    first = read[0]
    assert first is not None
    assert first.members["category"]["annotations"][0]["top"] == 164.60000000000002


def test_the_documented_semantic_segmentation_line_reads_its_ref_attribute() -> None:
    # awsdocs/amazon-sagemaker-developer-guide, sms-data-output.md: published with a trailing comma, so the
    # documented line is mended before reading (SOURCES.md says so)
    text = (REAL / "output-manifest" / "docs_semantic-segmentation.json").read_text()
    mended = text.replace('"job-name": "label-city-streets",\n     },', '"job-name": "label-city-streets"\n     },')
    line = json.dumps(json.loads(mended)).encode()
    read = read_output_line(line, "city-streets-ref")
    assert read is not None and read.outcome == "labeled"
    assert read.members["city-streets-ref-metadata"]["type"] == "groundtruth/semantic-segmentation"


def test_a_failed_object_line_is_failed_with_its_reason() -> None:
    # The shape sms-data-output.md documents for an object Ground Truth could not label
    line = b'{"source-ref":"s3://b/x.jpg","category-metadata":{"retry-count":1,"failure-reason":"ClientError: ' \
        b'Annotation tasks expired."}}'  # fmt: skip
    read = read_output_line(line, "category")
    assert read is not None and read.outcome == "failed"
    assert read.failure_reason == "ClientError: Annotation tasks expired."
    assert read_output_line(b'{"source-ref":"s3://b/x.jpg"}', "category").outcome == "unlabeled"  # type: ignore[union-attr]
    assert read_output_line(b"[1, 2]", "category") is None and read_output_line(b"{", "category") is None


def test_the_documented_state_change_event_parses_and_names_its_job() -> None:
    # awsdocs/amazon-sagemaker-developer-guide, sms-monitor-cloud-watch.md
    event = LabelingJobStateChangeEvent.model_validate_json(
        (REAL / "events" / "docs_sms-monitor-cloud-watch.json").read_bytes()
    )
    assert event.detail.labeling_job_status == "Completed"
    assert event.resources[0].endswith(":labeling-job/test-labeling-job")


def test_an_empty_model_arn_is_no_model() -> None:
    assert model_arn("") is None and model_arn("  ") is None and model_arn(None) is None
    arn = "arn:aws:sagemaker:us-east-1:123456789012:model/m1"
    assert model_arn(arn) == arn
    job = LabelingJob.from_api({
        "LabelingJobName": "j", "LabelingJobStatus": "Completed",
        "LabelingJobOutput": {"OutputDatasetS3Uri": "s3://b/o.manifest", "FinalActiveLearningModelArn": ""},
        "LabelingJobAlgorithmsConfig": {"InitialActiveLearningModelArn": ""},
    })  # fmt: skip
    assert job.final_model_arn is None and job.initial_model_arn is None and job.terminal
