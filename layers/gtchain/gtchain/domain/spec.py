"""chain.json: the chain's specification, validated before anything starts."""

import re
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

from gtchain.domain.tasks import PROFILES, TaskProfile, TaskType

# CreateLabelingJob's alphabet for names; "_" is not in it.
LABEL_ATTRIBUTE_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,126}$")
MODEL_ARN = re.compile(r"^arn:aws[a-z\-]*:sagemaker:[a-z0-9\-]*:\d{12}:model/.+$")
WORKTEAM_ARN = re.compile(r"^arn:aws[a-z\-]*:sagemaker:[a-z0-9\-]*:\d{12}:workteam/.+$")
PII_FREE = "FreeOfPersonallyIdentifiableInformation"


class _CamelModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)


class ChainState(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"
    STOPPED = "stopped"


class Instructions(_CamelModel):
    title: Annotated[str, Field(min_length=1, max_length=128)]
    description: Annotated[str, Field(min_length=1, max_length=255)]
    keywords: Annotated[list[Annotated[str, Field(min_length=1, max_length=30)]], Field(min_length=1, max_length=5)]
    short: str = ""
    full: str = ""


class Workforce(_CamelModel):
    type: Literal["public", "private", "vendor"]
    price_per_task_usd: Decimal | None = None
    content_classifiers: list[Literal["FreeOfPersonallyIdentifiableInformation", "FreeOfAdultContent"]] | None = None
    workteam_arn: str | None = None

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
            if not WORKTEAM_ARN.match(self.workteam_arn):
                raise ValueError(f"workteamArn {self.workteam_arn!r} is not a SageMaker workteam ARN")
            if self.type == "private" and self.price_per_task_usd is not None:
                raise ValueError("a private workforce is not paid per task: remove pricePerTaskUsd")
        return self


class Pricing(_CamelModel):
    per_object_usd: Annotated[Decimal, Field(ge=0)] = Decimal("0.08")


class ChainSpec(_CamelModel):
    task: TaskType
    labels: Annotated[list[Annotated[str, Field(min_length=1, max_length=256)]], Field(min_length=1)]
    label_attribute_name: str
    instructions: Instructions
    workforce: Workforce
    workers_per_object: Annotated[int, Field(ge=1, le=9)] = 3
    max_concurrent_tasks: Annotated[int, Field(ge=1, le=5000)] = 1000
    task_time_limit_seconds: Annotated[int, Field(ge=30, le=28800)] = 300
    task_availability_seconds: Annotated[int, Field(ge=60, le=864000)] = 21600
    auto_labeling: bool = True
    rounds: Annotated[int, Field(ge=1, le=20)] = 1
    baseline: bool = False
    budget_usd: Annotated[Decimal, Field(gt=0)] | None = None
    initial_model_arn: str | None = None
    pricing: Pricing = Pricing()
    state: ChainState = ChainState.ACTIVE
    relabel: bool = False

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
            assert self.workforce.price_per_task_usd is not None  # checked by Workforce
            if self.workforce.price_per_task_usd not in profile.public_prices:
                allowed = ", ".join(str(p) for p in profile.public_prices)
                raise ValueError(
                    f"pricePerTaskUsd {self.workforce.price_per_task_usd} is not a price Ground Truth allows "
                    f"for {self.task} with the public workforce; allowed: {allowed}"
                )
            if self.task_availability_seconds > 43200:
                raise ValueError("taskAvailabilitySeconds is at most 43200 for the public workforce")
        if self.initial_model_arn is not None and not MODEL_ARN.match(self.initial_model_arn):
            raise ValueError(f"initialModelArn {self.initial_model_arn!r} is not a SageMaker model ARN")
        return self

    def _check_label_attribute_name(self) -> None:
        name = self.label_attribute_name
        if not LABEL_ATTRIBUTE_NAME.match(name):
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
