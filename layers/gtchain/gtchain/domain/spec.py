"""chain.json: the chain's specification, validated before anything starts."""

import difflib
import json
import re
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal, Self, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic.alias_generators import to_camel
from pydantic.functional_validators import BeforeValidator
from pydantic_core import ErrorDetails

from gtchain.domain.exports.formats import ExportFormat, formats_problem
from gtchain.domain.json_input import JsonInputError, Path, key_lines, parse_json
from gtchain.domain.manifest import Issue
from gtchain.domain.tasks import PROFILES, TaskProfile, TaskType

# Patterns are matched with fullmatch: "$" alone would also accept a trailing newline.
# CreateLabelingJob's alphabet for names; "_" is not in it.
LABEL_ATTRIBUTE_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,126}")
LABEL_ATTRIBUTE_MAX = 127
# An audit job's LabelAttributeName is the chain's plus this: Ground Truth requires a verification job's to differ
# (https://docs.aws.amazon.com/sagemaker/latest/dg/sms-data-verify-start-api.html).
AUDIT_SUFFIX = "-audit"
MODEL_ARN = re.compile(r"arn:aws[a-z\-]*:sagemaker:[a-z0-9\-]*:\d{12}:model/.+")
WORKTEAM_ARN = re.compile(r"arn:aws[a-z\-]*:sagemaker:[a-z0-9\-]*:\d{12}:workteam/.+")
PII_FREE = "FreeOfPersonallyIdentifiableInformation"
MAX_SPEC_BYTES = 1024 * 1024  # chain.json is read whole; a real one is a few KB

# chain.json is parsed by json_input.parse_json and validated in Python mode, where pydantic's lax mode
# would take true for 1 and 1 for true: integers and booleans are strict.
StrictCount = Annotated[int, Field(strict=True)]
StrictFlag = Annotated[bool, Field(strict=True)]
# Money: bounded and at most 6 decimal places, so a price is never 1E+400 or 5,000 digits long.
Usd = Annotated[Decimal, Field(ge=0, le=1_000_000_000, decimal_places=6)]


def _baseline_policy(value: Any) -> Any:
    """One message for the three forms chain.json's baseline takes, instead of one per member of the union."""
    if isinstance(value, bool) or value == "once":
        return value
    shown = json.dumps(value) if isinstance(value, (str, int, float, type(None))) else "a " + type(value).__name__
    raise ValueError(f'baseline is true, false or "once", not {shown}')


class _CamelModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)


class ChainState(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"
    STOPPED = "stopped"


class Instructions(_CamelModel):
    title: Annotated[str, Field(min_length=1, max_length=128)]
    description: Annotated[str, Field(min_length=1, max_length=255)]
    # CreateLabelingJob's TaskKeyword: words of letters and digits, one space apart ("object-detection" fails).
    keywords: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=30, pattern=r"^[A-Za-z0-9]+( [A-Za-z0-9]+)*$")]],
        Field(min_length=1, max_length=5),
    ]
    short: Annotated[str, Field(max_length=10_000)] = ""
    full: Annotated[str, Field(max_length=100_000)] = ""


class Workforce(_CamelModel):
    type: Literal["public", "private", "vendor"]
    price_per_task_usd: Annotated[Usd, Field(le=1000)] | None = None
    content_classifiers: list[Literal["FreeOfPersonallyIdentifiableInformation", "FreeOfAdultContent"]] | None = None
    workteam_arn: Annotated[str, Field(max_length=256)] | None = None

    @model_validator(mode="after")
    def _by_type(self) -> Self:
        if self.type == "public":
            if self.price_per_task_usd is None:
                raise ValueError("a public workforce needs pricePerTaskUsd")
            if self.content_classifiers is None:
                raise ValueError(
                    "a public workforce needs an explicit contentClassifiers list: gtchain never declares "
                    f"your data free of personal information for you (Ground Truth requires {PII_FREE})"
                )
            if PII_FREE not in self.content_classifiers:
                raise ValueError(f"Ground Truth rejects public workforce jobs without {PII_FREE}")
            if self.workteam_arn is not None:
                raise ValueError("a public workforce takes no workteamArn")
        else:
            if self.workteam_arn is None:
                raise ValueError(f"a {self.type} workforce needs workteamArn")
            if not WORKTEAM_ARN.fullmatch(self.workteam_arn):
                raise ValueError(f"workteamArn {self.workteam_arn!r} is not a SageMaker workteam ARN")
            if self.type == "private" and self.price_per_task_usd is not None:
                raise ValueError("a private workforce is not paid per task: remove pricePerTaskUsd")
        return self


class Pricing(_CamelModel):
    per_object_usd: Annotated[Usd, Field(le=1000)] = Decimal("0.08")


