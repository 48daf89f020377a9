"""SageMaker Ground Truth labeling jobs for moto 5.2.5, which implements none of them.

`install()` adds CreateLabelingJob, DescribeLabelingJob, ListLabelingJobs, StopLabelingJob and
ListLabelingJobsForWorkteam to moto's SageMaker response class. moto dispatches on method names looked
up at request time, so the patch serves both `mock_aws()` and `ThreadedMotoServer` (same process).
Jobs live on moto's per-account, per-region SageMaker backend, so moto's resets discard them too.

moto only stores jobs; an emulator moves them along with `update_job` from `on_create`/`on_stop` hooks.
Validation follows the SageMaker API reference (the botocore service model):
https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateLabelingJob.html and
https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_DescribeLabelingJob.html.
"""

import copy
import operator
import re
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from moto.core.botocore_stubber import BotocoreStubber
from moto.core.responses import ActionResult, EmptyResult
from moto.core.utils import utcnow
from moto.moto_api._internal import mock_random
from moto.sagemaker.exceptions import ResourceInUseException, ResourceNotFound, ValidationError
from moto.sagemaker.models import SageMakerModelBackend, sagemaker_backends
from moto.sagemaker.responses import SageMakerResponse
from moto.utilities.utils import get_partition

STATUSES = ("Initializing", "InProgress", "Completed", "Failed", "Stopping", "Stopped")
COUNTERS = ("TotalLabeled", "HumanLabeled", "MachineLabeled", "FailedNonRetryableError", "Unlabeled")

_NAME = r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}"
_LABEL_ATTRIBUTE = r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,126}"
_ROLE_ARN = r"arn:aws[a-z\-]*:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+"
_S3_URI = r"s3://([^/]+)/?(.*)"
_WORKTEAM_ARN = r"arn:aws[a-z\-]*:sagemaker:[a-z0-9\-]*:[0-9]{12}:workteam/.*"
_PUBLIC_WORKTEAM_ARN = r"arn:aws[a-z\-]*:sagemaker:[a-z0-9\-]*:394669845002:workteam/public-crowd/default"
_LAMBDA_ARN = r"arn:aws[a-z\-]*:lambda:[a-z0-9\-]*:[0-9]{12}:function:.*"
_MODEL_ARN = r"arn:aws[a-z\-]*:sagemaker:[a-z0-9\-]*:\d{12}:model/.*"
_ALGORITHM_ARN = (
    r"arn:aws[a-z\-]*:sagemaker:[a-z0-9\-]*:027400017018:labeling-job-algorithm-specification/"
    r"(object-detection|image-classification|text-classification|semantic-segmentation)"
)
_PUBLIC_MAX_LIFETIME = 43_200

# Task types (the PRE Lambda's name without "PRE-") whose LabelAttributeName must, or must not, end in
# "-ref", per the API reference's LabelAttributeName notes:
# https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateLabelingJob.html
_REF_TASKS = frozenset(
    {
        "SemanticSegmentation",
        "AdjustmentSemanticSegmentation",
        "VideoObjectDetection",
        "AdjustmentVideoObjectDetection",
        "VideoObjectTracking",
        "AdjustmentVideoObjectTracking",
        "3DPointCloudSemanticSegmentation",
        "Adjustment3DPointCloudSemanticSegmentation",
        "3DPointCloudObjectTracking",
        "Adjustment3DPointCloudObjectTracking",
    }
)
_NO_REF_TASKS = frozenset(
    {"BoundingBox", "AdjustmentBoundingBox", "VerificationBoundingBox", "VerificationSemanticSegmentation"}
)

# Request members DescribeLabelingJob echoes back (Tags come from the job, as AddTags can change them).
_ECHOED = (
    "LabelingJobName",
    "LabelAttributeName",
    "InputConfig",
    "OutputConfig",
    "RoleArn",
    "LabelCategoryConfigS3Uri",
    "StoppingConditions",
    "LabelingJobAlgorithmsConfig",
    "HumanTaskConfig",
)


