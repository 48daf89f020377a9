"""The whole of gtchain on one machine: moto provisioned from template.yaml, the real handlers run through
the template's rules, and the Ground Truth emulator, all on one emulated clock.

    with LocalCloud(seed=7) as cloud:
        cloud.put("chains/birds/chain.json", spec)
        cloud.put("chains/birds/inbox/birds.manifest", manifest)
        cloud.run()          # until nothing is left to do

`run()` delivers every pending event, then jumps the clock to the next timer (a job's next iteration, a
Lambda retry, the reconciler's schedule) until no work is left and the reconciler has had one more
period to repair anything a lost event left behind.
"""

import json
import logging
import os
import random
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol, Self

import boto3
from moto import mock_aws
from moto.moto_api._internal import mock_random
from moto.sqs.models import sqs_backends

from local import s3_events
from local.clock import Clock, Timers
from local.faults import Faults, Stage
from local.groundtruth.service import GroundTruth
from local.groundtruth.service import Observer as JobObserver
from local.lambdas import Runtime
from local.stack import Stack, provision
from local.template import RulePlan, Template

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sagemaker import SageMakerClient

ROOT = Path(__file__).resolve().parent.parent
ACCOUNT = "123456789012"
REGION = "us-east-1"
STACK_NAME = "gtchain-local"
OBSERVER_RULE = "local-observer"
_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
}

log = logging.getLogger("local")


def drain_queue(sqs: Any, url: str) -> list[dict[str, Any]]:
    """Receive and delete every message waiting in a queue; their bodies, parsed."""
    found = []
    while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        for message in batch:
            found.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return found


class Observer(JobObserver, Protocol):
    """What the demo (or a test) hears while the chain runs: Ground Truth's progress and gtchain's events."""

    def service_event(self, detail_type: str, detail: dict[str, Any]) -> None: ...


def schedule_period(expression: str) -> timedelta:
    match = _RATE.match(expression)
    if match is None:
        raise ValueError(f"schedule {expression!r}: the local stack fires rate(...) schedules only")
    amount, unit = int(match.group(1)), match.group(2).rstrip("s")
    return timedelta(**{f"{unit}s": amount})


