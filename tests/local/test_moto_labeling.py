"""Labeling-job support for moto (local/moto_labeling.py), exercised through boto3."""

import copy
import sys
import threading
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.core.botocore_stubber import BotocoreStubber
from moto.moto_api._internal.models import moto_api_backend
from moto.sagemaker.models import SageMakerModelBackend
from moto.sagemaker.responses import SageMakerResponse
from moto.server import ThreadedMotoServer

from local.moto_labeling import (
    LabelingJob,
    clear_hooks,
    install,
    labeling_jobs,
    on_create,
    on_stop,
    serialized_requests,
    update_job,
)

if TYPE_CHECKING:
    from mypy_boto3_sagemaker import SageMakerClient
    from mypy_boto3_sagemaker.type_defs import TagTypeDef

REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's default account
PUBLIC_WORKTEAM = f"arn:aws:sagemaker:{REGION}:394669845002:workteam/public-crowd/default"
PRIVATE_WORKTEAM = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:workteam/private-crowd/birders"
LAMBDA = f"arn:aws:lambda:{REGION}:432418664414:function"
ALGORITHM = f"arn:aws:sagemaker:{REGION}:027400017018:labeling-job-algorithm-specification/object-detection"
DELETE = object()
# One session for every client: loading the large SageMaker service model once keeps the file fast.
SESSION = boto3.Session(region_name=REGION)

VALID_REQUEST: dict[str, Any] = {
    "LabelingJobName": "Birds-1",
    "LabelAttributeName": "category",
    "InputConfig": {
        "DataSource": {"S3DataSource": {"ManifestS3Uri": "s3://in-bucket/birds/input.manifest"}},
        "DataAttributes": {"ContentClassifiers": ["FreeOfPersonallyIdentifiableInformation"]},
    },
    "OutputConfig": {"S3OutputPath": "s3://out-bucket/jobs"},
    "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/service-role/GroundTruthExecution",
    "LabelCategoryConfigS3Uri": "s3://in-bucket/birds/class_labels.json",
    "StoppingConditions": {"MaxPercentageOfInputDatasetLabeled": 100},
    "LabelingJobAlgorithmsConfig": {"LabelingJobAlgorithmSpecificationArn": ALGORITHM},
    "HumanTaskConfig": {
        "WorkteamArn": PUBLIC_WORKTEAM,
        "UiConfig": {"UiTemplateS3Uri": "s3://in-bucket/birds/template.liquid"},
        "PreHumanTaskLambdaArn": f"{LAMBDA}:PRE-BoundingBox",
        "TaskKeywords": ["Images", "Bounding Box"],
        "TaskTitle": "Draw boxes around birds",
        "TaskDescription": "Draw a tight box around every bird",
        "NumberOfHumanWorkersPerDataObject": 3,
        "TaskTimeLimitInSeconds": 300,
        "TaskAvailabilityLifetimeInSeconds": 21600,
        "MaxConcurrentTaskCount": 1000,
        "AnnotationConsolidationConfig": {"AnnotationConsolidationLambdaArn": f"{LAMBDA}:ACS-BoundingBox"},
        "PublicWorkforceTaskPrice": {"AmountInUsd": {"Dollars": 0, "Cents": 3, "TenthFractionsOfACent": 6}},
    },
    "Tags": [{"Key": "project", "Value": "gtchain"}],
}


def request(changes: dict[str, object] | None = None, **top_level: object) -> dict[str, Any]:
    """VALID_REQUEST with dotted paths set (or removed with DELETE) and top-level members replaced."""
    result = copy.deepcopy(VALID_REQUEST)
    for path, value in {**(changes or {}), **top_level}.items():
        *parents, leaf = path.split(".")
        target = result
        for key in parents:
            target = target[key]
        if value is DELETE:
            del target[leaf]
        else:
            target[leaf] = value
    return result


@pytest.fixture(autouse=True)
def _installed() -> Iterator[None]:
    install()
    yield
    clear_hooks()


@pytest.fixture
def sagemaker() -> Iterator["SageMakerClient"]:
    with mock_aws():
        yield SESSION.client("sagemaker")