def _zero_counters() -> dict[str, int]:
    return dict.fromkeys(COUNTERS, 0)


@dataclass
class LabelingJob:
    """One labeling job: the CreateLabelingJob request as sent plus the state the service reports."""

    request: dict[str, Any]
    arn: str
    creation_time: datetime
    last_modified_time: datetime
    status: str = "InProgress"
    label_counters: dict[str, int] = field(default_factory=_zero_counters)
    output: dict[str, str] | None = None
    failure_reason: str | None = None
    tags: list[dict[str, str]] = field(default_factory=list)
    job_reference_code: str = field(default_factory=lambda: str(mock_random.uuid4()))

    @property
    def name(self) -> str:
        name: str = self.request["LabelingJobName"]
        return name

    @property
    def account_id(self) -> str:
        return self.arn.split(":")[4]

    @property
    def human_task_config(self) -> dict[str, Any]:
        config: dict[str, Any] = self.request["HumanTaskConfig"]
        return config

    def describe(self) -> dict[str, Any]:
        """The DescribeLabelingJob response (timestamps as naive UTC datetimes, as moto keeps them)."""
        echoed = [key for key in _ECHOED if key in self.request]
        response: dict[str, Any] = {key: copy.deepcopy(self.request[key]) for key in echoed}
        response.update(
            Tags=copy.deepcopy(self.tags),
            LabelingJobStatus=self.status,
            LabelCounters=dict(self.label_counters),
            CreationTime=self.creation_time,
            LastModifiedTime=self.last_modified_time,
            JobReferenceCode=self.job_reference_code,
            LabelingJobArn=self.arn,
        )
        if self.failure_reason is not None:
            response["FailureReason"] = self.failure_reason
        if self.output is not None:
            response["LabelingJobOutput"] = dict(self.output)
        return response


Hook = Callable[[str, str, LabelingJob], None]

_create_hooks: list[Hook] = []
_stop_hooks: list[Hook] = []
# Server mode handles requests on several threads: guards name uniqueness and job updates.
_store_lock = threading.RLock()
_STORE_ATTRIBUTE = "gtchain_labeling_jobs"
_PATCH_MARK = "_gtchain_labeling_jobs"


def on_create(callback: Hook) -> Hook:
    """Run `callback(account_id, region, job)` after each CreateLabelingJob (usable as a decorator)."""
    _create_hooks.append(callback)
    return callback


def on_stop(callback: Hook) -> Hook:
    """Run `callback(account_id, region, job)` when StopLabelingJob moves a job to Stopping."""
    _stop_hooks.append(callback)
    return callback


def clear_hooks() -> None:
    _create_hooks.clear()
    _stop_hooks.clear()


def labeling_jobs(account_id: str, region: str) -> dict[str, LabelingJob]:
    """The jobs of one account and region, keyed by lower-cased name (usable outside a request)."""
    backend = sagemaker_backends[account_id][region]
    with _store_lock:
        jobs: dict[str, LabelingJob] = vars(backend).setdefault(_STORE_ATTRIBUTE, {})
    return jobs


def update_job(
    account_id: str,
    region: str,
    name: str,
    *,
    status: str | None = None,
    label_counters: Mapping[str, int] | None = None,
    output: Mapping[str, str] | None = None,
    failure_reason: str | None = None,
) -> LabelingJob:
    """Move a job along as the service would; `label_counters` updates only the counters given."""
    if status is not None and status not in STATUSES:
        raise ValueError(f"unknown labeling job status {status!r}")
    if label_counters is not None and not set(label_counters) <= set(COUNTERS):
        raise ValueError(f"unknown label counters {sorted(set(label_counters) - set(COUNTERS))}")
    if output is not None and "OutputDatasetS3Uri" not in output:
        raise ValueError("a labeling job output needs OutputDatasetS3Uri")
    with _store_lock:
        job = labeling_jobs(account_id, region).get(name.lower())
        if job is None:
            raise KeyError(f"no labeling job {name!r} in account {account_id}, region {region}")
        if status is not None:
            job.status = status
        if label_counters is not None:
            job.label_counters.update(label_counters)
        if output is not None:
            job.output = dict(output)
        if failure_reason is not None:
            job.failure_reason = failure_reason
        job.last_modified_time = utcnow()
    return job


