"""Training job logs on CloudWatch Logs: where Ground Truth's auto-labeling training writes its metrics."""

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from gtchain.adapters import clients
from gtchain.adapters.errors import error_code

if TYPE_CHECKING:
    from mypy_boto3_logs import CloudWatchLogsClient

TRAINING_LOG_GROUP = "/aws/sagemaker/TrainingJobs"


class CloudWatchTrainingLogs:
    def __init__(self, client: "CloudWatchLogsClient | None" = None, group: str = TRAINING_LOG_GROUP) -> None:
        self._client = client
        self._group = group

    @property
    def client(self) -> "CloudWatchLogsClient":
        return self._client or clients.logs()

    def log_streams(self, prefix: str) -> list[str]:
        names: list[str] = []
        try:
            for page in self.client.get_paginator("describe_log_streams").paginate(
                logGroupName=self._group, logStreamNamePrefix=prefix
            ):
                names.extend(stream["logStreamName"] for stream in page.get("logStreams", []))
        except ClientError as exc:
            if error_code(exc) == "ResourceNotFoundException":  # no training job ever logged here
                return []
            raise
        return sorted(names)

    def iter_messages(self, stream: str) -> Iterator[str]:
        """Every message from the stream's start, a page at a time."""
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {"logGroupName": self._group, "logStreamName": stream, "startFromHead": True}
            if token:
                kwargs["nextToken"] = token
            page = self.client.get_log_events(**kwargs)
            for event in page.get("events", []):
                yield event["message"]
            following = page.get("nextForwardToken")
            # The end of the stream returns the token it was given.
            if not following or following == token:
                return
            token = following
