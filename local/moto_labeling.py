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
import functools
import operator
import re
import sys
import threading
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import botocore.session
from botocore.model import ListShape, MapShape, ServiceModel, Shape, StringShape, StructureShape
from moto.core.botocore_stubber import BotocoreStubber
from moto.core.responses import ActionResult, EmptyResult
from moto.core.utils import utcnow
from moto.moto_api._internal import mock_random
from moto.sagemaker.exceptions import ResourceInUseException, ResourceNotFound, ValidationError
from moto.sagemaker.models import SageMakerModelBackend, sagemaker_backends
from moto.sagemaker.responses import SageMakerResponse
from moto.utilities.utils import get_partition


@functools.cache
def _service_model() -> ServiceModel:
    """SageMaker's botocore service model: the API reference's member constraints, machine-readable."""
    return botocore.session.get_session().get_service_model("sagemaker")


def _input_shape(operation: str) -> StructureShape:
    shape = _service_model().operation_model(operation).input_shape
    if shape is None:
        raise ValueError(f"SageMaker {operation} takes no input")
    return shape


def _model_enum(shape_name: str) -> tuple[str, ...]:
    shape = _service_model().shape_for(shape_name)
    return tuple(shape.enum) if isinstance(shape, StringShape) else ()


def _model_members(shape_name: str) -> tuple[str, ...]:
    shape = _service_model().shape_for(shape_name)
    return tuple(shape.members) if isinstance(shape, StructureShape) else ()


STATUSES = _model_enum("LabelingJobStatus")
COUNTERS = _model_members("LabelCounters")

# Constraints the model cannot express, with their reasons next to where they are checked.
_S3_URI = r"s3://([^/]+)/?(.*)"
_PUBLIC_WORKTEAM_ARN = r"arn:aws[a-z\-]*:sagemaker:[a-z0-9\-]*:394669845002:workteam/public-crowd/default"
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