@contextmanager
def serialized_requests() -> Iterator[None]:
    """Handle moto's in-process requests one at a time, so conditional writes race as on AWS.

    moto's backends are not thread-safe: two threads can both pass the same DynamoDB condition.
    Every mocked request (boto3 and `requests`) goes through BotocoreStubber.process_request.
    """
    original = BotocoreStubber.process_request
    # Re-entrant: a hook running inside a request may itself call a mocked AWS API on that thread.
    lock = threading.RLock()

    def process_request(self: BotocoreStubber, request: Any) -> Any:
        with lock:
            return original(self, request)

    setattr(BotocoreStubber, "process_request", process_request)  # noqa: B010 (mypy: method assignment)
    try:
        yield
    finally:
        setattr(BotocoreStubber, "process_request", original)  # noqa: B010


def install() -> None:
    """Add the labeling-job calls to moto; idempotent."""
    for method_name, method in _RESPONSE_METHODS.items():
        setattr(SageMakerResponse, method_name, method)
    lookup = SageMakerModelBackend._get_resource_from_arn
    if not getattr(lookup, _PATCH_MARK, False):
        patched = _resolving_labeling_jobs(lookup)
        setattr(SageMakerModelBackend, "_get_resource_from_arn", patched)  # noqa: B010


class _Checker:
    """Collects constraint violations of one request so a single ValidationException lists them all, as
    AWS does. Paths are given as API member paths ("HumanTaskConfig.TaskTitle") and reported the AWS way
    ("humanTaskConfig.taskTitle")."""

    def __init__(self, request: Mapping[str, Any]) -> None:
        self.request = request
        self.messages: list[str] = []

    def get(self, path: str) -> Any:
        value: Any = self.request
        for key in path.split("."):
            if not isinstance(value, Mapping):
                return None
            value = value.get(key)
        return value

    def fail(self, path: str, value: Any, rule: str) -> None:
        shown = "null" if value is None else f"'{value}'"
        aws_path = ".".join(part[:1].lower() + part[1:] for part in path.split("."))
        message = f"Value {shown} at '{aws_path}' failed to satisfy constraint: Member must {rule}"
        self.messages.append(message)

    def present(self, path: str, *, required: bool) -> bool:
        value = self.get(path)
        if value is None:
            if required:
                self.fail(path, None, "not be null")
            return False
        if not isinstance(value, Mapping):
            self.fail(path, value, "be a structure")
            return False
        return True

    def string(
        self,
        path: str,
        *,
        required: bool = False,
        min_len: int = 0,
        max_len: int | None = None,
        pattern: str = "",
    ) -> None:
        value = self.get(path)
        if value is None:
            if required:
                self.fail(path, None, "not be null")
            return
        if not isinstance(value, str):
            self.fail(path, value, "be a string")
            return
        if len(value) < min_len:
            self.fail(path, value, f"have length greater than or equal to {min_len}")
        if max_len is not None and len(value) > max_len:
            self.fail(path, value, f"have length less than or equal to {max_len}")
        if pattern and not re.fullmatch(pattern, value):
            self.fail(path, value, f"satisfy regular expression pattern: {pattern}")

    def integer(
        self, path: str, *, required: bool = False, minimum: int | None = None, maximum: int | None = None
    ) -> None:
        value = self.get(path)
        if value is None:
            if required:
                self.fail(path, None, "not be null")
            return
        if not isinstance(value, int) or isinstance(value, bool):
            self.fail(path, value, "be an integer")
            return
        if minimum is not None and value < minimum:
            self.fail(path, value, f"have value greater than or equal to {minimum}")
        if maximum is not None and value > maximum:
            self.fail(path, value, f"have value less than or equal to {maximum}")

    def items(self, path: str, *, min_len: int, max_len: int) -> None:
        value = self.get(path)
        if value is None:
            return
        if not isinstance(value, list):
            self.fail(path, value, "be a list")
        elif len(value) < min_len:
            self.fail(path, value, f"have length greater than or equal to {min_len}")
        elif len(value) > max_len:
            self.fail(path, value, f"have length less than or equal to {max_len}")

    def enum(self, path: str, allowed: tuple[str, ...]) -> None:
        value = self.get(path)
        if value is not None and value not in allowed:
            self.fail(path, value, f"satisfy enum value set: [{', '.join(allowed)}]")

    def raise_if_any(self) -> None:
        count = len(self.messages)
        if count:
            plural = "s" if count > 1 else ""
            raise ValidationError(f"{count} validation error{plural} detected: {'; '.join(self.messages)}")


