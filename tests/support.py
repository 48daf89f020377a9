"""Test support: the embedded stack (moto with the resources template.yaml creates) and the sample events."""

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from gtchain.adapters import aws_ports
from gtchain.config import Settings
from gtchain.service.ports import Ports
from local.cloud import drain_queue

ROOT = Path(__file__).resolve().parent.parent
EVENTS = ROOT / "events"
REGION = "us-east-1"
ACCOUNT = "123456789012"
DATA_BUCKET = "gtchain-data-example"  # the bucket the sample events in events/ name
TABLE = "gtchain-chains"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/gtchain-labeling"


def load_event(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / name).read_text())


@dataclass
class LambdaContext:
    function_name: str = "gtchain-test"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:gtchain-test"
    aws_request_id: str = "7b2e1c1e-0f0b-4d8e-9d2e-1a2b3c4d5e6f"


@dataclass
class Stack:
    """The resources template.yaml creates, as the tests see them."""

    settings: Settings
    events_queue_url: str  # every event gtchain publishes (source "gtchain") lands here
    notifications_queue_url: str  # every SNS notification lands here

    @property
    def ports(self) -> Ports:
        return aws_ports(self.settings)

    @property
    def s3(self) -> Any:
        return boto3.client("s3", region_name=REGION)

    @property
    def sagemaker(self) -> Any:
        return boto3.client("sagemaker", region_name=REGION)

    def put(self, key: str, body: str | bytes) -> str:
        """Put an object; returns its version id."""
        data = body.encode() if isinstance(body, str) else body
        return str(self.s3.put_object(Bucket=DATA_BUCKET, Key=key, Body=data)["VersionId"])

    def _drain(self, url: str) -> list[dict[str, Any]]:
        return drain_queue(boto3.client("sqs", region_name=REGION), url)

    def published(self) -> list[dict[str, Any]]:
        """Drain gtchain's published events (as EventBridge delivered them)."""
        return self._drain(self.events_queue_url)

    def notifications(self) -> list[dict[str, Any]]:
        return self._drain(self.notifications_queue_url)


def create_stack() -> Stack:
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket=DATA_BUCKET)
    s3.put_bucket_versioning(Bucket=DATA_BUCKET, VersioningConfiguration={"Status": "Enabled"})
    boto3.client("dynamodb", region_name=REGION).create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "PK", "AttributeType": "S"},
            {"AttributeName": "SK", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    sqs = boto3.client("sqs", region_name=REGION)
    events_queue = sqs.create_queue(QueueName="published-events")["QueueUrl"]
    events_arn = sqs.get_queue_attributes(QueueUrl=events_queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    bridge = boto3.client("events", region_name=REGION)
    bridge.put_rule(Name="capture-gtchain", EventPattern=json.dumps({"source": ["gtchain"]}))
    bridge.put_targets(Rule="capture-gtchain", Targets=[{"Id": "q", "Arn": events_arn}])
    sns = boto3.client("sns", region_name=REGION)
    topic = sns.create_topic(Name="gtchain-notifications")["TopicArn"]
    notes_queue = sqs.create_queue(QueueName="notifications")["QueueUrl"]
    notes_arn = sqs.get_queue_attributes(QueueUrl=notes_queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=notes_arn, Attributes={"RawMessageDelivery": "false"})
    settings = Settings.model_validate({
        "DATA_BUCKET": DATA_BUCKET, "TABLE_NAME": TABLE, "TOPIC_ARN": topic, "EVENT_BUS_NAME": "default",
        "JOB_NAME_PREFIX": "gtchain", "LABELING_ROLE_ARN": ROLE_ARN, "ALLOWED_SOURCE_BUCKETS": "gtchain-shared-images",
        "AWS_REGION": REGION,
    })  # fmt: skip
    return Stack(settings, events_queue, notes_queue)
