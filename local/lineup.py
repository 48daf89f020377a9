"""Lining a sample event up with the local stack, for `python -m local.invoke` (one function, one event).

The samples in events/ are shaped like what AWS delivers, but name things that do not exist locally: the bucket
`gtchain-data-example`, objects nobody uploaded, job `gtchain-birds-a1b2c3-r1-a1` (`a1b2c3` is a chain
incarnation, random per chain). `line_up` rewrites an event so that it names the local stack's things, creating
them first when they are missing ("staging"), so that each sample does against a fresh endpoint what its name says:

- every event: `account` and `region` become the endpoint's, `time` its emulated now;
- S3 `Object Created` (s3-object-created-*.json): the bucket becomes the local data bucket. If the object is
  not there (under the key as sent, or URL-decoded: `batch+one.manifest` is `batch one.manifest`), it is staged:
  a chain.json is the demo's chain spec; an inbox manifest is a 20-object manifest (2 rounds of 10: small, so a
  staged job finishes within about 15 emulated minutes) after its chain's chain.json, which is uploaded
  normally and applied first if missing. The staged object's own S3 event is suppressed and the reconciler held,
  so the function invoked sees the object's creation once: from the sample. `size`, `etag` and `version-id`
  become the object's;
- `SageMaker Ground Truth Labeling Job State Change`: the job becomes the local job of the same chain, round,
  role and attempt (the sample's name with the local incarnation). If there is none, the chain is started with
  the staged manifest. If the job has not finished, the endpoint is told to lose Ground Truth's own state-change
  event for it (as a fault would) and to hold the reconciler, and, for a `Failed` sample, to fail the job after
  its current iteration; then `line_up` waits until the job has ended, so the sample is the event that reports it;
- gtchain `Round Completed`: `jobName` and `jobArn` become the local job's as above; a missing job is staged the
  same way and awaited until Completed, its own events flowing as usual;
- `Scheduled Event`: the rule becomes the local stack's schedule rule of the function.

Anything else is delivered as written. Staging waits are bounded: 60 s plus one emulated hour at the endpoint's
speed (under 2 s at the default 2400x).
"""

import json
import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_plus

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from local.dataset import chain_spec, manifest

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sagemaker import SageMakerClient

STAGED_OBJECTS = 20
STAGED_MANIFEST = "batch one.manifest"
TERMINAL = ("Completed", "Failed", "Stopped")
STATE_CHANGE = "SageMaker Ground Truth Labeling Job State Change"
_JOB_NAME = re.compile(
    r"^(?P<prefix>[a-z][a-z0-9]{0,11})-(?P<chain>.+)-(?P<incarnation>[0-9a-f]{6})-(?P<tail>r\d+b?-a\d+)$"
)
_CHAIN_KEY = re.compile(r"^chains/(?P<chain>[^/]+)/")
_POLL_SECONDS = 0.1

Say = Callable[[str], None]


class EndpointUnavailableError(Exception):
    """The endpoint does not answer."""


class StagingError(Exception):
    """A sample could not be lined up (a wait ran out, or the endpoint refused a knob)."""


