"""The labeling service's contract, asserted alike of the fake and of SageMaker (moto with local.moto_labeling)."""

from decimal import Decimal

import pytest

from gtchain.service.ports import JobAlreadyExistsError, JobRejectedError
from tests.contract.conftest import LabelingHarness
from tests.fixtures.job_outputs import labeling_request
from tests.support import ACCOUNT, REGION

OUTPUT = "s3://data/chains/birds/jobs/"
TAGS = {"gtchain:chain-id": "birds", "gtchain:incarnation": "a1b2c3", "gtchain:round": "2", "gtchain:role": "round"}
NAME = "gtchain-birds-a1b2c3-r2-a1"
MODEL = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model/birds-r1"


def test_a_created_job_runs_and_describes_itself(labeling: LabelingHarness) -> None:
    arn = labeling.labeling.create_job(labeling_request(NAME, OUTPUT, tags=TAGS, initial_model=MODEL))

    assert arn == f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:labeling-job/{NAME}"
    job = labeling.labeling.describe_job(NAME)
    assert job is not None
    assert (job.name, job.status, job.arn, job.terminal) == (NAME, "InProgress", arn, False)
    assert job.tags == TAGS and job.initial_model_arn == MODEL and job.final_model_arn is None
    assert (job.label_attribute, job.output_path, job.output_manifest_uri) == ("category", OUTPUT, None)
    assert (job.workers_per_object, job.task_price_usd) == (3, Decimal("0.036"))
    assert job.counters.total_labeled == 0
    context = job.chain_context
    assert context is not None and (context.chain_id, context.round, context.role) == ("birds", 2, "round")
    assert labeling.labeling.describe_job("gtchain-nobody-r1-a1") is None


def test_a_name_is_taken_forever_whatever_its_case(labeling: LabelingHarness) -> None:
    labeling.labeling.create_job(labeling_request(NAME, OUTPUT))
    labeling.finish(NAME, "Failed", reason="ClientError: x")
    with pytest.raises(JobAlreadyExistsError):
        labeling.labeling.create_job(labeling_request(NAME.upper(), OUTPUT))


def test_a_request_the_service_model_refuses_is_rejected(labeling: LabelingHarness) -> None:
    with pytest.raises(JobRejectedError, match="at 'labelingJobName' failed to satisfy constraint"):
        labeling.labeling.create_job(labeling_request("bad_name_with_underscores", OUTPUT))
    assert labeling.labeling.describe_job("bad_name_with_underscores") is None


def test_a_request_botocore_refuses_never_reaches_the_service_and_is_rejected(labeling: LabelingHarness) -> None:
    # botocore checks lengths (not patterns) before sending: a request it refuses cannot succeed on a retry either
    with pytest.raises(JobRejectedError, match="InitialActiveLearningModelArn"):
        labeling.labeling.create_job(labeling_request(NAME, OUTPUT, initial_model="arn:model/r1"))
    assert labeling.labeling.describe_job(NAME) is None


def test_stopping_a_live_job_once_and_anything_else_is_a_no_op(labeling: LabelingHarness) -> None:
    labeling.labeling.create_job(labeling_request(NAME, OUTPUT))
    labeling.labeling.stop_job(NAME)
    labeling.labeling.stop_job(NAME)  # already stopping
    job = labeling.labeling.describe_job(NAME)
    assert job is not None and job.status == "Stopping"

    labeling.labeling.create_job(labeling_request("gtchain-done", OUTPUT))
    labeling.finish("gtchain-done", human=5)
    labeling.labeling.stop_job("gtchain-done")  # finished: nothing to stop
    done = labeling.labeling.describe_job("gtchain-done")
    assert done is not None and done.status == "Completed"
    labeling.labeling.stop_job("gtchain-never-created")


def test_a_finished_job_shows_its_counters_output_and_model(labeling: LabelingHarness) -> None:
    labeling.labeling.create_job(labeling_request(NAME, OUTPUT))
    labeling.finish(NAME, human=6, machine=4, model="arn:aws:sagemaker:us-east-1:1:model/r2")

    job = labeling.labeling.describe_job(NAME)
    assert job is not None and job.terminal and job.status == "Completed"
    assert (job.counters.total_labeled, job.counters.human_labeled, job.counters.machine_labeled) == (10, 6, 4)
    assert job.output_manifest_uri == f"{OUTPUT}{NAME}/manifests/output/output.manifest"
    assert job.final_model_arn == "arn:aws:sagemaker:us-east-1:1:model/r2" and job.failure_reason is None

    labeling.labeling.create_job(labeling_request("gtchain-failed", OUTPUT))
    labeling.finish("gtchain-failed", "Failed", human=2, reason="ClientError: workers could not load the images")
    failed = labeling.labeling.describe_job("gtchain-failed")
    assert failed is not None and failed.terminal and failed.status == "Failed"
    assert failed.failure_reason == "ClientError: workers could not load the images" and failed.final_model_arn is None
