"""Each port's contract, asserted the same way against the in-memory fake and the real adapter on moto.

A test takes a harness: the port itself plus what a test needs to play the world around it (another
writer slipping in between a read and a write, a job finishing, what was published), each done the way
that side does it. Only the harness knows which side it is on.
"""

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, Literal
from unittest import mock

import boto3
import pytest
from moto import mock_aws

from gtchain.adapters import forget_clients
from gtchain.adapters.dynamo import DynamoChainStore
from gtchain.adapters.publisher import AwsPublisher
from gtchain.adapters.s3 import S3ObjectStore
from gtchain.adapters.sagemaker import SageMakerLabeling
from gtchain.service.store import TransitionStore
from local import moto_labeling
from local.cloud import drain_queue
from tests.fakes import FakeChainStore, FakeLabeling, FakeObjects, FakePublisher
from tests.support import REGION, clients, create_stack, finish_job, settings

SIDES = ["fake", "moto"]
Point = Literal["write", "read", "list"]
_OPERATIONS: dict[Point, str] = {"write": "TransactWriteItems", "read": "GetItem", "list": "Query"}


@pytest.fixture
def aws() -> Iterator[None]:
    """An empty moto; each harness provisions the template.yaml resources behind its port (create_stack(kind))
    as the emulator provisions them."""
    moto_labeling.install()
    with mock_aws():
        forget_clients()
        yield
    forget_clients()


# ---- the chain store -------------------------------------------------------------------------------------


@dataclass
class StoreHarness:
    store: TransitionStore
    before: Callable[[Point, Callable[[], None]], None]  # run another writer right before the next point
    conflicts: Callable[[int], None]  # the next n transaction attempts conflict with concurrent ones
    side: str


@functools.cache
def _table() -> Any:
    """One Table resource per process (building one costs more than a test): moto serves whichever mock is
    active when it sends a request. The harness unregisters its hooks after each test."""
    return boto3.resource("dynamodb", region_name=REGION).Table(settings().table_name)


@contextmanager
def _dynamo_harness(store: DynamoChainStore) -> Iterator[StoreHarness]:
    """Another writer slips in through botocore's before-call event of the operation: after the caller's
    reads, before its request reaches DynamoDB (moto). A conflict is DynamoDB's answer, given instead."""
    events = store.table.meta.client.meta.events
    registered: list[tuple[str, Callable[..., Any]]] = []
    pending: dict[Point, list[Callable[[], None]]] = {point: [] for point in _OPERATIONS}
    conflicts = [0]
    running = [False]  # the other writer's own requests do not trigger the next one

    def hook(point: Point) -> Callable[..., None]:
        def handler(**_: Any) -> None:
            if pending[point] and not running[0]:
                running[0] = True
                try:
                    pending[point].pop(0)()
                finally:
                    running[0] = False

        return handler

    for point, operation in _OPERATIONS.items():
        registered.append((f"before-call.dynamodb.{operation}", hook(point)))

    def conflicted(**_: Any) -> Any:
        if not conflicts[0]:
            return None
        conflicts[0] -= 1
        reasons = [{"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"}]
        response = {"Error": {"Code": "TransactionCanceledException", "Message": "Transaction cancelled"},
                    "CancellationReasons": reasons, "ResponseMetadata": {"HTTPStatusCode": 400}}  # fmt: skip
        return SimpleNamespace(status_code=400, headers={}, content=b""), response

    registered.append(("before-call.dynamodb.TransactWriteItems", conflicted))

    def before(point: Point, action: Callable[[], None]) -> None:
        pending[point].append(action)

    def conflict(times: int) -> None:
        conflicts[0] = times

    for event, handler in registered:
        events.register(event, handler)
    try:
        yield StoreHarness(store, before, conflict, "moto")
    finally:
        for event, handler in registered:
            events.unregister(event, handler)


@pytest.fixture(params=SIDES)
def chain_store(request: pytest.FixtureRequest) -> Iterator[StoreHarness]:
    if request.param == "fake":
        fake = FakeChainStore()
        yield StoreHarness(fake, fake.before, fake.conflicts, "fake")
        return
    request.getfixturevalue("aws")
    create_stack("tables")
    store = DynamoChainStore(settings().table_name, _table())
    # the conflict backoff, without the wait
    with mock.patch("gtchain.adapters.dynamo.time.sleep"), _dynamo_harness(store) as harness:
        yield harness


# ---- the object store ------------------------------------------------------------------------------------


@dataclass
class ObjectsHarness:
    objects: Any  # ObjectStore (S3ObjectStore or FakeObjects)
    bucket: str  # versioned, as the data bucket is
    side: str


@pytest.fixture(params=SIDES)
def object_store(request: pytest.FixtureRequest) -> ObjectsHarness:
    if request.param == "fake":
        return ObjectsHarness(FakeObjects(), settings().data_bucket, "fake")
    request.getfixturevalue("aws")
    create_stack("buckets")
    return ObjectsHarness(S3ObjectStore(clients().client("s3")), settings().data_bucket, "moto")


# ---- the labeling service --------------------------------------------------------------------------------


@dataclass
class LabelingHarness:
    labeling: Any  # LabelingService (SageMakerLabeling or FakeLabeling)
    finish: Callable[..., None]  # finish(name, status, human=, machine=, model=, reason=): Ground Truth's side
    side: str


@pytest.fixture(params=SIDES)
def labeling(request: pytest.FixtureRequest) -> LabelingHarness:
    if request.param == "fake":
        fake = FakeLabeling()
        return LabelingHarness(fake, fake.finish, "fake")
    request.getfixturevalue("aws")
    return LabelingHarness(SageMakerLabeling(clients().client("sagemaker")), finish_job, "moto")


# ---- the publisher ---------------------------------------------------------------------------------------


@dataclass
class PublisherHarness:
    publisher: Any  # Publisher (AwsPublisher or FakePublisher)
    published: Callable[[], list[tuple[str, dict[str, Any]]]]  # (detail type, detail), in order
    notified: Callable[[], list[tuple[str, str]]]  # (subject, message)
    side: str


@pytest.fixture(params=SIDES)
def publisher(request: pytest.FixtureRequest) -> PublisherHarness:
    if request.param == "fake":
        fake = FakePublisher()
        return PublisherHarness(fake, fake.new_events, fake.new_notifications, "fake")
    request.getfixturevalue("aws")
    create_stack("topics")
    sqs = clients().client("sqs")
    events_url = sqs.get_queue_url(QueueName="test-published-events")["QueueUrl"]
    notes_url = sqs.get_queue_url(QueueName="test-notifications")["QueueUrl"]

    def published() -> list[tuple[str, dict[str, Any]]]:
        return [(event["detail-type"], event["detail"]) for event in drain_queue(sqs, events_url)]

    def notified() -> list[tuple[str, str]]:
        return [(note["Subject"], note["Message"]) for note in drain_queue(sqs, notes_url)]

    events, sns = clients().client("events"), clients().client("sns")
    aws_publisher = AwsPublisher(settings().event_bus_name, settings().topic_arn, events, sns)
    return PublisherHarness(aws_publisher, published, notified, "moto")
