"""Labeling-job support for moto (local/moto_labeling.py), exercised through boto3."""

import copy
import sys
import threading
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import boto3
import botocore.session
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from botocore.model import Shape, StructureShape
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
    validation_errors,
)
from tests.fixtures.job_outputs import PRIVATE_WORKTEAM as FIXTURE_PRIVATE_WORKTEAM
from tests.fixtures.job_outputs import VENDOR_WORKTEAM, labeling_request

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
    ({"OutputConfig": DELETE}, "outputConfig"),
    ({"OutputConfig": {}}, "outputConfig.s3OutputPath"),
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


# ---- Constraints read from botocore's service model, not copied into the emulator

MODEL = botocore.session.get_session().get_service_model("sagemaker")
CREATE_INPUT = MODEL.operation_model("CreateLabelingJob").input_shape


def shape_at(member_path: str) -> Any:
    """The model's shape of a CreateLabelingJob member ("HumanTaskConfig.TaskKeywords.member")."""
    shape: Any = CREATE_INPUT
    for part in member_path.split("."):
        shape = shape.member if part == "member" else shape.members[part]
    return shape


def aws_path(member_path: str) -> str:
    return ".".join(part[:1].lower() + part[1:] for part in member_path.split("."))


def violation(path: str, value: object, constraint: str) -> str:
    shown = "null" if value is None else f"'{value}'"
    return f"Value {shown} at '{path}' failed to satisfy constraint: {constraint}"


def test_error_messages_read_as_aws_writes_them(unchecked: "SageMakerClient") -> None:
    name_pattern = shape_at("LabelingJobName").metadata["pattern"]
    cases = [
        (
            {"LabelingJobName": "birds_1"},
            violation("labelingJobName", "birds_1", f"Member must satisfy regular expression pattern: {name_pattern}"),
        ),
        ({"OutputConfig": DELETE}, violation("outputConfig", None, "Member must not be null")),
    ]
    for changes, expected in cases:
        with pytest.raises(ClientError) as excinfo:
            unchecked.create_labeling_job(**request(changes))
        assert error_of(excinfo) == ("ValidationException", f"1 validation error detected: {expected}")


KEYWORD = "HumanTaskConfig.TaskKeywords.member"
CLASSIFIER = "InputConfig.DataAttributes.ContentClassifiers.member"
VPC = "LabelingJobAlgorithmsConfig.LabelingJobResourceConfig.VpcConfig"
TAG = "Tags.member"
TOPIC = "OutputConfig.SnsTopicArn"
# Constraints the emulator never spelled out: each expected message is built from the model's own shape.
MODEL_ONLY = [
    pytest.param(
        {"HumanTaskConfig.TaskKeywords": ["Birds", "bird-watching"]},
        violation(
            "humanTaskConfig.taskKeywords.2.member",
            "bird-watching",
            f"Member must satisfy regular expression pattern: {shape_at(KEYWORD).metadata['pattern']}",
        ),
        id="keyword pattern",
    ),
    pytest.param(
        {"Tags": [{"Key": "team#1", "Value": "birds"}]},
        violation(
            "tags.1.member.key",
            "team#1",
            f"Member must satisfy regular expression pattern: {shape_at(f'{TAG}.Key').metadata['pattern']}",
        ),
        id="tag key pattern (a Java \\p{L} class)",
    ),
    pytest.param(
        {"LabelCategoryConfigS3Uri": "s3://in-bucket/" + "k" * 1010},
        violation(
            "labelCategoryConfigS3Uri",
            "s3://in-bucket/" + "k" * 1010,
            f"Member must have length less than or equal to {shape_at('LabelCategoryConfigS3Uri').metadata['max']}",
        ),
        id="label category URI max length",
    ),
    pytest.param(
        {"Tags": [{"Key": "project", "Value": "v" * 257}]},
        violation(
            "tags.1.member.value",
            "v" * 257,
            f"Member must have length less than or equal to {shape_at(f'{TAG}.Value').metadata['max']}",
        ),
        id="tag value max length",
    ),
    pytest.param(
        {"Tags": [{"Key": f"k{n}", "Value": "v"} for n in range(51)]},
        "at 'tags' failed to satisfy constraint: Member must have length less than or equal to "
        f"{shape_at('Tags').metadata['max']}",
        id="tag count",
    ),
    pytest.param(
        {"InputConfig.DataAttributes.ContentClassifiers": ["FreeOfViolence"]},
        violation(
            "inputConfig.dataAttributes.contentClassifiers.1.member",
            "FreeOfViolence",
            f"Member must satisfy enum value set: [{', '.join(shape_at(CLASSIFIER).enum)}]",
        ),
        id="content classifier enum",
    ),
    pytest.param(
        {"LabelingJobAlgorithmsConfig.LabelingJobResourceConfig": {"VpcConfig": {"SecurityGroupIds": ["sg-1"]}}},
        violation(f"{aws_path(VPC)}.subnets", None, "Member must not be null"),
        id="required member of a nested structure",
    ),
    pytest.param(
        {"Tags": [{"Key": "project"}]},
        violation("tags.1.member.value", None, "Member must not be null"),
        id="required member of a list's structure",
    ),
    pytest.param(
        {"OutputConfig.SnsTopicArn": "arn:aws:sns:us-east-1:1:topic"},
        violation(
            "outputConfig.snsTopicArn",
            "arn:aws:sns:us-east-1:1:topic",
            f"Member must satisfy regular expression pattern: {shape_at(TOPIC).metadata['pattern']}",
        ),
        id="output topic pattern",
    ),
]


