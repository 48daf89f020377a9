"""Fault knobs: what can go wrong on AWS, on demand. Jobs are chosen by a glob over their names
(`*-r1-a1`: round 1's first attempt; `*-r2b-*`: round 2's baseline), S3 objects by a glob over keys.

Besides what Ground Truth and S3 do, two knobs act on gtchain's own side: events that reach a function late
or more than once (`delay_event`, `duplicate_event`: EventBridge delivers at least once, in no set order), and
AWS calls made by a handler that fail (`aws_calls`): before the call is sent (throttling, 5xx), or after it
took effect (a 5xx whose write happened: the handler sees an error although the change was made). Every
injected call fault is recorded in `injected`, so a test can tell what it caused from what it did not."""

import random
from dataclasses import dataclass, field
from datetime import timedelta
from fnmatch import fnmatchcase
from typing import Any, Literal

from botocore.exceptions import ClientError

Stage = Literal["before", "after"]
# What a failing call raises: throttling and 5xx before the call is sent; after it took effect, a 5xx (AWS
# documents that a 500 may come back for a request that was applied).
_BEFORE_CODES = {
    "s3": (("SlowDown", 503), ("InternalError", 500), ("ServiceUnavailable", 503)),
    "*": (("ThrottlingException", 400), ("InternalFailure", 500), ("ServiceUnavailable", 503)),
}
_AFTER_CODES = {"s3": (("InternalError", 500),), "*": (("InternalFailure", 500), ("ServiceUnavailable", 503))}
INJECTED_MARK = "injected by local.faults"


@dataclass
class _Rule:
    pattern: str
    remaining: int  # how many more times it applies; -1: always


@dataclass(frozen=True)
class InjectedFault:
    """One AWS call a handler made that the `aws_calls` knob failed."""

    function: str  # the template's logical id, e.g. StartFunction
    request_id: str  # the invocation: one attempt of one event
    attempt: int
    operation: str  # service and operation, e.g. "dynamodb.TransactWriteItems"
    stage: Stage  # before: the call was never sent; after: it took effect, then the handler saw an error
    code: str


@dataclass
class _CallRule:
    probability: float
    rng: random.Random
    function: str
    operation: str
    stages: tuple[Stage, ...]
    remaining: int  # -1: no limit


@dataclass
class _DeliveryRule:
    rule: _Rule
    delays: tuple[timedelta, ...]  # one per delivery


def event_subject(event: dict[str, Any]) -> str:
    """What a delivery fault matches an event by: a job's name for its state changes, an object's key for
    its S3 events, otherwise `<detail-type>:<jobName>` (gtchain's own round events) or the detail-type."""
    detail = event.get("detail") or {}
    if event.get("source") == "aws.sagemaker":
        return str((event.get("resources") or [""])[0]).rsplit("/", 1)[-1]
    if event.get("source") == "aws.s3":
        return str((detail.get("object") or {}).get("key", ""))
    job = detail.get("jobName") if isinstance(detail, dict) else None
    return f"{event.get('detail-type', '')}:{job}" if job else str(event.get("detail-type", ""))


