"""gtchain's own events (default bus, source "gtchain") and SNS notifications."""

import json
from typing import TYPE_CHECKING, Any

from gtchain.adapters import clients
from gtchain.domain.events import SOURCE

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_sns import SNSClient


class PublishError(Exception):
    """EventBridge refused an entry: raised so the invocation is retried."""


class AwsPublisher:
    def __init__(
        self, bus_name: str, topic_arn: str, events: "EventBridgeClient | None" = None,
        sns: "SNSClient | None" = None,
    ) -> None:  # fmt: skip
        self._bus_name = bus_name
        self._topic_arn = topic_arn
        self._events = events
        self._sns = sns

    def publish(self, detail_type: str, detail: dict[str, Any]) -> None:
        client = self._events or clients.events()
        response = client.put_events(
            Entries=[{
                "Source": SOURCE, "DetailType": detail_type, "Detail": json.dumps(detail, default=str),
                "EventBusName": self._bus_name,
            }]
        )  # fmt: skip
        if response.get("FailedEntryCount"):
            raise PublishError(f"EventBridge refused {detail_type}: {response['Entries']}")

    def notify(self, subject: str, message: str) -> None:
        client = self._sns or clients.sns()
        # SNS subjects are at most 100 printable characters.
        client.publish(TopicArn=self._topic_arn, Subject=subject[:100], Message=message)