def _validate_create(request: Mapping[str, Any]) -> None:
    check = _Checker(request)
    check.string("LabelingJobName", required=True, min_len=1, max_len=63, pattern=_NAME)
    check.string("LabelAttributeName", required=True, min_len=1, max_len=127, pattern=_LABEL_ATTRIBUTE)
    check.string("RoleArn", required=True, min_len=20, max_len=2048, pattern=_ROLE_ARN)
    # Streaming jobs (SnsDataSource) are not emulated: the manifest is required.
    check.string("InputConfig.DataSource.S3DataSource.ManifestS3Uri", required=True, pattern=_S3_URI)
    check.string("OutputConfig.S3OutputPath", required=True, pattern=_S3_URI)
    if check.present("LabelingJobAlgorithmsConfig", required=False):
        check.string(
            "LabelingJobAlgorithmsConfig.LabelingJobAlgorithmSpecificationArn",
            required=True,
            pattern=_ALGORITHM_ARN,
        )
        check.string("LabelingJobAlgorithmsConfig.InitialActiveLearningModelArn", pattern=_MODEL_ARN)
    if check.present("HumanTaskConfig", required=True):
        _check_human_task_config(check)
    check.raise_if_any()
    _check_semantics(request)


def _check_human_task_config(check: _Checker) -> None:
    # The current service model marks the two Lambdas optional (generative-AI task types); every
    # built-in task type this emulates needs both, and the task type is read from the PRE Lambda.
    check.string("HumanTaskConfig.WorkteamArn", required=True, pattern=_WORKTEAM_ARN)
    ui = "HumanTaskConfig.UiConfig"
    has_ui = check.get(f"{ui}.UiTemplateS3Uri") or check.get(f"{ui}.HumanTaskUiArn")
    if check.present(ui, required=True) and not has_ui:
        check.fail(ui, {}, "contain UiTemplateS3Uri or HumanTaskUiArn")
    check.string("HumanTaskConfig.PreHumanTaskLambdaArn", required=True, pattern=_LAMBDA_ARN)
    check.string("HumanTaskConfig.TaskTitle", required=True, min_len=1, max_len=128)
    check.string("HumanTaskConfig.TaskDescription", required=True, min_len=1, max_len=255)
    check.items("HumanTaskConfig.TaskKeywords", min_len=1, max_len=5)
    check.integer("HumanTaskConfig.NumberOfHumanWorkersPerDataObject", required=True, minimum=1, maximum=9)
    check.integer("HumanTaskConfig.TaskTimeLimitInSeconds", required=True, minimum=30)
    check.integer("HumanTaskConfig.TaskAvailabilityLifetimeInSeconds", minimum=60)
    check.integer("HumanTaskConfig.MaxConcurrentTaskCount", minimum=1, maximum=5000)
    if check.present("HumanTaskConfig.AnnotationConsolidationConfig", required=True):
        check.string(
            "HumanTaskConfig.AnnotationConsolidationConfig.AnnotationConsolidationLambdaArn",
            required=True,
            pattern=_LAMBDA_ARN,
        )
    if check.present("HumanTaskConfig.PublicWorkforceTaskPrice", required=False) and check.present(
        "HumanTaskConfig.PublicWorkforceTaskPrice.AmountInUsd", required=True
    ):
        amount = "HumanTaskConfig.PublicWorkforceTaskPrice.AmountInUsd"
        check.integer(f"{amount}.Dollars", minimum=0, maximum=2)
        check.integer(f"{amount}.Cents", minimum=0, maximum=99)
        check.integer(f"{amount}.TenthFractionsOfACent", minimum=0, maximum=9)


