"""What the chain table remembers: a chain, its manifests and its rounds."""

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from gtchain.domain.names import Role
from gtchain.domain.spec import ChainSpec, ChainState


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
    role: Role = "round"
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


class ClassAccuracy(_Record):
    """An audit's accuracy over the audited objects whose machine label shows this class."""

    name: str
    audited: int
    agreed: int
    accuracy: Decimal
    lower: Decimal  # the 95% Wilson interval
    upper: Decimal


class AuditResult(_Record):
    """What an audit measured (domain.audit.score): agreed / audited, with its 95% Wilson interval."""

    audited: int  # sampled objects a human judged (objects whose audit task failed are not counted)
    agreed: int
    accuracy: Decimal | None  # None when nothing could be judged
    lower: Decimal | None
    upper: Decimal | None
    classes: list[ClassAccuracy] = Field(default_factory=list)  # classes with at least 10 audited objects
    below_bar: bool = False  # the interval's lower bound is below the audit's min_accuracy
    scored_at: str = Field(default_factory=utc_now)


class AuditJob(JobRecord):
    """The audit of a completed round's machine labels: a sample of them, checked by humans (domain.audit)."""

    role: Role = "audit"
    kind: Literal["verification", "relabel"]
    audited_job: str  # the round's job whose machine labels are checked
    label_attribute: str  # the audit job's LabelAttributeName (the chain's + "-audit")
    objects: int  # the sample
    machine_labeled: int  # the machine-labeled objects it was drawn from
    input_uri: str  # the sample's manifest: the audited job's output lines, one per sampled object
    min_accuracy: Decimal | None = None  # the bar, from the audited round's spec snapshot
    scored: bool = False  # the result is in (a completed audit is scored once its output is readable)
    result: AuditResult | None = None


class SkipSource(_Record):
    """Objects of a round skipped because another round labeled (or will label) them."""

    round: int
    objects: int


class RoundRecord(_Record):
    chain_id: str
    number: int
    manifest_name: str
    manifest_version: str
    part: int
    parts: int
    objects: int  # what the round's job labels: the part less the objects skipped when it was claimed
    part_objects: int  # the part of the dropped manifest, as queued
    input_uri: str  # the part
    digests_uri: str  # the part's source digests: the chain's digest index (domain.digest_index) that queued it
    # The earlier rounds that held some of the part's objects when it was queued (None: not known, look at all):
    # only those can make it skip objects when it starts.
    overlaps: list[int] | None = None
    status: RoundStatus = RoundStatus.QUEUED
    attempt: int = 0
    job: JobRecord | None = None
    baseline: JobRecord | None = None
    audit: AuditJob | None = None  # set once the round completed with machine labels and chain.json asks for it
    history: list[JobRecord] = Field(default_factory=list)  # jobs of earlier attempts (they were paid too)
    spec: ChainSpec | None = None  # snapshot taken when the round starts; later chain.json edits don't touch it
    warnings: list[str] = Field(default_factory=list)
    job_input_uri: str | None = None  # the manifest the jobs run on; set when the round is claimed
    job_digests_uri: str | None = None  # the digests of what the jobs label, when less than the part
    skipped_objects: int = 0
    skipped_uri: str | None = None  # JSON Lines: each skipped object and the round that labels it
    skipped_from: list[SkipSource] = Field(default_factory=list)
    worst_case_usd: Decimal | None = None  # the jobs' worst case (baseline included) when claimed
    created_at: str = Field(default_factory=utc_now)

    def job_for(self, role: Role) -> JobRecord | None:
        return {"round": self.job, "baseline": self.baseline, "audit": self.audit}[role]

    def spec_snapshot(self) -> ChainSpec:
        """The spec the round was claimed with: every claimed round has one."""
        if self.spec is None:
            raise ValueError(f"chain {self.chain_id} round {self.number} has no spec snapshot: it was never claimed")
        return self.spec

    def jobs_by_role(self) -> list[tuple[Role, JobRecord]]:
        """The current attempt's jobs: the round's own, its baseline, then the audit of its machine labels."""
        pairs: list[tuple[Role, JobRecord | None]] = [
            ("round", self.job), ("baseline", self.baseline), ("audit", self.audit),
        ]  # fmt: skip
        return [(role, job) for role, job in pairs if job is not None]

    def all_jobs(self) -> list[JobRecord]:
        """Every labeling job this round ran or runs, earlier attempts included; not the audit (its own role:
        it labels a sample of this round's objects again, so it says nothing of what the round cost to label)."""
        return [*self.history, *(j for j in (self.job, self.baseline) if j is not None)]


class ManifestRecord(_Record):
    chain_id: str
    name: str
    version: str
    lines: int
    rounds: list[int]
    status: str = "queued"  # queued | completed
    results_uri: str | None = None
    unlabeled: int = 0  # results lines without a label (objects Ground Truth could not label)
    completed_at: str | None = None
    announced: bool = False  # Manifest Completed published (the reconciler publishes it if a crash intervened)
    created_at: str = Field(default_factory=utc_now)


class ChainRecord(_Record):
    chain_id: str
    incarnation: str
    spec: ChainSpec
    spec_version: str
    state: ChainState = ChainState.ACTIVE
    pause_reason: str | None = None
    # A pause or stop written and not yet announced (Chain Paused, the notification): written with the state, cleared
    # once said, so a retry or the reconciler says what a failed publish did not.
    unannounced: bool = False
    active_round: int = 0  # 0: no round is starting or running
    next_round: int = 1
    latest_model_arn: str | None = None
    latest_model_round: int | None = None
    task_config: list[str] = Field(default_factory=list)  # spec's worker template and label categories, written
    digest_index: str | None = None  # the chain's digest index (domain.digest_index) as of its last manifest
    version: int = 0  # raised by every transition, in the same write: status.json is rendered per version
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
    digests_uri: str = ""  # the chain's digest index that queues it (service.dedupe.index_preparer), when queued
    overlaps: list[int] | None = None
    warnings: list[str] = Field(default_factory=list)


class Transition(_Record):
    """One change of a chain's state, kept as its own table item (status.json shows the latest)."""

    at: str = Field(default_factory=utc_now)
    event: str
    round: int | None = None
    role: Role | None = None
    job: str | None = None
    state: str | None = None
    detail: str | None = None


@dataclass(frozen=True)
class ChainSnapshot:
    """Everything status.json is derived from, read at one table version."""

    chain: ChainRecord
    rounds: list[RoundRecord]
    manifests: list[ManifestRecord]
    transitions: list[Transition]  # newest first


@dataclass(frozen=True)
class Rejection:
    """An upload under a chain's prefix that was rejected (its error report is in S3): status.json shows the
    rejection of each key's latest version until a later upload of that key replaces it."""

    key: str
    version: str  # the rejected object version (the ObjectInfo version)
    rejected_at: str
    reason: str  # "<n> error(s); first: line 3, field x: ..."
    report_key: str  # the error report, in the data bucket
    errors: int
