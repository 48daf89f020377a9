"""Fault knobs: what can go wrong on AWS, on demand. Jobs are chosen by a glob over their names
(`*-r1-a1`: round 1's first attempt; `*-r2b-*`: round 2's baseline), S3 objects by a glob over keys."""

from dataclasses import dataclass, field
from datetime import timedelta
from fnmatch import fnmatchcase


@dataclass
class _Rule:
    pattern: str
    remaining: int  # how many more times it applies; -1: always


@dataclass
class Faults:
    _duplicates: list[tuple[_Rule, int]] = field(default_factory=list)
    _drops: list[_Rule] = field(default_factory=list)
    _failures: list[tuple[_Rule, int, str]] = field(default_factory=list)
    _delays: list[tuple[_Rule, timedelta]] = field(default_factory=list)
    _s3_drops: list[_Rule] = field(default_factory=list)

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
