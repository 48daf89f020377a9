"""What the logic needs from the outside world. Adapters implement these with boto3; tests may swap them."""

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import IO, Any, Protocol

from gtchain.config import Settings
from gtchain.domain.labeling_job import LabelingJob
from gtchain.domain.names import Role
from gtchain.domain.records import (
    AuditJob,
    ChainRecord,
    ChainSnapshot,
    JobRecord,
    LabelCounts,
    ManifestRecord,
    RoundDraft,
    RoundRecord,
)
from gtchain.domain.records import Rejection as Rejection  # re-exported: callers name it as a port's type
from gtchain.domain.spec import ChainSpec, ChainState
from gtchain.domain.transitions import CreatedJob


class TransientError(Exception):
    """A fault worth retrying (throttling, a 5xx, output not there yet): the handler lets it raise."""


class ContentionError(TransientError):
    """Other writers kept moving the same chain first (or kept conflicting with this write): nothing was
    decided, so the invocation raises and is retried."""


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    version: str  # the version id, or the ETag in an unversioned bucket
    etag: str
    size: int
    metadata: dict[str, str] = field(default_factory=dict)  # user metadata (x-amz-meta-*), given by head only


class ObjectStore(Protocol):
    def head(self, bucket: str, key: str, version: str | None = None) -> ObjectInfo | None: ...
    def iter_lines(self, bucket: str, key: str, version: str | None = None) -> Iterator[bytes]: ...
    def get_bytes(self, bucket: str, key: str, version: str | None = None) -> bytes: ...
    def put(
        self, bucket: str, key: str, body: bytes, content_type: str, metadata: dict[str, str] | None = None
    ) -> None: ...
    def put_if_absent(self, bucket: str, key: str, body: bytes, content_type: str) -> bool: ...
    def upload(self, bucket: str, key: str, stream: IO[bytes], content_type: str) -> None: ...
    def list_objects(self, bucket: str, prefix: str) -> Iterator[ObjectInfo]: ...
    def list_prefixes(self, bucket: str, prefix: str) -> Iterator[str]: ...


class StreamingObjectStore(ObjectStore, Protocol):
    """An object store that also hands out an object in chunks: a JSON array can be one long line."""

    def iter_chunks(self, bucket: str, key: str, chunk_size: int = 1024 * 1024) -> Iterator[bytes]: ...


class TrainingLogs(Protocol):
    """The log streams of SageMaker training jobs (CloudWatch Logs /aws/sagemaker/TrainingJobs)."""

    def log_streams(self, prefix: str) -> list[str]: ...
    def iter_messages(self, stream: str) -> Iterator[str]: ...


class JobAlreadyExistsError(Exception):
    pass


class JobRejectedError(Exception):
    """CreateLabelingJob refused the request: retrying the same request cannot succeed."""


class LabelingService(Protocol):
    def create_job(self, request: dict[str, Any]) -> str: ...
    def describe_job(self, name: str) -> LabelingJob | None: ...
    def stop_job(self, name: str) -> None: ...


class Publisher(Protocol):
    def publish(self, detail_type: str, detail: dict[str, Any]) -> None: ...
    def batch(self) -> AbstractContextManager[None]: ...
    def flush(self) -> None: ...  # send what the batch holds so far
    def notify(self, subject: str, message: str) -> None: ...


class ChainStore(Protocol):
    """The chain table. Each transition (domain.transitions) is written all or nothing and answers False when
    another writer moved first; a write that keeps losing to concurrent ones raises ContentionError."""

    def get_chain(self, chain_id: str) -> ChainRecord | None: ...
    def create_chain(self, chain: ChainRecord) -> bool: ...
    def update_spec(
        self, chain_id: str, spec: ChainSpec, spec_version: str, task_config: list[str] | None = None
    ) -> None: ...
    def set_state(
        self, chain_id: str, state: ChainState, reason: str | None, *, only_from: ChainState | None = None
    ) -> bool: ...
    def iter_chains(self) -> Iterator[ChainRecord]: ...
    # The reconciler's view: chains marked live by a transition since it last found them idle, and the unmarking
    # (lost when a transition came after `version`).
    def iter_live_chains(self) -> Iterator[str]: ...
    def mark_state_announced(self, chain_id: str) -> bool: ...
    def mark_idle(self, chain_id: str, version: int) -> bool: ...
    def get_manifest(self, chain_id: str, name: str, version: str) -> ManifestRecord | None: ...
    def queue_manifest(
        self, manifest: ManifestRecord, drafts: list[RoundDraft],
        prepare: Callable[[ChainRecord, list[RoundDraft]], tuple[list[RoundDraft], str]] | None = None,
    ) -> list[int] | None: ...  # fmt: skip
    def list_rounds(self, chain_id: str) -> list[RoundRecord]: ...
    def get_round(self, chain_id: str, number: int) -> RoundRecord | None: ...
    def claim_round(self, round_record: RoundRecord) -> bool: ...
    def mark_running(self, chain_id: str, number: int, role: Role, name: str, arn: str) -> bool: ...
    def mark_all_running(self, chain_id: str, number: int, created: list[CreatedJob]) -> bool: ...
    def finish_job(
        self, chain_id: str, number: int, role: Role, job: JobRecord, *, latest_model_arn: str | None = None
    ) -> bool: ...
    def requeue_round(self, chain_id: str, number: int) -> bool: ...
    # Audits (domain.audit): claimed once per round; ended once, with the chain paused in the same write when the
    # gate says so (the chain must then be active).
    def claim_audit(self, chain_id: str, number: int, audit: AuditJob) -> bool: ...
    def end_audit(
        self, chain_id: str, number: int, audit: AuditJob, was: tuple[str, ...], pause_reason: str | None
    ) -> bool: ...
    def complete_without_job(self, round_record: RoundRecord) -> bool: ...
    def record_progress(self, chain_id: str, number: int, role: Role, name: str, counters: LabelCounts) -> bool: ...
    def list_manifests(self, chain_id: str) -> list[ManifestRecord]: ...
    def complete_manifest(self, manifest: ManifestRecord, results_uri: str, unlabeled: int) -> bool: ...
    def mark_announced(self, manifest: ManifestRecord) -> None: ...
    def chain_version(self, chain_id: str) -> int | None: ...
    def snapshot(self, chain_id: str, transitions: int = 10) -> ChainSnapshot | None: ...
    # One invocation's view of the table (service.store.TransitionStore.session): a chain read once, its own
    # writes applied; `forget` reads a chain again.
    def session(self) -> AbstractContextManager[None]: ...
    def forget(self, chain_id: str) -> None: ...
    def moved(self, chain_id: str) -> bool: ...
    # Rejected uploads: recorded whether or not the chain exists yet (a first chain.json can be rejected);
    # when it does, the record raises its version like a transition, so status.json is rendered again.
    def record_rejection(self, chain_id: str, rejection: Rejection) -> None: ...
    def list_rejections(self, chain_id: str) -> list[Rejection]: ...


@dataclass(frozen=True)
class Ports:
    settings: Settings
    store: ChainStore
    objects: ObjectStore
    labeling: LabelingService
    publisher: Publisher

    @contextmanager
    def invocation(self) -> Iterator[None]:
        """One handler invocation (or one chain of a reconciler run): the table read once and kept with its own
        writes, events sent together at the end."""
        with self.store.session(), self.publisher.batch():
            yield
