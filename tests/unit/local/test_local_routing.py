"""The local stack's plumbing: real S3 writes become AWS-shaped events that reach the right function through
the template's rules; everything else stays quiet."""

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from local.cloud import LocalCloud, schedule_period
from local.lambdas import Invocation


@pytest.fixture
def cloud() -> Iterator[LocalCloud]:
    with LocalCloud(seed=1, start=datetime(2026, 3, 2, 8, 0, tzinfo=UTC)) as running:
        yield running


def delivered(cloud: LocalCloud, key: str, body: bytes = b"{}") -> list[Invocation]:
    """Put an object, deliver what its event triggers, return the function invocations it caused."""
    before = len(cloud.runtime.history)
    cloud.put(key, body)
    cloud.pump()
    return cloud.runtime.history[before:]


def test_an_upload_reaches_the_start_function_as_aws_sends_it(cloud: LocalCloud) -> None:
    # When a user uploads chain.json (not valid: the start function rejects it, which is fine here)
    (invocation,) = delivered(cloud, "chains/demo/chain.json", b"not json")

    # Then the start function got one event in AWS's shape, not moto's
    event: dict[str, Any] = invocation.event
    assert invocation.function == "StartFunction"
    assert event["source"] == "aws.s3"
    assert event["detail-type"] == "Object Created"
    assert event["account"] == "123456789012"
    assert event["detail"]["reason"] == "PutObject"
    assert "etag" in event["detail"]["object"] and "eTag" not in event["detail"]["object"]
    assert event["detail"]["object"]["version-id"]
    assert event["resources"] == [f"arn:aws:s3:::{cloud.bucket}"]


def test_each_event_has_its_own_id_and_tag_events_are_not_sent(cloud: LocalCloud) -> None:
    first = delivered(cloud, "chains/demo/inbox/a.manifest")
    second = delivered(cloud, "chains/demo/inbox/b.manifest")
    assert len(first) == len(second) == 1
    assert first[0].event["id"] != second[0].event["id"]
    assert first[0].event["detail"]["object"]["sequencer"] < second[0].event["detail"]["object"]["sequencer"]


@pytest.mark.parametrize(
    "key",
    ["chains/demo/jobs/gtchain-x-r1-a1/manifests/output/output.manifest", "chains/demo/status.json",
     "chains/demo/errors/a.manifest@v1.json", "elsewhere/chain.json"],
)  # fmt: skip
def test_what_the_service_and_ground_truth_write_triggers_nothing(cloud: LocalCloud, key: str) -> None:
    assert delivered(cloud, key) == []


def test_a_copy_says_copy_object(cloud: LocalCloud) -> None:
    cloud.put("drafts/chain.json", b"{}")
    before = len(cloud.runtime.history)
    cloud.s3.copy_object(Bucket=cloud.bucket, Key="chains/demo/chain.json",
                         CopySource={"Bucket": cloud.bucket, "Key": "drafts/chain.json"})  # fmt: skip
    cloud.pump()
    (invocation,) = cloud.runtime.history[before:]
    assert invocation.event["detail"]["reason"] == "CopyObject"


def test_events_reach_only_the_default_bus(cloud: LocalCloud) -> None:
    # Given a rule on another bus that would match every S3 event
    events = cloud.session.client("events", region_name="us-east-1")
    sqs = cloud.session.client("sqs", region_name="us-east-1")
    events.create_event_bus(Name="other")
    url = sqs.create_queue(QueueName="other-bus")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="all-s3", EventBusName="other", EventPattern=json.dumps({"source": ["aws.s3"]}))
    events.put_targets(Rule="all-s3", EventBusName="other", Targets=[{"Id": "q", "Arn": arn}])

    # When an object is written, then only the default bus's rule fired
    assert len(delivered(cloud, "chains/demo/inbox/a.manifest")) == 1
    assert sqs.receive_message(QueueUrl=url).get("Messages", []) == []


def test_a_dropped_s3_event_loses_the_event_not_the_object(cloud: LocalCloud) -> None:
    cloud.faults.drop_s3_event("chains/*/inbox/*.manifest")
    assert delivered(cloud, "chains/demo/inbox/a.manifest", b"x") == []
    assert cloud.get("chains/demo/inbox/a.manifest") == b"x"
    assert len(delivered(cloud, "chains/demo/inbox/b.manifest")) == 1


def test_the_reconciler_fires_on_the_emulated_clock(cloud: LocalCloud) -> None:
    # When 25 emulated minutes pass with nothing else to do
    cloud.advance(schedule_period("rate(25 minutes)"))

    # Then the 10-minute schedule fired twice, with AWS's scheduled-event shape
    runs = [i for i in cloud.runtime.history if i.function == "ReconcileFunction"]
    assert len(runs) == 2
    assert runs[0].event["detail-type"] == "Scheduled Event"
    assert runs[0].event["source"] == "aws.events"
    assert runs[0].event["resources"][0].startswith("arn:aws:events:us-east-1:123456789012:rule/")
    assert [run.event["time"][11:16] for run in runs] == ["08:10", "08:20"]


def test_the_reconciler_sweeps_hourly_with_its_schedule_input(cloud: LocalCloud) -> None:
    # When 65 emulated minutes pass with nothing else to do
    cloud.advance(schedule_period("rate(65 minutes)"))

    # Then six ticks fired and one sweep, whose event is its rule's constant input, as EventBridge sends it
    events = [i.event for i in cloud.runtime.history if i.function == "ReconcileFunction"]
    assert len(events) == 7 and sum(event.get("detail-type") == "Scheduled Event" for event in events) == 6
    assert {"reconcile": "sweep"} in events


def test_schedules_other_than_rate_are_refused() -> None:
    with pytest.raises(ValueError, match="rate"):
        schedule_period("cron(0 12 * * ? *)")


@pytest.mark.parametrize(("job", "reaches_advance"), [("gtchain-birds-r1-a1", True), ("someone-else-1", False)])
def test_only_this_stacks_jobs_state_changes_reach_the_advance_function(
    cloud: LocalCloud, job: str, reaches_advance: bool
) -> None:
    # When SageMaker announces a job's end (the template's rule filters on the job name prefix)
    events = cloud.session.client("events", region_name="us-east-1")
    arn = f"arn:aws:sagemaker:us-east-1:123456789012:labeling-job/{job}"
    events.put_events(Entries=[{
        "Source": "aws.sagemaker", "DetailType": "SageMaker Ground Truth Labeling Job State Change",
        "Resources": [arn], "Detail": json.dumps({"LabelingJobStatus": "Completed"}),
    }])  # fmt: skip
    before = len(cloud.runtime.history)
    cloud.pump()

    # Then the advance function heard of it only if the job is one of this stack's (and ignores an unknown one)
    invoked = [i for i in cloud.runtime.history[before:] if i.function == "AdvanceFunction"]
    assert len(invoked) == (1 if reaches_advance else 0)
    if invoked:
        assert invoked[0].event["resources"] == [arn]
        assert invoked[0].result["action"] == "ignored"
