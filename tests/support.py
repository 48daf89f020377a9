"""Test support: the stack template.yaml defines, provisioned in moto the way the emulator provisions it
(local.stack), the settings its functions get, the sample events, and moving a labeling job to its end."""

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any, Protocol

import boto3

from gtchain.adapters import aws_ports
from gtchain.config import Settings
from gtchain.service.ports import Ports
from local import moto_labeling
from local.cloud import ACCOUNT, REGION, drain_queue
from local.stack import Stack as ProvisionedStack
from local.stack import provision
from local.template import StackPlan, Template

ROOT = Path(__file__).resolve().parent.parent
EVENTS = ROOT / "events"
STACK_NAME = "gtchain-test"
SHARED_BUCKET = "gtchain-shared-images"  # the AllowedSourceBuckets parameter: manifests may point there too
PARAMETERS = {"AllowedSourceBuckets": SHARED_BUCKET}

__all__ = ["ACCOUNT", "REGION"]  # defined once, by the emulator (local.cloud); tests import them from here


@functools.cache
def template() -> Template:
    """template.yaml as CloudFormation would deploy it as stack gtchain-test (names included)."""
    return Template(ROOT / "template.yaml", stack_name=STACK_NAME, account=ACCOUNT, region=REGION,
                    parameters=PARAMETERS)  # fmt: skip


@functools.cache
def settings() -> Settings:
    """What the chain functions read from their environment, as the template sets it."""
    environment = template().plan().functions["StartFunction"].environment
    return Settings.model_validate({**environment, "AWS_REGION": REGION})


DATA_BUCKET = settings().data_bucket
TABLE = settings().table_name


def manifest_lines(count: int, *, start: int = 0, bucket: str = DATA_BUCKET) -> str:
    """A manifest of `count` images (bird-00000.jpg, ...), one JSON line each."""
    return "".join(json.dumps({"source-ref": f"s3://{bucket}/images/bird-{i:05d}.jpg"}) + "\n"
                   for i in range(start, start + count))  # fmt: skip


def model_arn(name: str) -> str:
    return f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model/{name}"


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

    provisioned: ProvisionedStack
    settings: Settings
    events_queue_url: str  # every event gtchain publishes (source "gtchain") lands here
    notifications_queue_url: str  # every SNS notification lands here

    @property
    def ports(self) -> Ports:
        return aws_ports(self.settings)

    @property
    def s3(self) -> Any:
        return clients().client("s3")

    @property
    def sagemaker(self) -> Any:
        return clients().client("sagemaker")

    def put(self, key: str, body: str | bytes) -> str:
        """Put an object; returns its version id."""
        data = body.encode() if isinstance(body, str) else body
        return str(self.s3.put_object(Bucket=DATA_BUCKET, Key=key, Body=data)["VersionId"])

    def _drain(self, url: str) -> list[dict[str, Any]]:
        return drain_queue(clients().client("sqs"), url)

    def published(self) -> list[dict[str, Any]]:
        """Drain gtchain's published events (as EventBridge delivered them)."""
        return self._drain(self.events_queue_url)

    def notifications(self) -> list[dict[str, Any]]:
        return self._drain(self.notifications_queue_url)

    # Ground Truth's side (tests.groundtruth.Side): jobs live in moto, events go through the handlers.

    def jobs(self) -> dict[str, moto_labeling.LabelingJob]:
        return moto_labeling.labeling_jobs(ACCOUNT, REGION)

    def get(self, key: str) -> bytes:
        return bytes(self.s3.get_object(Bucket=DATA_BUCKET, Key=key)["Body"].read())

    def finish_job(self, name: str, status: str = "Completed", **kwargs: Any) -> None:
        finish_job(name, status, **kwargs)

    def advance(self, job_name: str, status: str) -> dict[str, Any]:
        from tests.integration.chain.flow import advance  # the handlers are imported only by tests that drive them

        return advance(job_name, status)


class Clients:
    """boto3 clients made once per process (making one reads its service model: most of a provisioning's
    time). moto intercepts a client's requests whenever a mock is active, whichever mock that is."""

    def __init__(self) -> None:
        self._session = boto3.Session(region_name=REGION)

    @functools.cache  # noqa: B019 (one instance, kept for the process)
    def client(self, service_name: str, region_name: str = REGION) -> Any:
        return self._session.client(service_name, region_name=region_name)  # type: ignore[call-overload]


