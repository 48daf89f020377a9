"""Ground Truth labeling jobs through the SageMaker API."""

from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError, ParamValidationError

from gtchain.adapters import clients
from gtchain.adapters.errors import error_code, is_transient
from gtchain.domain.labeling_job import LabelingJob
from gtchain.service.ports import JobAlreadyExistsError, JobRejectedError

if TYPE_CHECKING:
    from mypy_boto3_sagemaker import SageMakerClient


# StopLabelingJob on a job that is not running: ValidationException ("already ... Completed") or, for a name
# the service no longer knows, ResourceNotFound.
# https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_StopLabelingJob.html
_NOTHING_TO_STOP = frozenset({"ValidationException", "ResourceNotFound"})


class SageMakerLabeling:
    def __init__(self, client: "SageMakerClient | None" = None) -> None:
        self._client = client

    @property
    def client(self) -> "SageMakerClient":
        return self._client or clients.sagemaker()

    def create_job(self, request: dict[str, Any]) -> str:
        try:
            return self.client.create_labeling_job(**request)["LabelingJobArn"]
        except ClientError as exc:
            if error_code(exc) == "ResourceInUse":
                raise JobAlreadyExistsError(request["LabelingJobName"]) from exc
            if is_transient(exc):
                raise  # the client's own retries ran out: let Lambda retry the invocation
            raise JobRejectedError(f"CreateLabelingJob refused {request['LabelingJobName']}: {exc}") from exc
        except ParamValidationError as exc:  # botocore refused it before sending: the service would refuse it too
            raise JobRejectedError(f"CreateLabelingJob refused {request['LabelingJobName']}: {exc}") from exc

    def describe_job(self, name: str) -> LabelingJob | None:
        try:
            return LabelingJob.from_api(self.client.describe_labeling_job(LabelingJobName=name))
        except ClientError as exc:
            if error_code(exc) in {"ResourceNotFound", "ValidationException"} and not is_transient(exc):
                return None
            raise

    def stop_job(self, name: str) -> None:
        """Stop a job; one that already finished (or is stopping) has nothing left to stop."""
        try:
            self.client.stop_labeling_job(LabelingJobName=name)
        except ClientError as exc:
            # Only "nothing to stop" is an answer; AccessDenied, throttling and the rest surface.
            if error_code(exc) not in _NOTHING_TO_STOP or is_transient(exc):
                raise
