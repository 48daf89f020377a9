"""boto3 clients, created once per container on first use (never at import, which would slow cold starts)."""

from functools import cache
from typing import TYPE_CHECKING

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBServiceResource
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_logs import CloudWatchLogsClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sagemaker import SageMakerClient
    from mypy_boto3_sns import SNSClient

# Throttling and 5xx are retried with exponential backoff and jitter before anything raises.
RETRIES = Config(retries={"mode": "standard", "max_attempts": 6}, connect_timeout=5, read_timeout=30)


@cache
def s3() -> "S3Client":
    return boto3.client("s3", config=RETRIES)


@cache
def dynamodb() -> "DynamoDBServiceResource":
    return boto3.resource("dynamodb", config=RETRIES)


@cache
def sagemaker() -> "SageMakerClient":
    return boto3.client("sagemaker", config=RETRIES)


@cache
def events() -> "EventBridgeClient":
    return boto3.client("events", config=RETRIES)


@cache
def sns() -> "SNSClient":
    return boto3.client("sns", config=RETRIES)


@cache
def logs() -> "CloudWatchLogsClient":
    return boto3.client("logs", config=RETRIES)


def reset() -> None:
    """Forget cached clients (tests and the emulator switch endpoints and credentials)."""
    for factory in (s3, dynamodb, sagemaker, events, sns, logs):
        factory.cache_clear()