def _accuracy_bar(value: Any) -> Any:
    """minAccuracy is a number (as a decimal string too, like every amount: the table stores it so); true is not."""
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal, str)):
        shown = json.dumps(value) if isinstance(value, bool) else "a " + type(value).__name__
        raise ValueError(f"minAccuracy is a number from 0 to 1, not {shown}")
    return value


class Audit(_CamelModel):
    """An audit of each round's machine labels by humans (docs/chain-json.md, `audit`)."""

    sample_size: Annotated[StrictCount, Field(ge=20, le=1000)]
    # The bar the 95% interval's lower bound must clear; without it an audit only measures, it never blocks.
    min_accuracy: Annotated[Decimal, BeforeValidator(_accuracy_bar), Field(ge=0, le=1, decimal_places=4)] | None = None


class ChainSpec(_CamelModel):
    task: TaskType
    labels: Annotated[list[Annotated[str, Field(min_length=1, max_length=256)]], Field(min_length=1)]
    label_attribute_name: str
    instructions: Instructions
    workforce: Workforce
    workers_per_object: Annotated[StrictCount, Field(ge=1, le=9)] = 3
    max_concurrent_tasks: Annotated[StrictCount, Field(ge=1, le=5000)] = 1000
    task_time_limit_seconds: Annotated[StrictCount, Field(ge=30, le=28800)] = 300
    task_availability_seconds: Annotated[StrictCount, Field(ge=60, le=864000)] = 21600
    auto_labeling: StrictFlag = True
    rounds: Annotated[StrictCount, Field(ge=1, le=20)] = 1
    # true: every round that starts from a model; "once": only the first one (domain.forecast.runs_baseline)
    baseline: Annotated[StrictFlag | Literal["once"], BeforeValidator(_baseline_policy)] = False
    budget_usd: Annotated[Usd, Field(gt=0)] | None = None
    initial_model_arn: Annotated[str, Field(max_length=2048)] | None = None
    pricing: Pricing = Pricing()
    state: ChainState = ChainState.ACTIVE
    relabel: StrictFlag = False
    exports: list[ExportFormat] = []  # docs/exports.md: written when each manifest's results are
    audit: Audit | None = None  # docs/chain-json.md: a measured accuracy of each round's machine labels

    @field_validator("exports")
    @classmethod
    def _exports_fit_task(cls, exports: list[ExportFormat], info: ValidationInfo) -> list[ExportFormat]:
        task = info.data.get("task")
        if task is not None and (problem := formats_problem(task, exports)):
            raise ValueError(problem)
        return exports

    @field_validator("audit")
    @classmethod
    def _audit_fits_task(cls, audit: Audit | None, info: ValidationInfo) -> Audit | None:
        """An audit checks machine labels: the task must auto-label, and have an audit task type (verification
        for boxes, a relabel for classification; none for semantic segmentation yet)."""
        if audit is None:
            return audit
        if info.data.get("task") == TaskType.SEMANTIC_SEGMENTATION:
            raise ValueError("audit is not available for semantic-segmentation (boxes and classification only)")
        if info.data.get("auto_labeling") is False:
            raise ValueError("audit checks machine labels, and with autoLabeling false there are none: remove audit")
        name = info.data.get("label_attribute_name")
        if isinstance(name, str) and len(name) + len(AUDIT_SUFFIX) > LABEL_ATTRIBUTE_MAX:
            raise ValueError(
                f"with audit, labelAttributeName is at most {LABEL_ATTRIBUTE_MAX - len(AUDIT_SUFFIX)} characters: "
                f"the audit job's is labelAttributeName + {AUDIT_SUFFIX!r}"
            )
        return audit

    @property
    def profile(self) -> TaskProfile:
        return PROFILES[self.task]

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        profile = self.profile
        if not profile.min_labels <= len(self.labels) <= profile.max_labels:
            raise ValueError(
                f"{self.task} takes {profile.min_labels} to {profile.max_labels} labels, got {len(self.labels)}"
            )
        if len(set(self.labels)) != len(self.labels):
            raise ValueError("labels must be unique")
        self._check_label_attribute_name()
        if self.workforce.type == "public":
            if self.workforce.price_per_task_usd not in profile.public_prices:
                allowed = ", ".join(str(p) for p in profile.public_prices)
                raise ValueError(
                    f"pricePerTaskUsd {self.workforce.price_per_task_usd} is not a price Ground Truth allows "
                    f"for {self.task} with the public workforce; allowed: {allowed}"
                )
            if self.task_availability_seconds > 43200:
                raise ValueError("taskAvailabilitySeconds is at most 43200 for the public workforce")
        if self.initial_model_arn is not None and not MODEL_ARN.fullmatch(self.initial_model_arn):
            raise ValueError(f"initialModelArn {self.initial_model_arn!r} is not a SageMaker model ARN")
        return self

    def _check_label_attribute_name(self) -> None:
        name = self.label_attribute_name
        if not LABEL_ATTRIBUTE_NAME.fullmatch(name):
            raise ValueError(
                f"labelAttributeName {name!r} must be 1-127 letters, digits and hyphens "
                "(no '_'), starting and ending with a letter or digit"
            )
        if name.endswith("-metadata"):
            raise ValueError("labelAttributeName must not end with '-metadata'")
        if self.task == TaskType.SEMANTIC_SEGMENTATION and not name.endswith("-ref"):
            raise ValueError("labelAttributeName must end with '-ref' for semantic-segmentation")
        if self.task == TaskType.BOUNDING_BOX and name.endswith("-ref"):
            raise ValueError("labelAttributeName must not end with '-ref' for bounding-box")

    def immutable_fields_changed(self, previous: "ChainSpec") -> list[str]:
        """Fields the carried model depends on: they cannot change during a chain's life."""
        return [
            alias
            for field, alias in (
                ("task", "task"), ("labels", "labels"), ("label_attribute_name", "labelAttributeName"),
            )
            if getattr(self, field) != getattr(previous, field)
        ]  # fmt: skip

    def task_price_usd(self) -> Decimal | None:
        """What one worker is paid per task; None when unknown (a vendor workforce without a price)."""
        if self.workforce.type == "private":
            return Decimal(0)
        return self.workforce.price_per_task_usd


