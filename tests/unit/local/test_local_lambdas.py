"""Functions run in-process as Lambda runs them for EventBridge: their environment, their logs, and async
retries ending in the on-failure destination."""

import itertools
import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from moto import mock_aws

from local.clock import Clock, Timers
from local.lambdas import Runtime
from local.template import FunctionPlan
from tests.unit.local import fake_handler

REGION, ACCOUNT = "us-east-1", "123456789012"


def plan(environment: dict[str, str], on_failure: str | None) -> FunctionPlan:
    return FunctionPlan(
        logical_id="Fake", name="stack-Fake-ABC", arn=f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:stack-Fake-ABC",
        module="tests.unit.local.fake_handler", handler="lambda_handler", environment=environment, layers=[],
        timeout=30, memory=256, maximum_retry_attempts=2, on_failure=on_failure, rules=[],
    )  # fmt: skip


@pytest.fixture
def aws() -> Iterator[tuple[boto3.Session, Clock, Timers]]:
    fake_handler.SEEN.clear()
    with Clock(datetime(2026, 3, 2, 8, 0, tzinfo=UTC)) as clock, mock_aws():
        yield boto3.Session(region_name=REGION), clock, Timers(clock)


def runtime(aws: tuple[boto3.Session, Clock, Timers], function: FunctionPlan) -> Runtime:
    session, clock, timers = aws
    ids = (f"00000000-0000-4000-8000-{n:012d}" for n in itertools.count())
    return Runtime({"Fake": function}, clock, timers, session, ACCOUNT, REGION, lambda: next(ids))


def test_the_function_runs_with_its_template_environment_and_its_logs_go_to_cloudwatch(
    aws: tuple[boto3.Session, Clock, Timers],
) -> None:
    # Given a function whose template sets TABLE_NAME
    os.environ.pop("TABLE_NAME", None)
    local = runtime(aws, plan({"TABLE_NAME": "chains"}, None))

    # When it is invoked
    invocation = local.invoke_async("Fake", {"id": "e1"})

    # Then it saw its environment (tracing off), which is gone afterwards, and returned normally
    assert fake_handler.SEEN == [{"TABLE_NAME": "chains", "trace": "1"}]
    assert "TABLE_NAME" not in os.environ
    assert invocation.error is None and invocation.result == {"request": invocation.request_id}
    # And what it printed is in its log group, between Lambda's START and END lines
    logs = aws[0].client("logs")
    group = "/aws/lambda/stack-Fake-ABC"
    stream = logs.describe_log_streams(logGroupName=group)["logStreams"][0]["logStreamName"]
    messages = [e["message"] for e in logs.get_log_events(logGroupName=group, logStreamName=stream)["events"]]
    assert messages[0].startswith("START RequestId:") and messages[-1].startswith("END RequestId:")
    assert "handling e1" in messages


def test_a_failing_function_is_retried_twice_then_its_event_goes_to_the_on_failure_queue(
    aws: tuple[boto3.Session, Clock, Timers],
) -> None:
    session, clock, timers = aws
    sqs = session.client("sqs")
    url = sqs.create_queue(QueueName="fake-failures")["QueueUrl"]
    local = runtime(aws, plan({"FAIL": "1"}, f"arn:aws:sqs:{REGION}:{ACCOUNT}:fake-failures"))
    event = {"id": "e2", "detail-type": "Round Completed"}
    start = clock.now()

    # When the invocation fails, and then its retries do
    local.invoke_async("Fake", event)
    while timers.fire_next() is not None:
        pass

    # Then Lambda tried three times, 1 and then 2 more minutes apart
    attempts = [i for i in local.history if i.function == "Fake"]
    assert [i.attempt for i in attempts] == [1, 2, 3]
    assert all(i.error == "RuntimeError: the table is throttling" for i in attempts)
    assert timedelta(minutes=3) <= clock.now() - start < timedelta(minutes=3, seconds=5)
    # And the on-failure record carries the event, as Lambda's destination does
    (message,) = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    record = json.loads(message["Body"])
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert record["requestPayload"] == event
    assert record["responsePayload"]["errorType"] == "RuntimeError"