@functools.cache
def clients() -> Clients:
    return Clients()


def _queue(sqs: Any, name: str) -> tuple[str, str]:
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    return url, sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


class _Part:
    """Some kinds of template.yaml's resources (e.g. only its tables), for local.stack.provision: a contract
    test needs the resource behind its port, not the stack. Names and properties stay the template's, and
    the provisioning the emulator's."""

    def __init__(self, kinds: frozenset[str]) -> None:
        whole = template().plan()
        emptied = {f.name: {} for f in fields(whole) if f.name in _RESOURCE_KINDS and f.name not in kinds}
        self._plan = replace(whole, **emptied)
        self.region = REGION

    def plan(self) -> StackPlan:
        return self._plan

    def physical(self, logical_id: str) -> Any:
        return template().physical(logical_id)

    def iter_rules(self, plan: StackPlan) -> Any:
        return template().iter_rules(plan)


_RESOURCE_KINDS = ("buckets", "tables", "topics", "queues", "roles", "functions")


@functools.cache
def _part(kinds: frozenset[str]) -> _Part:
    return _Part(kinds)


def _taps(session: Clients) -> tuple[str, str]:
    """Queues the tests read (not in the template): every event gtchain publishes, every notification."""
    sqs = session.client("sqs", region_name=REGION)
    events_queue, events_arn = _queue(sqs, "test-published-events")
    bridge = session.client("events", region_name=REGION)
    bridge.put_rule(Name="test-capture-gtchain", EventPattern=json.dumps({"source": ["gtchain"]}))
    bridge.put_targets(Rule="test-capture-gtchain", Targets=[{"Id": "q", "Arn": events_arn}])
    notes_queue, notes_arn = _queue(sqs, "test-notifications")
    session.client("sns", region_name=REGION).subscribe(
        TopicArn=settings().topic_arn, Protocol="sqs", Endpoint=notes_arn, Attributes={"RawMessageDelivery": "false"}
    )
    return events_queue, notes_queue


def create_stack(*kinds: str) -> Stack:
    """Provision template.yaml in the active moto (as the emulator does), plus the taps the tests read. With
    kinds (e.g. "tables"), only those of its resources (the taps come with "topics")."""
    session = clients()
    provisioned = provision(_part(frozenset(kinds)) if kinds else template(), session)  # type: ignore[arg-type]
    if kinds and "topics" not in kinds:
        return Stack(provisioned, settings(), "", "")
    return Stack(provisioned, settings(), *_taps(session))


class JobWorld(Protocol):
    """Where labeling jobs live for a test: moto (local.moto_labeling) or tests.fakes.FakeLabeling."""

    def job(self, name: str) -> moto_labeling.LabelingJob: ...
    def update_job(
        self, name: str, *, status: str | None = None, label_counters: Mapping[str, int] | None = None,
        output: Mapping[str, str] | None = None, failure_reason: str | None = None,
    ) -> Any: ...  # fmt: skip


class MotoJobs:
    def job(self, name: str) -> moto_labeling.LabelingJob:
        return moto_labeling.labeling_jobs(ACCOUNT, REGION)[name.lower()]

    def update_job(self, name: str, **changes: Any) -> Any:
        return moto_labeling.update_job(ACCOUNT, REGION, name, **changes)


def finish_job(
    name: str, status: str = "Completed", *, human: int = 0, machine: int = 0, model: str | None = None,
    reason: str | None = None, counters: Mapping[str, int] | None = None, jobs: JobWorld | None = None,
) -> None:  # fmt: skip
    """Move a labeling job to its end the way Ground Truth would: counters (`human` and `machine`, or
    `counters` as DescribeLabelingJob names them), the output manifest's URI, the final model. The job lives
    in moto unless `jobs` says where."""
    jobs = jobs or MotoJobs()
    job = jobs.job(name)
    output_path = job.request["OutputConfig"]["S3OutputPath"].rstrip("/")
    output: dict[str, str] = {"OutputDatasetS3Uri": f"{output_path}/{name}/manifests/output/output.manifest"}
    if model:
        output["FinalActiveLearningModelArn"] = model
    if counters is None:
        counters = {"TotalLabeled": human + machine, "HumanLabeled": human, "MachineLabeled": machine,
                    "FailedNonRetryableError": 0, "Unlabeled": 0}  # fmt: skip
    jobs.update_job(name, status=status, failure_reason=reason, output=output, label_counters=counters)