def parse_chain_spec(raw: bytes) -> tuple[ChainSpec | None, list[Issue]]:
    """chain.json's bytes to a spec, or the issues that reject it, each with its line and field when known.

    The service's error reports and the CLI's `validate` both say exactly this."""
    if len(raw) > MAX_SPEC_BYTES:
        return None, [spec_too_large(len(raw))]
    try:
        document = parse_json(raw)
    except JsonInputError as exc:
        column = f" (column {exc.column})" if exc.column else ""
        return None, [Issue(exc.message + column, exc.line, exc.field)]
    if not isinstance(document, dict):
        return None, [Issue(f"chain.json must be a JSON object, not {_json_type(document)}", 1)]
    try:
        return ChainSpec.model_validate(document), []
    except ValidationError as exc:
        lines = key_lines(raw.decode())
        return None, [_issue(error, lines) for error in exc.errors()]


def spec_too_large(size: int) -> Issue:
    return Issue(f"chain.json is {size} bytes; at most {MAX_SPEC_BYTES}")


def _issue(error: ErrorDetails, lines: dict[Path, int]) -> Issue:
    loc = tuple(error["loc"])
    field = ".".join(str(part) for part in loc) or None
    line = next((lines[loc[:n]] for n in range(len(loc), 0, -1) if loc[:n] in lines), None)
    if error["type"] == "extra_forbidden":
        return Issue(unknown_field_message(loc), line, field)
    message = error["msg"].removeprefix("Value error, ")
    if error["type"].endswith("_type") and isinstance(error["input"], (bool, int, float, str, type(None))):
        shown = json.dumps(error["input"], ensure_ascii=False)
        message += f", not {shown if len(shown) <= 40 else shown[:37] + '...'}"
    return Issue(message, line, field)


def unknown_field_message(loc: tuple[str | int, ...]) -> str:
    """The error for an unknown field, naming the closest known one among the aliases where it was found:
    "`workersPerObjet`: unknown field; did you mean `workersPerObject`?"."""
    written = ".".join(str(part) for part in loc)
    known = _known_fields(loc[:-1])
    close = difflib.get_close_matches(str(loc[-1]), known, n=1)
    prefix = written.removesuffix(str(loc[-1]))
    if close:
        hint = f"did you mean `{prefix}{close[0]}`?"
    elif known:
        hint = f"the fields here are {', '.join(known)}."
    else:
        hint = "remove it."
    # "Extra inputs are not permitted" is pydantic's wording, kept so readers (and tests) that look for it find it.
    return f"`{written}`: unknown field; {hint} Extra inputs are not permitted."


def _known_fields(loc: tuple[str | int, ...]) -> list[str]:
    """The aliases of the model at loc inside ChainSpec (nested models are reached by field), or none."""
    model: type[BaseModel] = ChainSpec
    for part in loc:
        info = next((f for name, f in model.model_fields.items() if part in (name, f.alias)), None)
        inner = _model_in(info.annotation) if info is not None else None
        if inner is None:
            return []
        model = inner
    return [info.alias or name for name, info in model.model_fields.items()]


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return next((m for arg in get_args(annotation) if (m := _model_in(arg)) is not None), None)


def _json_type(value: Any) -> str:
    names = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
    return names.get(type(value), "a number")