@pytest.mark.parametrize(("changes", "expected"), MODEL_ONLY)
def test_constraints_come_from_the_service_model(
    unchecked: "SageMakerClient", changes: dict[str, object], expected: str
) -> None:
    with pytest.raises(ClientError) as excinfo:
        unchecked.create_labeling_job(**request(changes))

    code, message = error_of(excinfo)
    assert code == "ValidationException"
    assert message.startswith("1 validation error detected: ")
    assert expected in message
    assert not labeling_jobs(ACCOUNT, REGION)


def scalar_members(shape: StructureShape, value: Mapping[str, Any], path: str = "") -> Iterator[tuple[str, Shape, Any]]:
    """The string and integer members VALID_REQUEST sets, outside lists, with their model shapes."""
    for name, member in shape.members.items():
        if name not in value:
            continue
        member_path = f"{path}.{name}" if path else name
        if isinstance(member, StructureShape):
            yield from scalar_members(member, value[name], member_path)
        elif member.type_name in ("string", "integer"):
            yield member_path, member, value[name]


def beyond_the_limits() -> Iterator[Any]:
    """One request per limit the model sets on a member VALID_REQUEST has: just past the limit."""
    for path, shape, value in scalar_members(CREATE_INPUT, VALID_REQUEST):
        low, high = shape.metadata.get("min"), shape.metadata.get("max")
        if shape.type_name == "string" and high is not None:
            longer = value + "a" * (high + 1 - len(value))
            rule = f"Member must have length less than or equal to {high}"
            yield pytest.param(path, longer, rule, id=f"{path} longer than {high}")
        if shape.type_name == "integer" and low is not None:
            rule = f"Member must have value greater than or equal to {low}"
            yield pytest.param(path, low - 1, rule, id=f"{path} below {low}")
        if shape.type_name == "integer" and high is not None:
            rule = f"Member must have value less than or equal to {high}"
            yield pytest.param(path, high + 1, rule, id=f"{path} above {high}")


BEYOND_THE_LIMITS = list(beyond_the_limits())


def test_every_limit_of_the_valid_request_is_swept() -> None:
    swept = {param.values[0] for param in BEYOND_THE_LIMITS}
    assert {"LabelingJobName", "RoleArn", "HumanTaskConfig.TaskTitle", WORKERS, f"{PRICE}.AmountInUsd.Cents"} <= swept
    assert len(BEYOND_THE_LIMITS) >= 25


@pytest.mark.parametrize(("path", "value", "rule"), BEYOND_THE_LIMITS)
def test_each_model_limit_is_enforced(unchecked: "SageMakerClient", path: str, value: object, rule: str) -> None:
    with pytest.raises(ClientError) as excinfo:
        unchecked.create_labeling_job(**request({path: value}))

    code, message = error_of(excinfo)
    assert code == "ValidationException"
    assert violation(aws_path(path), value, rule) in message


