"""The emulated Ground Truth alone, on moto and an emulated clock: create jobs through the SageMaker API as
gtchain does, let them run, and read what they wrote."""

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import boto3
from moto import mock_aws

from gtchain.domain.labeling_request import build_request
from gtchain.domain.spec import ChainSpec
from local.clock import Clock, Timers
from local.dataset import chain_spec, manifest
from local.faults import Faults
from local.groundtruth.service import GroundTruth

REGION, ACCOUNT, BUCKET = "us-east-1", "123456789012", "gt-emulator-test"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/labeling"


@dataclass
class World:
    session: boto3.Session
    clock: Clock
    timers: Timers
    faults: Faults
    events_queue: str

    @property
    def s3(self) -> Any:
        return self.session.client("s3")

    @property
    def sagemaker(self) -> Any:
        return self.session.client("sagemaker")

    def create(
        self, name: str, objects: int, task: str = "bounding-box", initial_model: str | None = None, **spec: Any
    ) -> str:
        """A job as gtchain creates it; `spec` overrides chain.json fields (workersPerObject, labels, ...)."""
        parsed = ChainSpec.model_validate(chain_spec(task, **spec))
        body = manifest(task, BUCKET, objects, seed=len(name))
        self.s3.put_object(Bucket=BUCKET, Key=f"in/{name}.manifest", Body=body.encode())
        labels = {"document-version": "2018-11-28", "labels": [{"label": label} for label in parsed.labels]}
        self.s3.put_object(Bucket=BUCKET, Key=f"in/{name}.labels.json", Body=json.dumps(labels).encode())
        request = build_request(
            name=name, spec=parsed, region=REGION, role_arn=ROLE, input_uri=f"s3://{BUCKET}/in/{name}.manifest",
            output_uri=f"s3://{BUCKET}/out", ui_template_uri=f"s3://{BUCKET}/in/ui.html",
            label_config_uri=f"s3://{BUCKET}/in/{name}.labels.json", initial_model_arn=initial_model, tags=[],
        )  # fmt: skip
        return str(self.sagemaker.create_labeling_job(**request)["LabelingJobArn"])

    def finish(self) -> None:
        while self.timers.has_work():
            self.timers.fire_next()

    def describe(self, name: str) -> dict[str, Any]:
        return dict(self.sagemaker.describe_labeling_job(LabelingJobName=name))

    def keys(self, prefix: str) -> list[str]:
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
        return [item["Key"] for page in pages for item in page.get("Contents", [])]

    def read(self, key: str) -> bytes:
        return bytes(self.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())

    def json(self, key: str) -> Any:
        return json.loads(self.read(key))

    def lines(self, key: str) -> list[str]:
        return self.read(key).decode().splitlines()

    def events(self) -> list[dict[str, Any]]:
        """The state-change events sent since the last call."""
        sqs = self.session.client("sqs")
        messages = sqs.receive_message(QueueUrl=self.events_queue, MaxNumberOfMessages=10).get("Messages", [])
        for message in messages:
            sqs.delete_message(QueueUrl=self.events_queue, ReceiptHandle=message["ReceiptHandle"])
        return [json.loads(m["Body"]) for m in messages]


@contextmanager
def emulated_ground_truth(seed: int = 1) -> Iterator[World]:
    with Clock(datetime(2026, 3, 2, 8, 0, tzinfo=UTC)) as clock, mock_aws():
        session = boto3.Session(region_name=REGION)
        session.client("s3").create_bucket(Bucket=BUCKET)
        sqs, events = session.client("sqs"), session.client("events")
        url = sqs.create_queue(QueueName="job-events")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.put_rule(Name="jobs", EventPattern=json.dumps({"source": ["aws.sagemaker"]}))
        events.put_targets(Rule="jobs", Targets=[{"Id": "q", "Arn": arn}])
        timers, faults = Timers(clock), Faults()
        service = GroundTruth(clock=clock, timers=timers, faults=faults, session=session, account=ACCOUNT,
                              region=REGION, seed=seed)  # fmt: skip
        try:
            yield World(session, clock, timers, faults, url)
        finally:
            service.close()
