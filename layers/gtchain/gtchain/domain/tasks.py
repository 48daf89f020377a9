"""The four Ground Truth task types gtchain supports, with everything that differs between them."""

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

# Built-in pre-annotation and consolidation Lambdas live in one AWS account per region.
BUILTIN_LAMBDA_ACCOUNTS: dict[str, str] = {
    "us-east-1": "432418664414",
    "us-east-2": "266458841044",
    "us-west-2": "081040173940",
    "ca-central-1": "918755190332",
    "eu-west-1": "568282634449",
    "eu-west-2": "487402164563",
    "eu-central-1": "203001061592",
    "ap-northeast-1": "477331159723",
    "ap-northeast-2": "845288260483",
    "ap-south-1": "565803892007",
    "ap-southeast-1": "377565633583",
    "ap-southeast-2": "454466003867",
}
ALGORITHM_ACCOUNT = "027400017018"
PUBLIC_WORKFORCE_ACCOUNT = "394669845002"

_BOX_PRICES = tuple(
    Decimal(p)
    for p in (
        "0.036", "0.048", "0.060", "0.072", "0.120", "0.240", "0.360",
        "0.480", "0.600", "0.720", "0.840", "0.960", "1.080", "1.200",
    )
)  # fmt: skip
_CLASSIFICATION_PRICES = (Decimal("0.012"), Decimal("0.024"), *_BOX_PRICES)
_SEGMENTATION_PRICES = tuple(Decimal(p) for p in ("0.840", "0.960", "1.080", "1.200"))


class TaskType(StrEnum):
    BOUNDING_BOX = "bounding-box"
    IMAGE_CLASSIFICATION = "image-classification"
    TEXT_CLASSIFICATION = "text-classification"
    SEMANTIC_SEGMENTATION = "semantic-segmentation"


@dataclass(frozen=True)
class TaskProfile:
    lambda_suffix: str  # PRE-<suffix> / ACS-<suffix>
    algorithm: str  # labeling-job-algorithm-specification/<algorithm>
    crowd_element: str  # the Crowd HTML element the worker template uses
    min_labels: int
    max_labels: int
    public_prices: tuple[Decimal, ...]
    output_type: str  # "type" in the output manifest's metadata
    inline_text: bool  # text tasks may carry their object inline as "source" instead of "source-ref"

    def pre_lambda_arn(self, region: str) -> str:
        return f"arn:aws:lambda:{region}:{_builtin_account(region)}:function:PRE-{self.lambda_suffix}"

    def acs_lambda_arn(self, region: str) -> str:
        return f"arn:aws:lambda:{region}:{_builtin_account(region)}:function:ACS-{self.lambda_suffix}"

    def algorithm_arn(self, region: str) -> str:
        _builtin_account(region)
        return f"arn:aws:sagemaker:{region}:{ALGORITHM_ACCOUNT}:labeling-job-algorithm-specification/{self.algorithm}"


class UnsupportedRegionError(ValueError):
    def __init__(self, region: str) -> None:
        super().__init__(
            f"region {region!r} has no Ground Truth built-in Lambdas known to gtchain; "
            f"supported: {', '.join(sorted(BUILTIN_LAMBDA_ACCOUNTS))}"
        )


def _builtin_account(region: str) -> str:
    try:
        return BUILTIN_LAMBDA_ACCOUNTS[region]
    except KeyError:
        raise UnsupportedRegionError(region) from None


# Ground Truth's bounding box verification task (workers judge a set of boxes good or bad), which the audit of a
# bounding-box chain runs: PRE-VerificationBoundingBox and ACS-VerificationBoundingBox, in the same account per region
# as the other built-in Lambdas and in the same twelve regions. From the SageMaker API reference's
# HumanTaskConfig.PreHumanTaskLambdaArn and AnnotationConsolidationConfig.AnnotationConsolidationLambdaArn (botocore's
# service model holds the same text): https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_HumanTaskConfig.html
# and https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_AnnotationConsolidationConfig.html; the task:
# https://docs.aws.amazon.com/sagemaker/latest/dg/sms-data-verify-start-api.html
VERIFICATION_BOUNDING_BOX = "VerificationBoundingBox"


def verification_lambda_arns(region: str) -> tuple[str, str]:
    """(PreHumanTaskLambdaArn, AnnotationConsolidationLambdaArn) of bounding box verification in `region`."""
    functions = f"arn:aws:lambda:{region}:{_builtin_account(region)}:function"
    return f"{functions}:PRE-{VERIFICATION_BOUNDING_BOX}", f"{functions}:ACS-{VERIFICATION_BOUNDING_BOX}"


def public_workteam_arn(region: str) -> str:
    return f"arn:aws:sagemaker:{region}:{PUBLIC_WORKFORCE_ACCOUNT}:workteam/public-crowd/default"


PROFILES: dict[TaskType, TaskProfile] = {
    TaskType.BOUNDING_BOX: TaskProfile(
        "BoundingBox", "object-detection", "crowd-bounding-box", 1, 50, _BOX_PRICES,
        "groundtruth/object-detection", False,
    ),
    TaskType.IMAGE_CLASSIFICATION: TaskProfile(
        "ImageMultiClass", "image-classification", "crowd-image-classifier", 2, 50,
        _CLASSIFICATION_PRICES, "groundtruth/image-classification", False,
    ),
    TaskType.TEXT_CLASSIFICATION: TaskProfile(
        "TextMultiClass", "text-classification", "crowd-classifier", 2, 50,
        _CLASSIFICATION_PRICES, "groundtruth/text-classification", True,
    ),
    TaskType.SEMANTIC_SEGMENTATION: TaskProfile(
        "SemanticSegmentation", "semantic-segmentation", "crowd-semantic-segmentation", 1, 50,
        _SEGMENTATION_PRICES, "groundtruth/semantic-segmentation", False,
    ),
}  # fmt: skip