def _check_semantics(request: Mapping[str, Any]) -> None:
    """Rules across fields; they run once every field is well formed."""
    label_attribute: str = request["LabelAttributeName"]
    human_task: Mapping[str, Any] = request["HumanTaskConfig"]
    quoted = f"LabelAttributeName '{label_attribute}'"
    if label_attribute.endswith("-metadata"):
        raise ValidationError(f"{quoted} must not end with '-metadata'.")
    function_name = human_task["PreHumanTaskLambdaArn"].partition(":function:")[2].split(":")[0]
    task_type = function_name.removeprefix("PRE-")
    if task_type in _REF_TASKS and not label_attribute.endswith("-ref"):
        raise ValidationError(f"{quoted} must end with '-ref' for {task_type} jobs.")
    if task_type in _NO_REF_TASKS and label_attribute.endswith("-ref"):
        raise ValidationError(f"{quoted} must not end with '-ref' for {task_type} jobs.")
    if not re.fullmatch(_PUBLIC_WORKTEAM_ARN, human_task["WorkteamArn"]):
        return
    lifetime = human_task.get("TaskAvailabilityLifetimeInSeconds")
    if lifetime is not None and lifetime > _PUBLIC_MAX_LIFETIME:
        raise ValidationError(
            f"HumanTaskConfig.TaskAvailabilityLifetimeInSeconds {lifetime} exceeds {_PUBLIC_MAX_LIFETIME} "
            "seconds, the maximum for the public workforce."
        )
    classifiers = request["InputConfig"].get("DataAttributes", {}).get("ContentClassifiers", [])
    if "FreeOfPersonallyIdentifiableInformation" not in classifiers:
        raise ValidationError(
            "InputConfig.DataAttributes.ContentClassifiers must include "
            "FreeOfPersonallyIdentifiableInformation for a job sent to the public workforce."
        )


def _get_job(account_id: str, region: str, name: str) -> LabelingJob:
    job = labeling_jobs(account_id, region).get(name.lower())
    if job is None:
        raise ResourceNotFound(f"Could not find labeling job '{name}'.")
    return job


def _create_labeling_job(self: SageMakerResponse) -> ActionResult:
    request: dict[str, Any] = copy.deepcopy(dict(self.params))
    _validate_create(request)
    account_id, region = self.current_account, self.region
    name: str = request["LabelingJobName"]
    now = utcnow()
    job = LabelingJob(
        request=request,
        arn=f"arn:{get_partition(region)}:sagemaker:{region}:{account_id}:labeling-job/{name.lower()}",
        creation_time=now,
        last_modified_time=now,
        tags=copy.deepcopy(request.get("Tags", [])),
    )
    with _store_lock:
        jobs = labeling_jobs(account_id, region)
        # Names are unique case-insensitively and never reusable: there is no DeleteLabelingJob.
        if name.lower() in jobs:
            raise ResourceInUseException(
                f"Labeling job names must be unique within an AWS account and region, and names are case "
                f"insensitive. Job name: {name} is already in use."
            )
        jobs[name.lower()] = job
    for hook in list(_create_hooks):
        hook(account_id, region, job)
    return ActionResult({"LabelingJobArn": job.arn})