@dataclass
class Faults:
    _duplicates: list[tuple[_Rule, int]] = field(default_factory=list)
    _drops: list[_Rule] = field(default_factory=list)
    _failures: list[tuple[_Rule, int, str]] = field(default_factory=list)
    _delays: list[tuple[_Rule, timedelta]] = field(default_factory=list)
    _s3_drops: list[_Rule] = field(default_factory=list)
    _deliveries: list[_DeliveryRule] = field(default_factory=list)
    _calls: list[_CallRule] = field(default_factory=list)
    injected: list[InjectedFault] = field(default_factory=list)  # every AWS call fault, in order

    def duplicate_job_event(self, job: str = "*", copies: int = 2, times: int = 1) -> None:
        """The next `times` state-change events of matching jobs are delivered `copies` times."""
        self._duplicates.append((_Rule(job, times), copies))

    def drop_job_event(self, job: str = "*", times: int = 1) -> None:
        """The next `times` state-change events of matching jobs never reach the bus."""
        self._drops.append(_Rule(job, times))

    def fail_job(self, job: str, reason: str, after_iterations: int = 1) -> None:
        """Matching jobs fail (once each rule) after this many iterations, with this FailureReason."""
        self._failures.append((_Rule(job, 1), after_iterations, reason))

    def delay_output(self, job: str, delay: timedelta) -> None:
        """Matching jobs' output files appear in S3 this long after the job is Completed."""
        self._delays.append((_Rule(job, -1), delay))

    def drop_s3_event(self, key: str, times: int = 1) -> None:
        """Object Created events for matching keys are lost (the write itself succeeds)."""
        self._s3_drops.append(_Rule(key, times))

    def delay_event(self, subject: str, delay: timedelta, times: int = 1) -> None:
        """The next `times` events about matching subjects (see `event_subject`: a job's name, an object's key)
        reach their function `delay` late, so after events sent later."""
        self._deliveries.append(_DeliveryRule(_Rule(subject, times), (delay,)))

    def duplicate_event(self, subject: str, copies: int = 2, times: int = 1, apart: timedelta = timedelta(0)) -> None:
        """The next `times` events about matching subjects reach their function `copies` times, `apart` from
        one another (0: at once)."""
        self._deliveries.append(_DeliveryRule(_Rule(subject, times), tuple(apart * n for n in range(copies))))

    def aws_calls(
        self,
        probability: float = 0.02,
        seed: int = 0,
        *,
        function: str = "*",
        operation: str = "*",
        stages: tuple[Stage, ...] = ("before", "after"),
        limit: int = -1,
    ) -> None:
        """Each AWS call a handler makes (while the runtime invokes it: never the emulator's own calls) fails
        with this probability, drawn from a generator seeded with `seed`: "before" raises a throttling or 5xx
        ClientError instead of sending the call; "after" lets the call take effect, then raises a 5xx. Matching
        is by the function's logical id and "<service>.<Operation>" (globs); `limit` caps the faults (-1: none)."""
        self._calls.append(_CallRule(probability, random.Random(seed), function, operation, stages, limit))

    def deliveries(self, event: dict[str, Any]) -> tuple[timedelta, ...]:
        """When to hand an event to its function: () lost, (0,) now, more entries for more copies."""
        subject = event_subject(event)
        for rule in self._deliveries:
            if self._take(rule.rule, subject):
                return rule.delays
        return (timedelta(0),)

    def aws_call_fault(
        self, function: str, request_id: str, attempt: int, service: str, operation: str, stage: Stage
    ) -> ClientError | None:
        """The error a handler's AWS call raises at this stage, if a fault is drawn (and recorded) for it."""
        name = f"{service}.{operation}"
        for rule in self._calls:
            if rule.remaining == 0 or stage not in rule.stages:
                continue
            if not (fnmatchcase(function, rule.function) and fnmatchcase(name, rule.operation)):
                continue
            if rule.rng.random() >= rule.probability:
                continue
            if rule.remaining > 0:
                rule.remaining -= 1
            codes = _BEFORE_CODES if stage == "before" else _AFTER_CODES
            code, status = rule.rng.choice(codes.get(service, codes["*"]))
            self.injected.append(InjectedFault(function, request_id, attempt, name, stage, code))
            when = "instead of sending the call" if stage == "before" else "after the call took effect"
            response: Any = {
                "Error": {"Code": code, "Message": f"{code} ({INJECTED_MARK}, {when})"},
                "ResponseMetadata": {"HTTPStatusCode": status, "RequestId": request_id},
            }
            return ClientError(response, operation)
        return None

    @staticmethod
    def _take(rule: _Rule, name: str) -> bool:
        if rule.remaining == 0 or not fnmatchcase(name, rule.pattern):
            return False
        if rule.remaining > 0:
            rule.remaining -= 1
        return True

    def job_event_copies(self, job: str) -> int:
        """How many copies of a job's state-change event to deliver: 0 (lost), 1, or more."""
        if any(self._take(rule, job) for rule in self._drops):
            return 0
        for rule, copies in self._duplicates:
            if self._take(rule, job):
                return copies
        return 1

    def failure(self, job: str, completed_iterations: int) -> str | None:
        for rule, after, reason in self._failures:
            if completed_iterations >= after and self._take(rule, job):
                return reason
        return None

    def output_delay(self, job: str) -> timedelta:
        return max((delay for rule, delay in self._delays if fnmatchcase(job, rule.pattern)), default=timedelta(0))

    def s3_event_dropped(self, key: str) -> bool:
        return any(self._take(rule, key) for rule in self._s3_drops)