@dataclass
class LocalCloud:
    seed: int = 0
    start: datetime | None = None
    parameters: dict[str, str] = field(default_factory=dict)
    observer: Observer | None = None
    template_path: Path = ROOT / "template.yaml"
    faults: Faults = field(default_factory=Faults)

    def __post_init__(self) -> None:
        self.clock = Clock(self.start)
        self.timers = Timers(self.clock)
        self._random = random.Random(self.seed)
        self._saved_environment: dict[str, str | None] = {}
        self._mock: Any = None
        # While set, the template's schedules skip their firings (the local endpoint holds the reconciler while
        # `local.invoke` stages a sample event, so it does not repair what the sample is about to deliver).
        self.schedules_held = False

    # ---- lifecycle ---------------------------------------------------------------------------------

    def __enter__(self) -> Self:
        self._saved_environment = {name: os.environ.get(name) for name in _CREDENTIALS}
        os.environ.update(_CREDENTIALS)
        self.clock.__enter__()
        self._mock = mock_aws()
        self._mock.start()
        mock_random.seed(self.seed)  # moto's version ids, request ids, ...: the same run twice looks the same
        _reset_service_caches()
        s3_events.install(self.new_id, self.faults.s3_event_dropped)
        self.session = boto3.Session(region_name=REGION)
        self.template = Template(self.template_path, stack_name=STACK_NAME, account=ACCOUNT, region=REGION,
                                 parameters=self.parameters)  # fmt: skip
        self.stack: Stack = provision(self.template, self.session)
        log.info("local stack %s provisioned from %s", STACK_NAME, self.template_path.name)
        if skipped := self.stack.not_emulated():
            log.info("not emulated: %s", ", ".join(skipped))
        self.ground_truth = GroundTruth(
            clock=self.clock, timers=self.timers, faults=self.faults, session=self.session, account=ACCOUNT,
            region=REGION, seed=self.seed, observer=self.observer,
        )  # fmt: skip
        self.runtime = Runtime(
            self.stack.plan.functions, self.clock, self.timers, self.session, ACCOUNT, REGION, self.new_id
        )
        self._install_call_faults()
        self._observer_queue = self._tap_service_events() if self.observer is not None else None
        self.quiet_period = timedelta(0)
        for rule in self.stack.schedules:
            period = schedule_period(rule.schedule or "")
            self.quiet_period = max(self.quiet_period, period + timedelta(seconds=1))
            self._schedule(rule, period)
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.ground_truth.close()
        self._uninstall_call_faults()
        s3_events.uninstall()
        self._mock.stop()
        self.clock.__exit__()
        _reset_service_caches()
        for name, value in self._saved_environment.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value

    def new_id(self) -> str:
        return str(uuid.UUID(int=self._random.getrandbits(128), version=4))

    # ---- what a user does --------------------------------------------------------------------------

    @property
    def bucket(self) -> str:
        return str(self.stack.output("DataBucketName"))

    @property
    def s3(self) -> "S3Client":
        return self.session.client("s3", region_name=REGION)

    @property
    def sagemaker(self) -> "SageMakerClient":
        return self.session.client("sagemaker", region_name=REGION)

    def put(self, key: str, body: str | bytes) -> str:
        """Upload to the data bucket (a real S3 write: its Object Created event flows to the rules)."""
        data = body.encode() if isinstance(body, str) else body
        return str(self.s3.put_object(Bucket=self.bucket, Key=key, Body=data).get("VersionId", ""))

    def get(self, key: str) -> bytes:
        return bytes(self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read())

    def keys(self, prefix: str) -> list[str]:
        paginator = self.s3.get_paginator("list_objects_v2")
        return [
            item["Key"]
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix)
            for item in page.get("Contents", [])
        ]

    def stop_job(self, name: str) -> None:
        self.sagemaker.stop_labeling_job(LabelingJobName=name)

    def describe_job(self, name: str) -> dict[str, Any]:
        return dict(self.sagemaker.describe_labeling_job(LabelingJobName=name))

    def job_names(self) -> list[str]:
        summaries = self.sagemaker.list_labeling_jobs(SortBy="CreationTime", SortOrder="Ascending")
        return [s["LabelingJobName"] for s in summaries["LabelingJobSummaryList"]]

    def queue_messages(self, logical_id: str) -> list[dict[str, Any]]:
        """Read (and remove) what waits in one of the template's queues, e.g. an on-failure queue."""
        sqs = self.session.client("sqs", region_name=REGION)
        return drain_queue(sqs, self.stack.template.physical(logical_id).ref)

    # ---- the loop ----------------------------------------------------------------------------------

    def pump(self) -> int:
        """Deliver every event waiting at a rule's target to its function; repeat until none are left."""
        delivered = 0
        while True:
            batch = 0
            for route in self.stack.routes:
                for event in self._receive(route.queue_url):
                    self._deliver(route.rule.function, event)
                    batch += 1
            if self._observer_queue is not None and self.observer is not None:
                for event in self._receive(self._observer_queue):
                    self.observer.service_event(event["detail-type"], event["detail"])
            if not batch:
                return delivered
            delivered += batch

    def _deliver(self, function: str, event: dict[str, Any]) -> None:
        """Invoke the rule's function with the event: now, or as a delivery fault says (late, several times)."""
        for delay in self.faults.deliveries(event):
            copy = json.loads(json.dumps(event))  # each delivery its own event, as Lambda receives it
            if delay <= timedelta(0):
                self.runtime.invoke_async(function, copy)
            else:
                self.timers.after(delay, f"{function}: late event", self._invoker(function, copy))

    def _invoker(self, function: str, event: dict[str, Any]) -> Callable[[], None]:
        def invoke() -> None:
            self.runtime.invoke_async(function, event)

        return invoke

    def _receive(self, queue_url: str) -> list[dict[str, Any]]:
        queue = sqs_backends[ACCOUNT][REGION].queues[queue_url.rsplit("/", 1)[1]]
        if not queue.messages:
            return []
        sqs = self.session.client("sqs", region_name=REGION)
        events = []
        while batch := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", []):
            for message in batch:
                event = json.loads(message["Body"])
                # moto drops `account` from events it delivers to SQS; EventBridge always sends it.
                event.setdefault("account", ACCOUNT)
                events.append(event)
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        return events

    def run(self, until: Callable[[], bool] | None = None, limit: timedelta = timedelta(days=30)) -> None:
        """Run until `until()` holds, or until nothing is left to do and one quiet period has passed."""
        deadline = self.clock.now() + limit
        self.pump()
        idle_since: datetime | None = None
        while until is None or not until():
            if self.timers.has_work():
                idle_since = None
            elif idle_since is None:
                idle_since = self.clock.now()
            due = self.timers.next_due()
            if due is None or due > deadline:
                return
            if idle_since is not None and due - idle_since > self.quiet_period:
                return
            self.timers.fire_next()
            self.pump()

    def advance(self, duration: timedelta) -> None:
        """Let `duration` of emulated time pass, firing everything due in it."""
        target = self.clock.now() + duration
        self.pump()
        while (due := self.timers.next_due()) is not None and due <= target:
            self.timers.fire_next()
            self.pump()
        self.clock.advance_to(target)

    # ---- schedules and the observer tap ------------------------------------------------------------

    def _schedule(self, rule: RulePlan, period: timedelta) -> None:
        def fire() -> None:
            event = json.loads(rule.input) if rule.input is not None else {
                "version": "0", "id": self.new_id(), "detail-type": "Scheduled Event", "source": "aws.events",
                "account": ACCOUNT, "time": self.clock.now().strftime("%Y-%m-%dT%H:%M:%SZ"), "region": REGION,
                "resources": [self.stack.template.physical(rule.logical_id).attributes["Arn"]], "detail": {},
            }  # fmt: skip
            if not self.schedules_held:
                self.runtime.invoke_async(rule.function, event)
            self.timers.after(period, f"{rule.logical_id}: schedule", fire, background=True)

        self.timers.after(period, f"{rule.logical_id}: schedule", fire, background=True)

    # ---- AWS call faults -----------------------------------------------------------------------------

    _CALL_HOOKS: tuple[tuple[str, Stage], ...] = (("before-call", "before"), ("after-call", "after"))

    def _install_call_faults(self) -> None:
        """The handlers' clients come from boto3's default session (gtchain.adapters.clients); the emulator's
        come from `self.session`. Hooks on the former's calls ask the fault knob, only while the runtime
        invokes a handler, so the emulator's own bookkeeping never fails. Cached clients are dropped so the
        handlers' next ones carry the hooks."""
        from gtchain.adapters import forget_clients

        session = boto3.DEFAULT_SESSION or boto3.Session()
        boto3.DEFAULT_SESSION = self._hooked_session = session
        for event_name, stage in self._CALL_HOOKS:
            unique_id = f"local-faults-{event_name}"
            session.events.unregister(event_name, unique_id=unique_id)  # a cloud that never exited left its own
            session.events.register(event_name, self._call_hook(stage), unique_id=unique_id)
        forget_clients()

    def _uninstall_call_faults(self) -> None:
        from gtchain.adapters import forget_clients

        for event_name, _ in self._CALL_HOOKS:
            self._hooked_session.events.unregister(event_name, unique_id=f"local-faults-{event_name}")
        forget_clients()

    def _call_hook(self, stage: Stage) -> Callable[..., None]:
        def hook(model: Any, http_response: Any = None, **_: Any) -> None:
            invocation = self.runtime.current
            if invocation is None:
                return
            if stage == "after" and (http_response is None or http_response.status_code >= 300):
                return  # the call failed on its own: nothing took effect to crash after
            error = self.faults.aws_call_fault(invocation.function, invocation.request_id, invocation.attempt,
                                               model.service_model.service_name, model.name, stage)  # fmt: skip
            if error is not None:
                raise error

        return hook

    def _tap_service_events(self) -> str:
        """An extra rule (not in the template) that copies gtchain's own events to the observer."""
        sqs = self.session.client("sqs", region_name=REGION)
        url = sqs.create_queue(QueueName=OBSERVER_RULE)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events = self.session.client("events", region_name=REGION)
        events.put_rule(Name=OBSERVER_RULE, EventPattern=json.dumps({"source": ["gtchain"]}))
        events.put_targets(Rule=OBSERVER_RULE, Targets=[{"Id": "observer", "Arn": arn}])
        return str(url)


def _reset_service_caches() -> None:
    """gtchain caches boto3 clients and its ports per container; a new emulated AWS needs new ones."""
    from gtchain.adapters import aws_ports, clients

    clients.reset()
    aws_ports.cache_clear()
