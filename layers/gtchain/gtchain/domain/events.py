"""Events: the ones gtchain consumes (parser models) and the ones it publishes (source "gtchain")."""

from typing import Literal

from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from pydantic import BaseModel, ConfigDict, Field

SOURCE = "gtchain"

ROUND_STARTED = "Round Started"
ROUND_COMPLETED = "Round Completed"
ROUND_FAILED = "Round Failed"
CHAIN_PAUSED = "Chain Paused"
CHAIN_RESUMED = "Chain Resumed"
MANIFEST_REJECTED = "Manifest Rejected"
MANIFEST_COMPLETED = "Manifest Completed"
REPORT_READY = "Report Ready"

JOB_STATE_CHANGE = "SageMaker Ground Truth Labeling Job State Change"


class LabelingJobStateDetail(BaseModel):
    labeling_job_status: str = Field(alias="LabelingJobStatus")


class LabelingJobStateChangeEvent(EventBridgeModel):
    """AWS's event: the detail holds only the status; the job is named by its ARN in resources[0]."""

    detail_type: Literal["SageMaker Ground Truth Labeling Job State Change"] = Field(alias="detail-type")
    source: Literal["aws.sagemaker"]
    detail: LabelingJobStateDetail
    resources: list[str] = Field(min_length=1)


class RoundEventDetail(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="allow")

    chain_id: str = Field(alias="chainId")
    round: int
    role: Literal["round", "baseline"]
    job_name: str = Field(alias="jobName")
    job_arn: str | None = Field(alias="jobArn", default=None)
    status: str


class RoundCompletedEvent(EventBridgeModel):
    detail_type: Literal["Round Completed"] = Field(alias="detail-type")
    source: Literal["gtchain"]
    detail: RoundEventDetail
