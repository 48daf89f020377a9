"""A labeling job as DescribeLabelingJob shows it: the fields gtchain reads, parsed once and typed.

https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_DescribeLabelingJob.html
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from gtchain.domain.names import ROLE_SUFFIX, Role
from gtchain.domain.records import TERMINAL_JOB_STATUSES, LabelCounts

TAG_CHAIN = "gtchain:chain-id"
TAG_INCARNATION = "gtchain:incarnation"
TAG_ROUND = "gtchain:round"
TAG_ROLE = "gtchain:role"


def model_arn(value: Any) -> str | None:
    """A model ARN as the API returns it: an empty string (a job that trained no model) is no model."""
    return value if isinstance(value, str) and value.strip() else None


def tag_dict(tags: Any) -> dict[str, str]:
    """The API's [{"Key": k, "Value": v}, ...] as a dict; entries of another shape are ignored."""
    if not isinstance(tags, list):
        return {}
    return {
        tag["Key"]: tag["Value"]
        for tag in tags
        if isinstance(tag, Mapping) and isinstance(tag.get("Key"), str) and isinstance(tag.get("Value"), str)
    }


def task_price_usd(human_task_config: Mapping[str, Any]) -> Decimal | None:
    """The task price a job was created with (PublicWorkforceTaskPrice), or None when it has none."""
    price = (human_task_config.get("PublicWorkforceTaskPrice") or {}).get("AmountInUsd")
    if not price:
        return None
    return (
        Decimal(price.get("Dollars", 0))
        + Decimal(price.get("Cents", 0)) / 100
        + Decimal(price.get("TenthFractionsOfACent", 0)) / 1000
    )


@dataclass(frozen=True)
class ChainContext:
    """Where a job sits in a chain, read from its tags."""

    chain_id: str
    round: int
    role: Role


@dataclass(frozen=True)
class LabelingJob:
    name: str
    status: str
    arn: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    counters: LabelCounts = field(default_factory=LabelCounts)
    failure_reason: str | None = None
    label_attribute: str = ""
    output_path: str = ""  # OutputConfig.S3OutputPath: Ground Truth writes under <path>/<job-name>/
    output_manifest_uri: str | None = None  # LabelingJobOutput.OutputDatasetS3Uri, once written
    final_model_arn: str | None = None
    initial_model_arn: str | None = None
    workers_per_object: int | None = None
    task_price_usd: Decimal | None = None
    workteam_arn: str = ""

    @classmethod
    def from_api(cls, description: Mapping[str, Any]) -> "LabelingJob":
        human = description.get("HumanTaskConfig") or {}
        output = description.get("LabelingJobOutput") or {}
        algorithms = description.get("LabelingJobAlgorithmsConfig") or {}
        workers = human.get("NumberOfHumanWorkersPerDataObject")
        return cls(
            name=str(description["LabelingJobName"]),
            status=str(description["LabelingJobStatus"]),
            arn=description.get("LabelingJobArn"),
            tags=tag_dict(description.get("Tags")),
            counters=LabelCounts.from_api(description.get("LabelCounters") or {}),
            failure_reason=description.get("FailureReason") or None,
            label_attribute=str(description.get("LabelAttributeName", "")),
            output_path=str((description.get("OutputConfig") or {}).get("S3OutputPath", "")),
            output_manifest_uri=output.get("OutputDatasetS3Uri") or None,
            final_model_arn=model_arn(output.get("FinalActiveLearningModelArn")),
            initial_model_arn=model_arn(algorithms.get("InitialActiveLearningModelArn")),
            workers_per_object=int(workers) if workers else None,
            task_price_usd=task_price_usd(human),
            workteam_arn=str(human.get("WorkteamArn", "")),
        )

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL_JOB_STATUSES

    @property
    def chain_context(self) -> ChainContext | None:
        """The chain, round and role from gtchain's tags; None for a job gtchain did not start."""
        role, number = self.tags.get(TAG_ROLE), self.tags.get(TAG_ROUND, "")
        if TAG_CHAIN not in self.tags or not number.isdecimal() or role not in ROLE_SUFFIX:
            return None
        roles: dict[str | None, Role] = {"baseline": "baseline", "audit": "audit"}
        return ChainContext(self.tags[TAG_CHAIN], int(number), roles.get(role, "round"))