def test_other_calls_are_checked_against_the_model(unchecked: "SageMakerClient") -> None:
    unchecked.create_labeling_job(**VALID_REQUEST)
    calls: list[tuple[Any, dict[str, Any], str]] = [
        (unchecked.list_labeling_jobs, {"SortOrder": "Up"}, "'sortOrder'"),
        (unchecked.list_labeling_jobs, {"StatusEquals": "Done"}, "'statusEquals'"),
        (unchecked.list_labeling_jobs, {"MaxResults": 101}, "'maxResults'"),
        (unchecked.list_labeling_jobs, {"NameContains": "birds_1"}, "'nameContains'"),
        (unchecked.list_labeling_jobs_for_workteam, {}, "Value null at 'workteamArn'"),
        (unchecked.list_labeling_jobs_for_workteam, {"WorkteamArn": "arn:aws:sagemaker:x"}, "'workteamArn'"),
        (
            unchecked.list_labeling_jobs_for_workteam,
            {"WorkteamArn": PUBLIC_WORKTEAM, "SortBy": "Name"},
            "Member must satisfy enum value set: [CreationTime]",
        ),
        (unchecked.describe_labeling_job, {"LabelingJobName": "birds_1"}, "'labelingJobName'"),
        (unchecked.stop_labeling_job, {"LabelingJobName": "b" * 64}, "'labelingJobName'"),
    ]
    for call, params, expected in calls:
        with pytest.raises(ClientError) as excinfo:
            call(**params)
        code, message = error_of(excinfo)
        assert code == "ValidationException", params
        assert expected in message, message
    assert unchecked.describe_labeling_job(LabelingJobName="Birds-1")["LabelingJobStatus"] == "InProgress"


def test_map_keys_and_values_are_reported_at_the_map() -> None:
    # No labeling-job call takes a map: CreateTrainingJob's Environment shows how the walk treats one.
    environment = MODEL.operation_model("CreateTrainingJob").input_shape.members["Environment"]
    errors = validation_errors("CreateTrainingJob", {"Environment": {"1ST": "x" * 513, "GOOD": "y"}})

    shown = "'{1ST=" + "x" * 513 + ", GOOD=y}'"
    key_rule = f"Member must satisfy regular expression pattern: {environment.key.metadata['pattern']}"
    value_rule = f"Member must have length less than or equal to {environment.value.metadata['max']}"
    assert (
        f"Value {shown} at 'environment' failed to satisfy constraint: Map keys must satisfy constraint: [{key_rule}]"
    ) in errors
    assert (
        f"Value {shown} at 'environment' failed to satisfy constraint: Map value must satisfy constraint: "
        f"[{value_rule}]"
    ) in errors


BUILDER_REQUESTS = [
    pytest.param({}, id="public workforce, priced, auto-labeling"),
    pytest.param({"workteam": FIXTURE_PRIVATE_WORKTEAM, "price": None, "auto_labeling": False}, id="private"),
    pytest.param(
        {
            "workteam": VENDOR_WORKTEAM,
            "price": None,
            "initial_model": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model/birds-r1-model",
            "tags": {"gtchain:chain-id": "birds", "gtchain:round": "2", "Größe": "groß 1"},
        },
        id="vendor, carried model, tags",
    ),
]


@pytest.mark.parametrize("options", BUILDER_REQUESTS)
def test_gtchain_builder_requests_pass(sagemaker: "SageMakerClient", options: dict[str, Any]) -> None:
    built = labeling_request("birds-r1-a1", "s3://fixture-output/jobs", **options)
    if not options:  # the default request carries every member the builder can set
        assert {"PublicWorkforceTaskPrice", "TaskAvailabilityLifetimeInSeconds"} <= set(built["HumanTaskConfig"])
        assert "LabelingJobAlgorithmsConfig" in built

    assert validation_errors("CreateLabelingJob", built) == []
    sagemaker.create_labeling_job(**built)

    described = sagemaker.describe_labeling_job(LabelingJobName="birds-r1-a1")
    for member, sent in built.items():
        assert described[member] == sent, member  # type: ignore[literal-required]


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
