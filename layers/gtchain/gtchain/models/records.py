"""What the chain table remembers: a chain, its manifests and its rounds."""

from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from gtchain.models.spec import ChainSpec, ChainState


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class RoundStatus(StrEnum):
    QUEUED = "queued"
    STARTING = "starting"  # claimed: the job is being created (the reconciler finishes this if we crash)
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    STOPPED = "stopped"


TERMINAL_JOB_STATUSES = {
    "Completed": RoundStatus.COMPLETED,
    "Failed": RoundStatus.FAILED,
    "Stopped": RoundStatus.STOPPED,
}


class _Record(BaseModel):
    model_config = ConfigDict(extra="ignore")


class LabelCounts(_Record):
    total_labeled: int = 0
    human_labeled: int = 0
    machine_labeled: int = 0
    failed: int = 0
    unlabeled: int = 0

    @classmethod
    def from_api(cls, counters: dict[str, Any]) -> "LabelCounts":
        return cls(
            total_labeled=counters.get("TotalLabeled", 0),
            human_labeled=counters.get("HumanLabeled", 0),
            machine_labeled=counters.get("MachineLabeled", 0),
            failed=counters.get("FailedNonRetryableError", 0),
            unlabeled=counters.get("Unlabeled", 0),
        )


class JobRecord(_Record):
    """One labeling job of a round: the round's own job or its baseline."""

    name: str
    status: RoundStatus = RoundStatus.STARTING
    arn: str | None = None
    initial_model_arn: str | None = None
    final_model_arn: str | None = None
    counters: LabelCounts | None = None
    cost_usd: Decimal | None = None  # None while running, or when the worker price is unknown
    known_cost_usd: Decimal | None = None
    failure_reason: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    output_uri: str | None = None
    note: str | None = None  # why the model carried forward is not this job's (when it trained none)


class RoundRecord(_Record):
    chain_id: str
    number: int
    manifest_name: str
    manifest_version: str
    part: int
    parts: int
    objects: int
    input_uri: str
    status: RoundStatus = RoundStatus.QUEUED
    attempt: int = 0
    job: JobRecord | None = None
    baseline: JobRecord | None = None
    spec: ChainSpec | None = None  # snapshot taken when the round starts; later chain.json edits don't touch it
    warnings: list[str] = Field(default_factory=list)
    skipped_objects: int = 0
    created_at: str = Field(default_factory=utc_now)

    def job_for(self, role: str) -> JobRecord | None:
        return self.baseline if role == "baseline" else self.job


class ManifestRecord(_Record):
    chain_id: str
    name: str
    version: str
    lines: int
    rounds: list[int]
    status: str = "queued"  # queued | completed
    results_uri: str | None = None
    created_at: str = Field(default_factory=utc_now)


class ChainRecord(_Record):
    chain_id: str
    incarnation: str
    spec: ChainSpec
    spec_version: str
    state: ChainState = ChainState.ACTIVE
    pause_reason: str | None = None
    active_round: int = 0  # 0: no round is starting or running
    next_round: int = 1
    latest_model_arn: str | None = None
    latest_model_round: int | None = None
    created_at: str = Field(default_factory=utc_now)
    updated_at: str = Field(default_factory=utc_now)


class RoundDraft(_Record):
    """A round about to be queued: numbers are assigned atomically when it is."""

    manifest_name: str
    manifest_version: str
    part: int
    parts: int
    objects: int
    input_uri: str
    warnings: list[str] = Field(default_factory=list)
