"""gtchain's own events (default bus, source "gtchain") and SNS notifications."""

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from gtchain.adapters import clients
from gtchain.domain.events import SOURCE

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_events.type_defs import PutEventsRequestEntryTypeDef
    from mypy_boto3_sns import SNSClient


class PublishError(Exception):
    """EventBridge refused an entry: raised so the invocation is retried."""


PUT_EVENTS_ENTRIES = 10  # PutEvents takes at most 10 entries per request (EventBridge quotas)


class AwsPublisher:
    def __init__(
        self, bus_name: str, topic_arn: str, events: "EventBridgeClient | None" = None,
        sns: "SNSClient | None" = None,
    ) -> None:  # fmt: skip
        self._bus_name = bus_name
        self._topic_arn = topic_arn
        self._events = events
        self._sns = sns
        # Per thread, like the store's session: a Lambda container runs one invocation at a time, the tests and
        # the emulator run several (in threads, or one inside another).
        self._local = threading.local()

    @property
    def _batch(self) -> "list[PutEventsRequestEntryTypeDef] | None":
        batch: list[PutEventsRequestEntryTypeDef] | None = getattr(self._local, "batch", None)
        return batch

    def publish(self, detail_type: str, detail: dict[str, Any]) -> None:
        entry: PutEventsRequestEntryTypeDef = {
            "Source": SOURCE, "DetailType": detail_type, "Detail": json.dumps(detail, default=str),
            "EventBusName": self._bus_name,
        }  # fmt: skip
        if self._batch is not None:
            self._batch.append(entry)
        else:
            self._send([entry])

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Events published inside go out together at the end, ten to a request, also when the block raises:
        each tells of a transition already written. A batch inside another is another invocation's: its own."""
        outer = self._batch
        self._local.batch = []
        try:
            yield
        finally:
            try:
                self.flush()
            finally:
                self._local.batch = outer

    def flush(self) -> None:
        entries = self._batch or []
        if entries:
            self._local.batch = []
        for start in range(0, len(entries), PUT_EVENTS_ENTRIES):
            self._send(entries[start : start + PUT_EVENTS_ENTRIES])

    def _send(self, entries: "list[PutEventsRequestEntryTypeDef]") -> None:
        client = self._events or clients.events()
        response = client.put_events(Entries=entries)
        if response.get("FailedEntryCount"):
            results = zip(entries, response["Entries"], strict=True)
            refused = [(entry["DetailType"], result) for entry, result in results if "ErrorCode" in result]
            raise PublishError(f"EventBridge refused {refused}")

    def notify(self, subject: str, message: str) -> None:
        client = self._sns or clients.sns()
        # SNS subjects are at most 100 printable characters.
        client.publish(TopicArn=self._topic_arn, Subject=subject[:100], Message=message)