@pytest.fixture
def unchecked() -> Iterator["SageMakerClient"]:
    """A client that skips botocore's own checks, so every malformed request reaches moto."""
    with mock_aws():
        yield SESSION.client("sagemaker", config=Config(parameter_validation=False))


def job_names(response: Mapping[str, Any]) -> list[str]:
    return [job["LabelingJobName"] for job in response["LabelingJobSummaryList"]]


def error_of(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    error = excinfo.value.response["Error"]
    return error["Code"], error["Message"]


def test_bounding_box_job_round_trips(sagemaker: "SageMakerClient") -> None:
    arn = sagemaker.create_labeling_job(**VALID_REQUEST)["LabelingJobArn"]

    described = sagemaker.describe_labeling_job(LabelingJobName="Birds-1")
    assert arn == f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:labeling-job/birds-1"
    assert described["LabelingJobArn"] == arn
    for member, sent in VALID_REQUEST.items():
        assert described[member] == sent, member  # type: ignore[literal-required]
    assert described["LabelingJobStatus"] == "InProgress"
    assert described["LabelCounters"] == {
        "TotalLabeled": 0,
        "HumanLabeled": 0,
        "MachineLabeled": 0,
        "FailedNonRetryableError": 0,
        "Unlabeled": 0,
    }
    assert described["JobReferenceCode"]
    assert "LabelingJobOutput" not in described
    assert "FailureReason" not in described
    now = datetime.now(UTC)
    for stamp in (described["CreationTime"], described["LastModifiedTime"]):
        assert isinstance(stamp, datetime)
        assert abs(stamp - now) < timedelta(minutes=1)
    assert sagemaker.list_tags(ResourceArn=arn)["Tags"] == VALID_REQUEST["Tags"]


def test_private_workteam_needs_no_pii_declaration_or_lifetime_cap(sagemaker: "SageMakerClient") -> None:
    sagemaker.create_labeling_job(
        **request(
            {
                "HumanTaskConfig.WorkteamArn": PRIVATE_WORKTEAM,
                "HumanTaskConfig.TaskAvailabilityLifetimeInSeconds": 864000,
                "InputConfig.DataAttributes": DELETE,
            }
        )
    )


def test_describe_unknown_job_is_resource_not_found(sagemaker: "SageMakerClient") -> None:
    with pytest.raises(ClientError) as excinfo:
        sagemaker.describe_labeling_job(LabelingJobName="nope")
    assert error_of(excinfo)[0] == "ResourceNotFound"


def semantic_segmentation(label_attribute: str) -> dict[str, object]:
    return {
        "LabelAttributeName": label_attribute,
        "HumanTaskConfig.PreHumanTaskLambdaArn": f"{LAMBDA}:PRE-SemanticSegmentation",
        "HumanTaskConfig.AnnotationConsolidationConfig.AnnotationConsolidationLambdaArn": (
            f"{LAMBDA}:ACS-SemanticSegmentation"
        ),
        "LabelingJobAlgorithmsConfig": DELETE,
    }


PRICE = "HumanTaskConfig.PublicWorkforceTaskPrice"
SPEC = "LabelingJobAlgorithmsConfig.LabelingJobAlgorithmSpecificationArn"
INITIAL_MODEL = "LabelingJobAlgorithmsConfig.InitialActiveLearningModelArn"
WORKERS = "HumanTaskConfig.NumberOfHumanWorkersPerDataObject"
CONSOLIDATION = "HumanTaskConfig.AnnotationConsolidationConfig"
INVALID = [
    ({"LabelingJobName": "birds_1"}, "labelingJobName"),
    ({"LabelingJobName": "b" * 64}, "labelingJobName"),
    ({"LabelingJobName": "birds-"}, "labelingJobName"),
    ({"LabelAttributeName": "c" * 128}, "labelAttributeName"),
    ({"LabelAttributeName": "bird.box"}, "labelAttributeName"),
    ({"LabelAttributeName": "category-metadata"}, "LabelAttributeName"),
    ({"LabelAttributeName": "category-ref"}, "LabelAttributeName"),
    (semantic_segmentation("mask"), "LabelAttributeName"),
    ({"RoleArn": DELETE}, "roleArn"),
    ({"RoleArn": "arn:aws:iam::1234:role/GroundTruth"}, "roleArn"),
    ({"InputConfig.DataSource.S3DataSource": DELETE}, "inputConfig.dataSource.s3DataSource.manifestS3Uri"),
    (
        {"InputConfig.DataSource.S3DataSource.ManifestS3Uri": "https://in-bucket.s3.amazonaws.com/m"},
        "inputConfig.dataSource.s3DataSource.manifestS3Uri",
    ),
    ({"OutputConfig": DELETE}, "outputConfig.s3OutputPath"),
    ({"OutputConfig.S3OutputPath": "out-bucket/jobs"}, "outputConfig.s3OutputPath"),
    ({"LabelingJobAlgorithmsConfig": {}}, "labelingJobAlgorithmsConfig.labelingJobAlgorithmSpecificationArn"),
    (
        {SPEC: ALGORITHM.replace("0274", "1274")},
        SPEC,
    ),
    (
        {INITIAL_MODEL: f"arn:aws:sagemaker:{REGION}:1:model/m"},
        INITIAL_MODEL,
    ),
    ({"HumanTaskConfig": DELETE}, "humanTaskConfig"),
    ({"HumanTaskConfig.WorkteamArn": DELETE}, "humanTaskConfig.workteamArn"),
    ({"HumanTaskConfig.UiConfig": DELETE}, "humanTaskConfig.uiConfig"),
    ({"HumanTaskConfig.UiConfig": {}}, "humanTaskConfig.uiConfig"),
    ({"HumanTaskConfig.PreHumanTaskLambdaArn": DELETE}, "humanTaskConfig.preHumanTaskLambdaArn"),
    ({"HumanTaskConfig.TaskTitle": ""}, "humanTaskConfig.taskTitle"),
    ({"HumanTaskConfig.TaskTitle": "t" * 129}, "humanTaskConfig.taskTitle"),
    ({"HumanTaskConfig.TaskDescription": ""}, "humanTaskConfig.taskDescription"),
    ({"HumanTaskConfig.TaskDescription": "d" * 256}, "humanTaskConfig.taskDescription"),
    ({WORKERS: 0}, WORKERS),
    ({WORKERS: 10}, WORKERS),
    ({"HumanTaskConfig.TaskTimeLimitInSeconds": 29}, "humanTaskConfig.taskTimeLimitInSeconds"),
    ({"HumanTaskConfig.TaskKeywords": []}, "humanTaskConfig.taskKeywords"),
    ({"HumanTaskConfig.TaskKeywords": ["Birds"] * 6}, "humanTaskConfig.taskKeywords"),
    ({"HumanTaskConfig.MaxConcurrentTaskCount": 0}, "humanTaskConfig.maxConcurrentTaskCount"),
    ({"HumanTaskConfig.MaxConcurrentTaskCount": 5001}, "humanTaskConfig.maxConcurrentTaskCount"),
    ({CONSOLIDATION: DELETE}, CONSOLIDATION),
    (
        {"HumanTaskConfig.AnnotationConsolidationConfig": {}},
        "humanTaskConfig.annotationConsolidationConfig.annotationConsolidationLambdaArn",
    ),
    (
        {"HumanTaskConfig.TaskAvailabilityLifetimeInSeconds": 43201},
        "HumanTaskConfig.TaskAvailabilityLifetimeInSeconds",
    ),
    ({"InputConfig.DataAttributes": DELETE}, "InputConfig.DataAttributes.ContentClassifiers"),
    ({PRICE: {}}, f"{PRICE}.AmountInUsd"),
    ({f"{PRICE}.AmountInUsd.Dollars": 3}, f"{PRICE}.AmountInUsd.Dollars"),
    ({f"{PRICE}.AmountInUsd.Cents": 100}, f"{PRICE}.AmountInUsd.Cents"),
    ({f"{PRICE}.AmountInUsd.TenthFractionsOfACent": 10}, f"{PRICE}.AmountInUsd.TenthFractionsOfACent"),
]


@pytest.mark.parametrize(("changes", "field"), INVALID)
def test_invalid_request_is_rejected_naming_the_field(
    unchecked: "SageMakerClient", changes: dict[str, object], field: str
) -> None:
    with pytest.raises(ClientError) as excinfo:
        unchecked.create_labeling_job(**request(changes))

    code, message = error_of(excinfo)
    assert code == "ValidationException"
    assert f"{field.lower()}'" in message.lower() or f"{field.lower()} " in message.lower(), message
    assert not labeling_jobs(ACCOUNT, REGION)


def test_violations_are_reported_together(unchecked: "SageMakerClient") -> None:
    with pytest.raises(ClientError) as excinfo:
        unchecked.create_labeling_job(
            **request(LabelingJobName="bad_name", RoleArn="arn:aws:iam::1234:role/GroundTruth")
        )

    message = error_of(excinfo)[1]
    assert message.startswith("2 validation errors detected:")
    assert "'labelingJobName'" in message
    assert "'roleArn'" in message


def test_server_side_checks_apply_to_a_validating_client(sagemaker: "SageMakerClient") -> None:
    # botocore checks minimums but not maximums: this one reaches moto.
    with pytest.raises(ClientError) as excinfo:
        sagemaker.create_labeling_job(**request({"HumanTaskConfig.TaskTitle": "t" * 129}))
    assert error_of(excinfo)[0] == "ValidationException"


def test_names_are_never_reusable_even_in_another_case(sagemaker: "SageMakerClient") -> None:
    sagemaker.create_labeling_job(**VALID_REQUEST)
    sagemaker.stop_labeling_job(LabelingJobName="Birds-1")
    update_job(ACCOUNT, REGION, "Birds-1", status="Stopped")

    with pytest.raises(ClientError) as excinfo:
        sagemaker.create_labeling_job(**request(LabelingJobName="bIRDS-1"))

    assert error_of(excinfo)[0] == "ResourceInUse"
    assert list(labeling_jobs(ACCOUNT, REGION)) == ["birds-1"]


def test_stop_leaves_the_job_stopping_without_a_hook(sagemaker: "SageMakerClient") -> None:
    sagemaker.create_labeling_job(**VALID_REQUEST)
    created = sagemaker.describe_labeling_job(LabelingJobName="Birds-1")

    sagemaker.stop_labeling_job(LabelingJobName="Birds-1")

    stopped = sagemaker.describe_labeling_job(LabelingJobName="Birds-1")
    assert stopped["LabelingJobStatus"] == "Stopping"
    assert stopped["LastModifiedTime"] >= created["LastModifiedTime"]


def test_hooks_see_create_and_stop(sagemaker: "SageMakerClient") -> None:
    seen: list[tuple[str, str, str, str]] = []

    @on_create
    def created(account_id: str, region: str, job: LabelingJob) -> None:
        seen.append(("create", account_id, region, job.status))

    @on_stop
    def stopped(account_id: str, region: str, job: LabelingJob) -> None:
        seen.append(("stop", account_id, region, job.status))
        update_job(account_id, region, job.name, status="Stopped")

    sagemaker.create_labeling_job(**VALID_REQUEST)
    sagemaker.stop_labeling_job(LabelingJobName="Birds-1")
    sagemaker.stop_labeling_job(LabelingJobName="Birds-1")  # already ended: a no-op

    assert seen == [("create", ACCOUNT, REGION, "InProgress"), ("stop", ACCOUNT, REGION, "Stopping")]
    assert sagemaker.describe_labeling_job(LabelingJobName="Birds-1")["LabelingJobStatus"] == "Stopped"

    clear_hooks()
    sagemaker.create_labeling_job(**request(LabelingJobName="Birds-2"))
    assert len(seen) == 2


def test_stopping_an_ended_job_changes_nothing(sagemaker: "SageMakerClient") -> None:
    sagemaker.create_labeling_job(**VALID_REQUEST)
    update_job(ACCOUNT, REGION, "Birds-1", status="Completed")

    sagemaker.stop_labeling_job(LabelingJobName="Birds-1")

    assert sagemaker.describe_labeling_job(LabelingJobName="Birds-1")["LabelingJobStatus"] == "Completed"
    with pytest.raises(ClientError) as excinfo:
        sagemaker.stop_labeling_job(LabelingJobName="nope")
    assert error_of(excinfo)[0] == "ResourceNotFound"


def test_update_job_changes_what_describe_returns(sagemaker: "SageMakerClient") -> None:
    sagemaker.create_labeling_job(**VALID_REQUEST)
    before = labeling_jobs(ACCOUNT, REGION)["birds-1"].last_modified_time
    output = {
        "OutputDatasetS3Uri": "s3://out-bucket/jobs/Birds-1/manifests/output/output.manifest",
        "FinalActiveLearningModelArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model/birds-1-model",
    }

    job = update_job(
        ACCOUNT,
        REGION,
        "BIRDS-1",
        status="Completed",
        label_counters={"TotalLabeled": 10, "HumanLabeled": 4, "MachineLabeled": 6},
        output=output,
        failure_reason="none really",
    )

    described = sagemaker.describe_labeling_job(LabelingJobName="Birds-1")
    assert described["LabelingJobStatus"] == "Completed"
    assert described["LabelCounters"] == {
        "TotalLabeled": 10,
        "HumanLabeled": 4,
        "MachineLabeled": 6,
        "FailedNonRetryableError": 0,
        "Unlabeled": 0,
    }
    assert described["LabelingJobOutput"] == output
    assert described["FailureReason"] == "none really"
    assert job.last_modified_time >= before
    assert job.describe()["LabelingJobOutput"] == output
    with pytest.raises(KeyError):
        update_job(ACCOUNT, REGION, "nope", status="Completed")
    with pytest.raises(ValueError, match="status"):
        update_job(ACCOUNT, REGION, "Birds-1", status="Done")


def test_list_filters_sorts_and_paginates(sagemaker: "SageMakerClient") -> None:
    for name in ("alpha-1", "Beta-2", "gamma-3", "ALPHA-4"):
        sagemaker.create_labeling_job(**request(LabelingJobName=name))
    update_job(ACCOUNT, REGION, "gamma-3", status="Completed")

    def names(**params: Any) -> list[str]:
        return job_names(sagemaker.list_labeling_jobs(**params))

    assert names() == ["alpha-1", "Beta-2", "gamma-3", "ALPHA-4"]
    assert names(NameContains="alpha") == ["alpha-1", "ALPHA-4"]
    assert names(StatusEquals="Completed") == ["gamma-3"]
    assert names(SortBy="Status", SortOrder="Descending") == ["alpha-1", "Beta-2", "ALPHA-4", "gamma-3"]
    assert names(SortBy="CreationTime", SortOrder="Descending") == ["ALPHA-4", "gamma-3", "Beta-2", "alpha-1"]
    assert names(CreationTimeAfter=datetime.now(UTC) + timedelta(hours=1)) == []

    first = sagemaker.list_labeling_jobs(MaxResults=3, SortBy="Name")
    second = sagemaker.list_labeling_jobs(MaxResults=3, SortBy="Name", NextToken=first["NextToken"])
    assert job_names(first) == ["ALPHA-4", "Beta-2", "alpha-1"]
    assert job_names(second) == ["gamma-3"]
    assert "NextToken" not in second
    pages = sagemaker.get_paginator("list_labeling_jobs").paginate(PaginationConfig={"PageSize": 1})
    assert len([job for page in pages for job in page["LabelingJobSummaryList"]]) == 4

    summary = sagemaker.list_labeling_jobs(StatusEquals="Completed")["LabelingJobSummaryList"][0]
    assert summary["WorkteamArn"] == PUBLIC_WORKTEAM
    assert summary["LabelCounters"]["TotalLabeled"] == 0
    assert summary["InputConfig"] == VALID_REQUEST["InputConfig"]
    bad_requests: list[dict[str, Any]] = [{"SortBy": "Size"}, {"NextToken": "later"}]
    for bad in bad_requests:
        with pytest.raises(ClientError) as excinfo:
            sagemaker.list_labeling_jobs(**bad)
        assert error_of(excinfo)[0] == "ValidationException"


def test_list_for_workteam(sagemaker: "SageMakerClient") -> None:
    sagemaker.create_labeling_job(**VALID_REQUEST)
    sagemaker.create_labeling_job(
        **request({"HumanTaskConfig.WorkteamArn": PRIVATE_WORKTEAM}, LabelingJobName="Birds-2")
    )
    counters = {"TotalLabeled": 5, "HumanLabeled": 5, "Unlabeled": 2}
    update_job(ACCOUNT, REGION, "Birds-2", label_counters=counters)

    listed = sagemaker.list_labeling_jobs_for_workteam(WorkteamArn=PRIVATE_WORKTEAM)["LabelingJobSummaryList"]

    assert len(listed) == 1
    summary = listed[0]
    assert summary["LabelingJobName"] == "Birds-2"
    assert summary["JobReferenceCode"] == labeling_jobs(ACCOUNT, REGION)["birds-2"].job_reference_code
    assert summary["WorkRequesterAccountId"] == ACCOUNT
    assert isinstance(summary["CreationTime"], datetime)
    assert summary["LabelCounters"] == {"HumanLabeled": 5, "PendingHuman": 2, "Total": 7}
    assert summary["NumberOfHumanWorkersPerDataObject"] == 3
    code = summary["JobReferenceCode"][:8]
    by_code = sagemaker.list_labeling_jobs_for_workteam(
        WorkteamArn=PRIVATE_WORKTEAM,
        JobReferenceCodeContains=code,
    )
    assert job_names(by_code) == ["Birds-2"]


def test_tags_follow_add_and_delete(sagemaker: "SageMakerClient") -> None:
    arn = sagemaker.create_labeling_job(**VALID_REQUEST)["LabelingJobArn"]

    tags: list[TagTypeDef] = [{"Key": "stage", "Value": "test"}]
    sagemaker.add_tags(ResourceArn=arn, Tags=tags)
    sagemaker.delete_tags(ResourceArn=arn, TagKeys=["project"])

    assert sagemaker.list_tags(ResourceArn=arn)["Tags"] == tags
    assert sagemaker.describe_labeling_job(LabelingJobName="Birds-1")["Tags"] == tags


def test_install_is_idempotent(sagemaker: "SageMakerClient") -> None:
    lookup = SageMakerModelBackend._get_resource_from_arn
    create = SageMakerResponse.create_labeling_job  # type: ignore[attr-defined]

    install()

    assert SageMakerModelBackend._get_resource_from_arn is lookup
    assert SageMakerResponse.create_labeling_job is create  # type: ignore[attr-defined]
    arn = sagemaker.create_labeling_job(**VALID_REQUEST)["LabelingJobArn"]
    assert sagemaker.list_tags(ResourceArn=arn)["Tags"] == VALID_REQUEST["Tags"]


def test_server_mode_serves_labeling_jobs() -> None:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        client = SESSION.client(
            "sagemaker",
            endpoint_url=f"http://{host}:{port}",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        arn = client.create_labeling_job(**VALID_REQUEST)["LabelingJobArn"]
        described = client.describe_labeling_job(LabelingJobName="Birds-1")
        assert described["LabelingJobArn"] == arn
        assert described["HumanTaskConfig"] == VALID_REQUEST["HumanTaskConfig"]
        assert labeling_jobs(ACCOUNT, REGION)["birds-1"].arn == arn
    finally:
        server.stop()
        moto_api_backend.reset()  # the server shares this process's backends


@pytest.fixture
def eager_thread_switching() -> Iterator[None]:
    """Switch threads as often as possible, so that unserialised requests would really interleave."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(interval)


@pytest.mark.usefixtures("eager_thread_switching")
def test_serialized_requests_give_a_conditional_write_one_winner() -> None:
    threads_count = 16
    original = BotocoreStubber.process_request
    with mock_aws(), serialized_requests():
        dynamodb = SESSION.client("dynamodb")
        dynamodb.create_table(
            TableName="locks",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        clients = [SESSION.client("dynamodb") for _ in range(threads_count)]
        barrier = threading.Barrier(threads_count)
        outcomes: list[str] = []

        def claim(client: Any, worker: int) -> None:
            barrier.wait()
            try:
                client.put_item(
                    TableName="locks",
                    Item={"pk": {"S": "job"}, "owner": {"N": str(worker)}},
                    ConditionExpression="attribute_not_exists(pk)",
                )
                outcomes.append("won")
            except ClientError as error:
                outcomes.append(error.response["Error"]["Code"])

        workers = [threading.Thread(target=claim, args=(client, n)) for n, client in enumerate(clients)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()

    assert outcomes.count("won") == 1
    assert outcomes.count("ConditionalCheckFailedException") == threads_count - 1
    assert BotocoreStubber.process_request is original