def _describe_labeling_job(self: SageMakerResponse) -> ActionResult:
    job = _get_job(self.current_account, self.region, self._get_param("LabelingJobName"))
    return ActionResult(job.describe())


def _stop_labeling_job(self: SageMakerResponse) -> ActionResult:
    account_id, region = self.current_account, self.region
    with _store_lock:
        job = _get_job(account_id, region, self._get_param("LabelingJobName"))
        # The API reference documents no error for stopping a job that is already stopping or has ended
        # (not verified against the service): that is a no-op here, and the hooks do not run again.
        if job.status not in ("Initializing", "InProgress"):
            return EmptyResult()
        job.status = "Stopping"
        job.last_modified_time = utcnow()
    for hook in list(_stop_hooks):
        hook(account_id, region, job)
    return EmptyResult()


_CREATION_BOUNDS = (
    ("CreationTimeAfter", "creation_time", operator.gt),
    ("CreationTimeBefore", "creation_time", operator.lt),
)
_MODIFIED_BOUNDS = (
    ("LastModifiedTimeAfter", "last_modified_time", operator.gt),
    ("LastModifiedTimeBefore", "last_modified_time", operator.lt),
)
_SORT_KEYS: dict[str, Callable[[LabelingJob], Any]] = {
    "CreationTime": operator.attrgetter("creation_time"),
    "Name": operator.attrgetter("name"),
    "Status": operator.attrgetter("status"),
}


def _select(
    self: SageMakerResponse, jobs: list[LabelingJob], bounds: tuple[tuple[str, str, Any], ...]
) -> tuple[list[LabelingJob], str | None]:
    """Time-window, sort and paginate; the caller has validated the parameters."""
    for param, attribute, compare in bounds:
        limit = self._get_param(param)
        if limit is not None:
            jobs = [job for job in jobs if compare(getattr(job, attribute), limit)]
    # A stable sort over creation order keeps ties in creation order.
    jobs = sorted(
        jobs,
        key=_SORT_KEYS[self._get_param("SortBy", "CreationTime")],
        reverse=self._get_param("SortOrder", "Ascending") == "Descending",
    )
    token: str | None = self._get_param("NextToken")
    start = 0
    if token:
        if not token.isdigit() or int(token) > len(jobs):
            raise ValidationError(f"Invalid pagination token: {token}")
        start = int(token)
    # The API reference gives no default page size: without MaxResults the rest comes in one page.
    max_results: int | None = self._get_param("MaxResults")
    end = len(jobs) if max_results is None else start + max_results
    return jobs[start:end], (str(end) if end < len(jobs) else None)


def _summary(job: LabelingJob) -> dict[str, Any]:
    summary: dict[str, Any] = {
        "LabelingJobName": job.name,
        "LabelingJobArn": job.arn,
        "CreationTime": job.creation_time,
        "LastModifiedTime": job.last_modified_time,
        "LabelingJobStatus": job.status,
        "LabelCounters": dict(job.label_counters),
        "WorkteamArn": job.human_task_config["WorkteamArn"],
        "PreHumanTaskLambdaArn": job.human_task_config["PreHumanTaskLambdaArn"],
        "AnnotationConsolidationLambdaArn": job.human_task_config["AnnotationConsolidationConfig"][
            "AnnotationConsolidationLambdaArn"
        ],
        "InputConfig": copy.deepcopy(job.request["InputConfig"]),
    }
    if job.failure_reason is not None:
        summary["FailureReason"] = job.failure_reason
    if job.output is not None:
        summary["LabelingJobOutput"] = dict(job.output)
    return summary


