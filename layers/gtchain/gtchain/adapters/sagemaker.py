"""Ground Truth labeling jobs through the SageMaker API."""

from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from gtchain.adapters import clients
from gtchain.adapters.errors import error_code, is_transient
from gtchain.service.ports import JobAlreadyExistsError, JobRejectedError

if TYPE_CHECKING:
    from mypy_boto3_sagemaker import SageMakerClient


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

    def describe_job(self, name: str) -> dict[str, Any] | None:
        try:
            return dict(self.client.describe_labeling_job(LabelingJobName=name))
        except ClientError as exc:
            if error_code(exc) in {"ResourceNotFound", "ValidationException"} and not is_transient(exc):
                return None
            raise

    def stop_job(self, name: str) -> None:
        try:
            self.client.stop_labeling_job(LabelingJobName=name)
        except ClientError as exc:
            if is_transient(exc):
                raise
            # Already finished or stopping: there is nothing left to stop.