# Request members DescribeLabelingJob echoes back: those its response shares with the request, but Tags,
# which come from the job, as AddTags can change them.
_DESCRIBED = _service_model().operation_model("DescribeLabelingJob").output_shape
_ECHOED = tuple(
    member
    for member in _input_shape("CreateLabelingJob").members
    if _DESCRIBED is not None and member in _DESCRIBED.members and member != "Tags"
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


# ---- Request validation driven by botocore's SageMaker service model: required members, string lengths
# and patterns, enums, number ranges and list and map sizes, reported the way AWS reports them.


@dataclass(frozen=True)
class _Violation:
    path: str  # as AWS reports it: "humanTaskConfig.taskKeywords.1.member"
    value: Any
    constraint: str

    def __str__(self) -> str:
        return f"Value {_shown(self.value)} at '{self.path}' failed to satisfy constraint: {self.constraint}"


class _Violations:
    """A request's constraint violations, so one ValidationException lists them all, as AWS does."""

    def __init__(self) -> None:
        self.found: list[_Violation] = []

    def add(self, path: str, value: Any, constraint: str) -> None:
        self.found.append(_Violation(path, value, constraint))

    def at(self, path: str) -> bool:
        return any(violation.path == path for violation in self.found)

    def raise_if_any(self) -> None:
        count = len(self.found)
        if count:
            plural = "s" if count > 1 else ""
            details = "; ".join(map(str, self.found))
            raise ValidationError(f"{count} validation error{plural} detected: {details}")


def _java_text(value: Any) -> str:
    """A value as the Java service prints it in its messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{_java_text(key)}={_java_text(item)}" for key, item in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(map(_java_text, value)) + "]"
    return str(value)


def _shown(value: Any) -> str:
    return "null" if value is None else f"'{_java_text(value)}'"


def _aws_path(member_path: str) -> str:
    """An API member path ("HumanTaskConfig.TaskTitle") the way AWS reports it ("humanTaskConfig.taskTitle")."""
    return ".".join(part[:1].lower() + part[1:] for part in member_path.split("."))


def _bound(limit: float) -> int | float:
    return int(limit) if float(limit).is_integer() else limit


# The JSON types each model type takes (bool is an int in Python, so it is excluded from the numbers).
_JSON_TYPES: dict[str, tuple[tuple[type, ...], str]] = {
    "string": ((str,), "a string"),
    "integer": ((int,), "an integer"),
    "long": ((int,), "an integer"),
    "float": ((int, float), "a number"),
    "double": ((int, float), "a number"),
    "boolean": ((bool,), "a boolean"),
    "structure": ((Mapping,), "a structure"),
    "list": ((list,), "a list"),
    "map": ((Mapping,), "a map"),
}
_SCALARS = frozenset({"string", "integer", "long", "float", "double", "boolean", "timestamp", "blob"})


def _mistyped(kind: str, value: object) -> str:
    """What `value` should have been, if it is not the JSON type of a `kind` member; else ""."""
    json_types, described = _JSON_TYPES.get(kind, ((object,), ""))
    if isinstance(value, json_types) and not (isinstance(value, bool) and kind != "boolean"):
        return ""
    return described


def _walk(shape: Shape, value: Any, path: str, out: _Violations) -> None:
    """Check a present (non-null) value against its shape and everything nested in it."""
    kind = shape.type_name
    mistyped = _mistyped(kind, value)
    if mistyped:
        # AWS rejects a mistyped member while deserializing, before validation; botocore's own checks
        # catch these client-side. They are reported with the constraint violations here.
        out.add(path, value, f"Member must be {mistyped}")
        return
    if isinstance(shape, StructureShape):
        for name, member in shape.members.items():
            member_value = value.get(name)
            member_path = f"{path}.{_aws_path(name)}" if path else _aws_path(name)
            if member_value is not None:
                _walk(member, member_value, member_path, out)
            elif name in shape.required_members:
                out.add(member_path, None, "Member must not be null")
    elif isinstance(shape, ListShape):
        _check_range(shape, len(value), value, path, "length", out)
        for index, item in enumerate(value, start=1):
            item_path = f"{path}.{index}.member"
            if item is None:
                out.add(item_path, None, "Member must not be null")
            else:
                _walk(shape.member, item, item_path, out)
    elif isinstance(shape, MapShape):
        _walk_map(shape, value, path, out)
    elif isinstance(shape, StringShape):
        if shape.enum and value not in shape.enum:
            out.add(path, value, f"Member must satisfy enum value set: [{', '.join(shape.enum)}]")
        _check_range(shape, len(value), value, path, "length", out)
        pattern = shape.metadata.get("pattern")
        compiled = None if pattern is None else _python_pattern(pattern)
        if compiled is not None and not compiled.fullmatch(value):
            out.add(path, value, f"Member must satisfy regular expression pattern: {pattern}")
    elif kind in ("integer", "long", "float", "double"):
        _check_range(shape, value, value, path, "value", out)


def _check_range(shape: Shape, measure: float, value: Any, path: str, noun: str, out: _Violations) -> None:
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    if low is not None and measure < low:
        out.add(path, value, f"Member must have {noun} greater than or equal to {_bound(low)}")
    if high is not None and measure > high:
        out.add(path, value, f"Member must have {noun} less than or equal to {_bound(high)}")


def _walk_map(shape: MapShape, value: Mapping[Any, Any], path: str, out: _Violations) -> None:
    """AWS reports a map's scalar keys and values at the map, each distinct rule once:
    "Map keys must satisfy constraint: [Member must ..., ...]"."""
    _check_range(shape, len(value), value, path, "length", out)
    key_rules = _scalar_rules(shape.key, value.keys())
    if key_rules:
        out.add(path, value, f"Map keys must satisfy constraint: [{', '.join(key_rules)}]")
    if shape.value.type_name in _SCALARS:
        value_rules = _scalar_rules(shape.value, value.values())
        if value_rules:
            out.add(path, value, f"Map value must satisfy constraint: [{', '.join(value_rules)}]")
        return
    for key, item in value.items():
        if item is not None:
            _walk(shape.value, item, f"{path}.{key}", out)


def _scalar_rules(shape: Shape, values: Iterable[Any]) -> list[str]:
    scratch = _Violations()
    for item in values:
        if item is None:
            scratch.add("", None, "Member must not be null")
        else:
            _walk(shape, item, "", scratch)
    return list(dict.fromkeys(violation.constraint for violation in scratch.found))


def _violations(operation: str, params: Mapping[str, Any]) -> _Violations:
    out = _Violations()
    _walk(_input_shape(operation), params, "", out)
    return out


def validation_errors(operation: str, params: Mapping[str, Any]) -> list[str]:
    """What the service model's constraints say of a SageMaker request, one message per violation."""
    return [str(violation) for violation in _violations(operation, params).found]


def _check(operation: str, params: Mapping[str, Any]) -> None:
    _violations(operation, params).raise_if_any()


# The model's patterns are Java regular expressions. Python's `re` lacks two constructs they use: \p{...}
# character classes and characters beyond the BMP written as UTF-16 surrogate pairs; both are rewritten.
# A pattern that still does not compile (one tag pattern quantifies "$") is not checked: its member's
# length limits still are.
_SURROGATE_PAIR = re.compile(r"\\u(d[89ab][0-9a-f]{2})\\u(d[c-f][0-9a-f]{2})", re.IGNORECASE)
_PROPERTY = re.compile(r"\\p\{(?:Is)?([A-Za-z]+)\}")
_POSIX_CLASSES = {
    "Alnum": "a-zA-Z0-9",
    "Alpha": "a-zA-Z",
    "Digit": "0-9",
    "Lower": "a-z",
    "Upper": "A-Z",
    "XDigit": "0-9a-fA-F",
    "Space": r" \t\n\x0b\f\r",
}


@functools.cache
def _python_pattern(pattern: str) -> re.Pattern[str] | None:
    try:
        return re.compile(_properties_as_ranges(_SURROGATE_PAIR.sub(_code_point, pattern)))
    except (re.error, KeyError):
        return None


def _code_point(pair: re.Match[str]) -> str:
    high, low = int(pair[1], 16), int(pair[2], 16)
    return f"\\U{0x10000 + (high - 0xD800) * 0x400 + (low - 0xDC00):08x}"


def _properties_as_ranges(pattern: str) -> str:
    parts: list[str] = []
    in_class = False
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            found = _PROPERTY.match(pattern, index)
            if found:
                ranges = _property_ranges(found[1])
                parts.append(ranges if in_class else f"[{ranges}]")
                index = found.end()
            else:
                parts.append(pattern[index : index + 2])
                index += 2
            continue
        if char == "[":
            in_class = True
        elif char == "]":
            in_class = False
        parts.append(char)
        index += 1
    return "".join(parts)


def _property_ranges(name: str) -> str:
    """A \\p{name} class as the contents of a Python character class: POSIX names, or a Unicode general
    category (one letter, L, or two, Lu). Raises KeyError for any other."""
    if name in _POSIX_CLASSES:
        return _POSIX_CLASSES[name]
    if len(name) > 2:
        raise KeyError(name)
    ranges = sorted(
        span for category, spans in _unicode_categories().items() if category.startswith(name) for span in spans
    )
    if not ranges:
        raise KeyError(name)
    return "".join(f"\\U{low:08x}" if low == high else f"\\U{low:08x}-\\U{high:08x}" for low, high in ranges)


@functools.cache
def _unicode_categories() -> dict[str, list[tuple[int, int]]]:
    """Code point ranges by Unicode general category (built once, when a \\p{...} pattern is first used)."""
    spans: dict[str, list[tuple[int, int]]] = {}
    start, current = 0, unicodedata.category("\0")
    for code in range(1, sys.maxunicode + 1):
        category = unicodedata.category(chr(code))
        if category != current:
            spans.setdefault(current, []).append((start, code - 1))
            start, current = code, category
    spans.setdefault(current, []).append((start, sys.maxunicode))
    return spans


# ---- CreateLabelingJob: what the model cannot say. Each of these reports like the model's constraints,
# and a narrower pattern only where the model's own check of the member passed.


def _get(request: Mapping[str, Any], member_path: str) -> Any:
    value: Any = request
    for key in member_path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def _narrow(request: Mapping[str, Any], member_path: str, pattern: str, out: _Violations) -> None:
    value, path = _get(request, member_path), _aws_path(member_path)
    if isinstance(value, str) and not out.at(path) and not re.fullmatch(pattern, value):
        out.add(path, value, f"Member must satisfy regular expression pattern: {pattern}")


def _require(request: Mapping[str, Any], member_path: str, out: _Violations) -> None:
    """`member_path` must be set when its parent structure is."""
    parent_path, _, member = member_path.rpartition(".")
    parent = _get(request, parent_path)
    if isinstance(parent, Mapping) and parent.get(member) is None:
        out.add(_aws_path(member_path), None, "Member must not be null")


def _check_emulated(request: Mapping[str, Any], out: _Violations) -> None:
    # The model's S3Uri also takes https:// URIs; the emulator (local/groundtruth) reads the manifest and
    # writes the output through moto's S3 by bucket and key, so it takes s3:// URIs only.
    _narrow(request, "InputConfig.DataSource.S3DataSource.ManifestS3Uri", _S3_URI, out)
    _narrow(request, "OutputConfig.S3OutputPath", _S3_URI, out)
    # Streaming jobs (SnsDataSource) are not emulated: the manifest is required, where the model makes
    # S3DataSource optional (one of the two data sources).
    data_source = _get(request, "InputConfig.DataSource")
    if isinstance(data_source, Mapping) and data_source.get("S3DataSource") is None:
        out.add(_aws_path("InputConfig.DataSource.S3DataSource.ManifestS3Uri"), None, "Member must not be null")
    # The model's pattern is "arn:.*"; the API reference lists the built-in algorithms' ARNs, all in
    # account 027400017018, in prose.
    _narrow(request, "LabelingJobAlgorithmsConfig.LabelingJobAlgorithmSpecificationArn", _ALGORITHM_ARN, out)
    # The model marks the two Lambdas optional (generative-AI task types); every built-in task type this
    # emulates needs both, and the task type is read from the PRE Lambda.
    _require(request, "HumanTaskConfig.PreHumanTaskLambdaArn", out)
    _require(request, "HumanTaskConfig.AnnotationConsolidationConfig", out)
    # The model makes both UiConfig members optional; a job needs one of them: a template or a UI's ARN.
    ui = _get(request, "HumanTaskConfig.UiConfig")
    if isinstance(ui, Mapping) and not (ui.get("UiTemplateS3Uri") or ui.get("HumanTaskUiArn")):
        out.add(_aws_path("HumanTaskConfig.UiConfig"), ui, "Member must contain UiTemplateS3Uri or HumanTaskUiArn")
    # The model makes AmountInUsd optional; a price without an amount sets no price (not verified against
    # the service).
    _require(request, "HumanTaskConfig.PublicWorkforceTaskPrice.AmountInUsd", out)


def _validate_create(request: Mapping[str, Any]) -> None:
    out = _violations("CreateLabelingJob", request)
    _check_emulated(request, out)
    out.raise_if_any()
    _check_semantics(request)


def _check_semantics(request: Mapping[str, Any]) -> None:
    """Rules across members, which a service model cannot state (the API reference gives them in prose);
    they run once every member is well formed."""
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
    _check("DescribeLabelingJob", self.params)
    job = _get_job(self.current_account, self.region, self._get_param("LabelingJobName"))
    return ActionResult(job.describe())


def _stop_labeling_job(self: SageMakerResponse) -> ActionResult:
    _check("StopLabelingJob", self.params)
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
    _check("ListLabelingJobs", self.params)
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
    _check("ListLabelingJobsForWorkteam", self.params)
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