def _workteam_summary(job: LabelingJob) -> dict[str, Any]:
    counters = job.label_counters
    return {
        "LabelingJobName": job.name,
        "JobReferenceCode": job.job_reference_code,
        "WorkRequesterAccountId": job.account_id,
        "CreationTime": job.creation_time,
        # The workteam view counts tasks; mapped from the job's counters (an approximation).
        "LabelCounters": {
            "HumanLabeled": counters["HumanLabeled"],
            "PendingHuman": counters["Unlabeled"],
            "Total": counters["TotalLabeled"] + counters["FailedNonRetryableError"] + counters["Unlabeled"],
        },
        "NumberOfHumanWorkersPerDataObject": job.human_task_config["NumberOfHumanWorkersPerDataObject"],
    }


def _list_labeling_jobs(self: SageMakerResponse) -> ActionResult:
    check = _Checker(self.params)
    check.integer("MaxResults", minimum=1, maximum=100)
    check.enum("SortBy", tuple(_SORT_KEYS))
    check.enum("SortOrder", ("Ascending", "Descending"))
    check.enum("StatusEquals", STATUSES)
    check.raise_if_any()
    jobs = list(labeling_jobs(self.current_account, self.region).values())
    # Case-insensitive like the names' uniqueness (not verified against the service).
    name_contains: str | None = self._get_param("NameContains")
    if name_contains:
        jobs = [job for job in jobs if name_contains.lower() in job.name.lower()]
    status: str | None = self._get_param("StatusEquals")
    if status:
        jobs = [job for job in jobs if job.status == status]
    page, token = _select(self, jobs, _CREATION_BOUNDS + _MODIFIED_BOUNDS)
    summaries = [_summary(job) for job in page]
    return ActionResult({"LabelingJobSummaryList": summaries, "NextToken": token})


def _list_labeling_jobs_for_workteam(self: SageMakerResponse) -> ActionResult:
    check = _Checker(self.params)
    check.string("WorkteamArn", required=True, pattern=_WORKTEAM_ARN)
    check.integer("MaxResults", minimum=1, maximum=100)
    check.enum("SortBy", ("CreationTime",))
    check.enum("SortOrder", ("Ascending", "Descending"))
    check.raise_if_any()
    workteam_arn = self._get_param("WorkteamArn")
    jobs = [
        job
        for job in labeling_jobs(self.current_account, self.region).values()
        if job.human_task_config["WorkteamArn"] == workteam_arn
    ]
    code_contains: str | None = self._get_param("JobReferenceCodeContains")
    if code_contains:
        jobs = [job for job in jobs if code_contains in job.job_reference_code]
    page, token = _select(self, jobs, _CREATION_BOUNDS)
    summaries = [_workteam_summary(job) for job in page]
    return ActionResult({"LabelingJobSummaryList": summaries, "NextToken": token})


_RESPONSE_METHODS: dict[str, Callable[[SageMakerResponse], ActionResult]] = {
    "create_labeling_job": _create_labeling_job,
    "describe_labeling_job": _describe_labeling_job,
    "list_labeling_jobs": _list_labeling_jobs,
    "stop_labeling_job": _stop_labeling_job,
    "list_labeling_jobs_for_workteam": _list_labeling_jobs_for_workteam,
}


def _resolving_labeling_jobs(original: Callable[[SageMakerModelBackend, str], Any]) -> Callable[..., Any]:
    """Teach the backend's ARN lookup (used by ListTags, AddTags, DeleteTags) labeling-job ARNs; moto's
    own lookup fails with an AttributeError on an unknown resource type."""

    def _get_resource_from_arn(backend: SageMakerModelBackend, arn: str) -> Any:
        resource_type, _, name = arn.split(":")[-1].partition("/")
        if resource_type != "labeling-job":
            return original(backend, arn)
        job = labeling_jobs(backend.account_id, backend.region_name).get(name.lower())
        if job is None:
            raise ValidationError(f"Could not find labeling-job with name {name}")
        return job

    setattr(_get_resource_from_arn, _PATCH_MARK, True)
    return _get_resource_from_arn