@dataclass
class Local:
    """A client of the running endpoint: its AWS APIs (fake credentials) and its /_gtchain/ knobs."""

    config: dict[str, Any]
    session: boto3.Session = field(init=False)

    def __post_init__(self) -> None:
        self.session = boto3.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", aws_session_token="testing",  # noqa: S106
            region_name=self.region,
        )  # fmt: skip

    @property
    def endpoint(self) -> str:
        return str(self.config["endpoint"]).rstrip("/")

    @property
    def region(self) -> str:
        return str(self.config["region"])

    @property
    def bucket(self) -> str:
        return str(self.config["dataBucket"])

    def _client(self, service: str) -> Any:
        config = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=5, read_timeout=60)
        return self.session.client(service, endpoint_url=self.endpoint, region_name=self.region, config=config)  # type: ignore[call-overload]

    @property
    def s3(self) -> "S3Client":
        client: S3Client = self._client("s3")
        return client

    @property
    def sagemaker(self) -> "SageMakerClient":
        client: SageMakerClient = self._client("sagemaker")
        return client

    def _call(self, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(  # noqa: S310 (the endpoint's URL, http on loopback)
            f"{self.endpoint}/_gtchain/{path}", data=data, method="GET" if body is None else "POST",
            headers={"Content-Type": "application/json"},
        )  # fmt: skip
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                answer: dict[str, Any] = json.loads(response.read())
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")
            raise StagingError(f"the endpoint refused {path}: {exc.code} {detail}") from None
        except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
            reason = getattr(exc, "reason", exc)
            raise EndpointUnavailableError(f"no local endpoint answers at {self.endpoint} ({reason})") from None
        return answer

    def status(self) -> dict[str, Any]:
        return self._call("status")

    def control(self, **fields: Any) -> dict[str, Any]:
        return self._call("control", fields)

    def now(self) -> datetime:
        return datetime.fromisoformat(str(self.status()["now"]))

    def wait(self, what: str, done: Callable[[], bool], emulated: timedelta = timedelta(hours=1)) -> None:
        """Poll `done` until it holds; give up after 60 s plus `emulated` at the endpoint's speed."""
        speed = float(self.status().get("speed", 1.0))
        deadline = time.monotonic() + 60 + emulated.total_seconds() / speed
        while not done():
            if time.monotonic() > deadline:
                raise StagingError(f"timed out waiting for {what}")
            time.sleep(_POLL_SECONDS)

    def settled(self) -> bool:
        """Every event the endpoint has received has been delivered and handled."""
        return int(self.status()["pendingEvents"]) == 0

    def head(self, key: str) -> dict[str, Any] | None:
        try:
            return dict(self.s3.head_object(Bucket=self.bucket, Key=key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise

    def put(self, key: str, body: str) -> None:
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=body.encode())

    def jobs(self) -> list[dict[str, Any]]:
        paginator = self.sagemaker.get_paginator("list_labeling_jobs")
        pages = paginator.paginate(SortBy="CreationTime", SortOrder="Ascending")
        return [dict(summary) for page in pages for summary in page["LabelingJobSummaryList"]]


@dataclass
class LinedUp:
    event: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    held: bool = False  # the endpoint holds its schedules until the caller releases them


class _Lineup:
    def __init__(self, local: Local, event: dict[str, Any], source_name: str, schedule_arn: str | None) -> None:
        self.local = local
        self.event = json.loads(json.dumps(event))
        self.source_name = source_name
        self.schedule_arn = schedule_arn
        self.result = LinedUp(self.event)

    def note(self, text: str) -> None:
        self.result.notes.append(text)

    def hold_schedules(self, emulated: timedelta = timedelta(hours=2)) -> None:
        speed = float(self.local.status().get("speed", 1.0))
        self.local.control(hold="schedules", holdSeconds=120 + emulated.total_seconds() / speed)
        self.result.held = True

    # ---- the kinds of event ------------------------------------------------------------------------

    def run(self) -> LinedUp:
        event = self.event
        for name in ("account", "region"):
            if name in event and event[name] != self.local.config[name]:
                self.note(f"{name} {event[name]} -> {self.local.config[name]}")
                event[name] = self.local.config[name]
        source, detail_type = event.get("source"), event.get("detail-type")
        if source == "aws.s3" and detail_type == "Object Created":
            self.object_created()
        elif source == "aws.sagemaker" and detail_type == STATE_CHANGE:
            self.job_state_change()
        elif source == "gtchain" and detail_type == "Round Completed":
            self.round_completed()
        elif detail_type == "Scheduled Event" and self.schedule_arn is not None:
            if event.get("resources") != [self.schedule_arn]:
                self.note(f"schedule rule -> {self.schedule_arn.rsplit('/', 1)[-1]}")
            event["resources"] = [self.schedule_arn]
        else:
            self.note("not a sample kind the local stack lines up: delivered as written")
            return self.result
        if "time" in event:
            event["time"] = self.local.now().strftime("%Y-%m-%dT%H:%M:%SZ")
        return self.result

    def object_created(self) -> None:
        detail = self.event.setdefault("detail", {})
        bucket = self.local.bucket
        if detail.get("bucket", {}).get("name") != bucket:
            self.note(f"bucket {detail.get('bucket', {}).get('name')} -> {bucket} (the local data bucket)")
        detail.setdefault("bucket", {})["name"] = bucket
        self.event["resources"] = [f"arn:aws:s3:::{bucket}"]
        obj = detail.setdefault("object", {})
        key = str(obj.get("key", ""))
        found = next((k for k in dict.fromkeys((key, unquote_plus(key))) if self.local.head(k) is not None), None)
        if found is None:
            found = self.stage_object(unquote_plus(key))
        if found is None:
            self.note(f"s3://{bucket}/{unquote_plus(key)} does not exist and is not a chain object: not staged")
            return
        head = self.local.head(found)
        assert head is not None
        obj["size"] = int(head["ContentLength"])
        obj["etag"] = str(head["ETag"]).strip('"')
        if head.get("VersionId"):
            obj["version-id"] = str(head["VersionId"])

    def stage_object(self, key: str) -> str | None:
        match = _CHAIN_KEY.match(key)
        if match is None:
            return None
        chain_id = match.group("chain")
        if key == f"chains/{chain_id}/chain.json":
            body, what = json.dumps(chain_spec(), indent=2), "the demo's chain.json"
        elif key.startswith(f"chains/{chain_id}/inbox/") and key.endswith(".manifest") and key.count("/") == 3:
            self.ensure_chain(chain_id)
            body, what = self.staged_manifest(), f"a {STAGED_OBJECTS}-object manifest"
        else:
            return None
        self.hold_schedules()  # or the reconciler would pick up the object whose event is suppressed
        self.local.control(dropS3Event=key)
        self.local.put(key, body)
        self.note(f"staged s3://{self.local.bucket}/{key} ({what}); its own S3 event suppressed")
        return key

    def staged_manifest(self) -> str:
        return manifest("bounding-box", self.local.bucket, STAGED_OBJECTS, seed=1, name="batch-one")

    def ensure_chain(self, chain_id: str) -> None:
        """Upload the demo's chain.json for a chain that has none, and wait until the endpoint has applied it."""
        key = f"chains/{chain_id}/chain.json"
        if self.local.head(key) is not None:
            return
        self.local.put(key, json.dumps(chain_spec(), indent=2))
        self.local.wait(f"{key} to be applied", self.local.settled)
        self.note(f"uploaded s3://{self.local.bucket}/{key} (the demo's chain.json), applied by the endpoint")

    def local_job(self, sample: str) -> dict[str, Any] | None:
        """The newest local job that is the sample's job: the same name, or the same but for the incarnation."""
        match = _JOB_NAME.match(sample)
        wanted = None
        if match is not None:
            prefix, chain, tail = (re.escape(match.group(g)) for g in ("prefix", "chain", "tail"))
            wanted = re.compile(rf"^{prefix}-{chain}-[0-9a-f]{{6}}-{tail}$")
        found = [
            job for job in self.local.jobs()
            if job["LabelingJobName"] == sample or (wanted is not None and wanted.match(job["LabelingJobName"]))
        ]  # fmt: skip
        return found[-1] if found else None

    def stage_job(self, sample: str) -> dict[str, Any] | None:
        """Start the sample's chain with the staged manifest, so that its round 1 job exists; None if the sample's
        job is not a round 1 job (a fresh chain makes no other)."""
        match = _JOB_NAME.match(sample)
        if match is None or not _stageable(sample):
            return None
        chain_id = match.group("chain")
        self.ensure_chain(chain_id)
        key = f"chains/{chain_id}/inbox/{STAGED_MANIFEST}"
        if self.local.head(key) is None:
            self.local.put(key, self.staged_manifest())
            self.note(f"uploaded s3://{self.local.bucket}/{key} ({STAGED_OBJECTS} objects): round 1 starts")
        found: list[dict[str, Any]] = []

        def started() -> bool:
            found[:] = [job] if (job := self.local_job(sample)) else []
            return bool(found)

        self.local.wait(f"a local job like {sample} to start", started)
        return found[0]

    def describe(self, name: str) -> dict[str, Any]:
        return dict(self.local.sagemaker.describe_labeling_job(LabelingJobName=name))

    def wait_until_ended(self, name: str) -> dict[str, Any]:
        self.local.wait(f"job {name} to end", lambda: self.describe(name)["LabelingJobStatus"] in TERMINAL)
        return self.describe(name)

    def job_state_change(self) -> None:
        resources = self.event.get("resources") or [""]
        sample = str(resources[0]).partition(":labeling-job/")[2]
        wanted_status = str(self.event.get("detail", {}).get("LabelingJobStatus", "Completed"))
        job = self.local_job(sample)
        if job is None:
            if not _stageable(sample):
                self.note(f"no local job like {sample}, and only a round 1 job can be staged: delivered as written")
                return
            # Set before the job exists: its event is lost and the reconciler waits, whenever it ends.
            self.prepare_ending(_glob(sample), wanted_status)
            job = self.stage_job(sample)
            assert job is not None
        name = str(job["LabelingJobName"])
        status = self.describe(name)["LabelingJobStatus"]
        if status not in TERMINAL:
            if not self.result.held:
                self.prepare_ending(name, wanted_status)
            if wanted_status == "Stopped":
                self.local.sagemaker.stop_labeling_job(LabelingJobName=name)
            self.note(f"{name} is {status}: Ground Truth's own {wanted_status} event for it will be lost; "
                      "waiting for the job to end")  # fmt: skip
            status = self.wait_until_ended(name)["LabelingJobStatus"]
        if status != wanted_status:
            self.note(f"{name} ended {status}, not {wanted_status} (the function reads the job's status itself)")
        self.note(f"job {sample} -> {name} ({status})")
        arn = str(job["LabelingJobArn"])
        self.event["resources"] = [arn]

    def prepare_ending(self, job: str, status: str) -> None:
        """The job's next state-change event is lost and the reconciler held; for a Failed sample the job fails
        after its current iteration. `job` may be a glob, set before the job exists."""
        self.hold_schedules()
        self.local.control(dropJobEvent=job)
        if status == "Failed":
            reason = f"ClientError: failed by the local endpoint for the sample event {self.source_name}"
            self.local.control(failJob={"job": job, "reason": reason, "afterIterations": 1})

    def round_completed(self) -> None:
        detail = self.event.setdefault("detail", {})
        sample = str(detail.get("jobName", ""))
        job = self.local_job(sample) or self.stage_job(sample)
        if job is None:
            self.note(f"no local job like {sample}, and only a round 1 job can be staged: delivered as written")
            return
        name = str(job["LabelingJobName"])
        if self.describe(name)["LabelingJobStatus"] not in TERMINAL:
            self.note(f"waiting for {name} to complete")
            self.wait_until_ended(name)
            self.local.wait("the endpoint to handle the job's events", self.local.settled)
        detail["jobName"], detail["jobArn"] = name, str(job["LabelingJobArn"])
        self.note(f"job {sample} -> {name} ({self.describe(name)['LabelingJobStatus']})")


def _stageable(sample: str) -> bool:
    """Whether staging can make the sample's job: a fresh chain starts with its round 1's first attempt only."""
    match = _JOB_NAME.match(sample)
    return match is not None and match.group("tail") == "r1-a1"


def _glob(sample: str) -> str:
    """The fault glob for the local jobs that are the sample's job (any incarnation)."""
    match = _JOB_NAME.match(sample)
    if match is None:
        return sample
    return f"{match.group('prefix')}-{match.group('chain')}-*-{match.group('tail')}"


def line_up(local: Local, event: dict[str, Any], source_name: str, schedule_arn: str | None = None) -> LinedUp:
    """The event rewritten (and its objects or job staged) for the local stack; see the module docstring."""
    return _Lineup(local, event, source_name, schedule_arn).run()
