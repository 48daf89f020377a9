"""S3 -> EventBridge notifications as AWS sends them, in place of moto 5.2.5's
(https://docs.aws.amazon.com/AmazonS3/latest/userguide/ev-events.html).

moto emits an event on every real write to a bucket with EventBridge turned on; this module replaces the
one function that shapes and routes it, correcting what moto gets wrong:
- every event had the same `id`: each gets a fresh one;
- `detail.object.eTag` is `etag`;
- `reason` is PutObject / PostObject / CopyObject / CompleteMultipartUpload, not `ObjectCreated`;
- a PutObject no longer also emits `Object Tags Added`;
- events reach the rules of the default bus only, not of every bus;
- `sequencer` grows with every event, as S3's does for one key.
A fault knob can drop an object's event (the write itself succeeds).
"""

import itertools
from collections.abc import Callable
from typing import Any, cast

from moto.core.utils import unix_time
from moto.events.models import events_backends
from moto.s3 import notifications

_REASONS = {
    "s3:ObjectCreated:Put": "PutObject",
    "s3:ObjectCreated:Post": "PostObject",
    "s3:ObjectCreated:Copy": "CopyObject",
    "s3:ObjectCreated:CompleteMultipartUpload": "CompleteMultipartUpload",
    "s3:ObjectRemoved:Delete": "DeleteObject",
    "s3:ObjectRemoved:DeleteMarkerCreated": "DeleteObject",
}
_ORIGINAL = notifications._send_event_bridge_message
_sequencer = itertools.count(0x617F08299329D189)

EventId = Callable[[], str]
Dropped = Callable[[str], bool]


def aws_shaped_event(account_id: str, bucket: Any, event_name: str, key: Any, event_id: str) -> dict[str, Any] | None:
    """The EventBridge event AWS sends for this S3 notification, or None for the ones it does not send."""
    reason = _REASONS.get(event_name)
    if reason is None:
        return None
    event: dict[str, Any] = {
        "version": "0",
        "id": event_id,
        "detail-type": notifications._detail_type(event_name),
        "source": "aws.s3",
        "account": account_id,
        "time": unix_time(),  # moto turns this into ISO 8601 when it delivers to SQS
        "region": bucket.region_name,
        "resources": [bucket.arn],
    }
    obj: dict[str, Any] = {"key": key.name, "size": key.size, "etag": key.etag.replace('"', "")}
    if key.version_id and key.version_id != "null":
        obj["version-id"] = key.version_id
    obj["sequencer"] = f"{next(_sequencer):018X}"
    event["detail"] = {
        "version": "0",
        "bucket": {"name": bucket.name},
        "object": obj,
        "request-id": event_id.replace("-", "")[:16].upper(),
        "requester": account_id,
        "source-ip-address": "127.0.0.1",
        "reason": reason,
    }
    return event


def install(new_id: EventId, dropped: Dropped) -> None:
    """Route moto's S3 EventBridge notifications through `aws_shaped_event`. `new_id` gives each event its id;
    `dropped(key)` says whether a fault loses this object's event."""

    def send(account_id: str, bucket: Any, event_name: str, key: Any) -> None:
        event = aws_shaped_event(account_id, bucket, event_name, key, new_id())
        if event is None or dropped(key.name):
            return
        default_bus = events_backends[account_id][bucket.region_name].event_buses.get("default")
        if default_bus is None:
            return
        for rule in list(default_bus.rules.values()):
            rule.send_to_targets(cast(Any, event), transform_input=False)

    notifications._send_event_bridge_message = send


def uninstall() -> None:
    notifications._send_event_bridge_message = _ORIGINAL
