"""The ChainStore port over any table that writes a domain.transitions.Change all or nothing.

What each transition expects and writes is domain.transitions; this class only puts the reads and the
writes in order (a manifest's round numbers are read, then taken under the condition that nobody took them
first; a snapshot is read again until the chain's version held still). A table supplies six primitives:
adapters.dynamo.DynamoChainStore on DynamoDB, the tests' in-memory store on dicts. Both run this code, so the
contract tests that hold for one hold for the other.
"""

import copy
import hashlib
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Literal

from gtchain.domain import transitions
from gtchain.domain.evaluation import applied
from gtchain.domain.names import Role
from gtchain.domain.records import (
    AuditJob,
    ChainRecord,
    ChainSnapshot,
    JobRecord,
    LabelCounts,
    ManifestRecord,
    Rejection,
    RoundDraft,
    RoundRecord,
    Transition,
)
from gtchain.domain.spec import ChainSpec, ChainState
from gtchain.domain.transitions import ChainKey, Change, CreatedJob, ItemKey, ManifestKey, RejectionKey, RoundKey
from gtchain.service.ports import ContentionError

Kind = Literal["round", "manifest", "rejection"]
PrepareQueue = Callable[[ChainRecord, list[RoundDraft]], tuple[list[RoundDraft], str]]
PartitionKind = Literal["chain", "round", "manifest", "rejection"]
_KINDS: dict[Kind, type] = {"round": RoundKey, "manifest": ManifestKey, "rejection": RejectionKey}


def table_order(key: ItemKey) -> Any:
    """How the table lists a chain's items of one kind: rounds by number, manifests by "<name>#<version>",
    rejections by a digest of key and version."""
    match key:
        case RoundKey(_, number):
            return number
        case ManifestKey(_, name, version):
            return f"{name}#{version}"
        case RejectionKey(_, object_key, version):
            return hashlib.sha256(f"{object_key}\0{version}".encode()).hexdigest()
    return ""


def _item_key(chain_id: str, kind: PartitionKind, item: dict[str, Any]) -> ItemKey:
    match kind:
        case "chain":
            return ChainKey(chain_id)
        case "round":
            return RoundKey(chain_id, int(item["number"]))
        case "manifest":
            return ManifestKey(chain_id, str(item["name"]), str(item["version"]))
        case "rejection":
            return RejectionKey(chain_id, str(item["key"]), str(item["version"]))


QUEUE_ATTEMPTS = 8  # a manifest's round numbers, read again after another manifest took them
SNAPSHOT_ATTEMPTS = 8  # a snapshot, read again after a transition slipped in
CONFLICT_ATTEMPTS = 6  # a transaction that conflicted with concurrent ones (nothing decided), tried again


class TransitionStore(ABC):
    """Outside a session every read goes to the table. Inside one (`session()`, one per invocation), a chain's
    items but its transition records are read once, with one request (`_partition`), and kept with the
    session's own successful writes applied to them (domain.evaluation): read-your-writes without reading
    again. A write that loses (another writer moved first) or fails forgets the chain, so the next read sees
    the table. `chain_version` always asks the table: it is how a reader checks that nobody moved since."""

    def __init__(self) -> None:
        # Per thread: a Lambda container runs one invocation at a time, but the tests run several at once.
        self._session = threading.local()

    @property
    def _cache(self) -> dict[str, dict[ItemKey, dict[str, Any]]] | None:
        return getattr(self._session, "cache", None)

    @property
    def _moved(self) -> set[str]:  # the chains whose version this session raised
        moved: set[str] = getattr(self._session, "moved", set())
        return moved

    @contextmanager
    def session(self) -> Iterator[None]:
        # A session inside another is another invocation (tests run one inside another's hook): its own view.
        outer = self._cache, self._moved
        self._session.cache, self._session.moved = {}, set()
        try:
            yield
        finally:
            self._session.cache, self._session.moved = outer

    def moved(self, chain_id: str) -> bool:
        """This session made a transition of the chain (its status.json is behind for sure)."""
        return chain_id in self._moved

    def forget(self, chain_id: str) -> None:
        """The session reads the chain from the table again (its version moved under the session)."""
        if self._cache is not None:
            self._cache.pop(chain_id, None)

    def _cached(self, chain_id: str) -> dict[ItemKey, dict[str, Any]] | None:
        if self._cache is None:
            return None
        if chain_id not in self._cache:
            self._cache[chain_id] = {_item_key(chain_id, kind, item): item for kind, item in self._partition(chain_id)}
        return self._cache[chain_id]

    def _read(self, key: ItemKey) -> dict[str, Any] | None:
        items = self._cached(key.chain_id)
        if items is None:
            return self._get(key)
        item = items.get(key)
        return copy.deepcopy(item) if item is not None else None

    def _list(self, chain_id: str, kind: Kind) -> Iterator[dict[str, Any]]:
        items = self._cached(chain_id)
        if items is None:
            return self._items(chain_id, kind)
        keys = sorted((k for k in items if isinstance(k, _KINDS[kind])), key=table_order)
        return iter([copy.deepcopy(items[k]) for k in keys])

    def _commit(self, change: Change) -> bool:
        chain_id = change.writes[0].key.chain_id
        try:
            written = self._write(change)
        except Exception:
            self.forget(chain_id)
            raise
        if written and change.raises_version and self._cache is not None:
            self._moved.add(chain_id)
        items = self._cache.get(chain_id) if self._cache is not None else None
        if items is not None and not written:
            self.forget(chain_id)
        elif items is not None:
            try:
                items.update(applied(change, items))
            except ValueError:  # the view was behind the table, where the write's expectations held: read again
                self.forget(chain_id)
        return written

    # ---- the table's primitives ----------------------------------------------------------------------------

    @abstractmethod
    def _get(self, key: ItemKey) -> dict[str, Any] | None:
        """The item, read consistently (after every write that succeeded)."""

    @abstractmethod
    def _version(self, chain_id: str) -> int | None:
        """The chain item's version alone; None when there is no chain."""

    @abstractmethod
    def _items(self, chain_id: str, kind: Kind) -> Iterator[dict[str, Any]]:
        """The chain's rounds (in round order), manifests (by name, then version) or rejections (by key, then
        version), read consistently."""

    @abstractmethod
    def _partition(self, chain_id: str) -> Iterator[tuple[PartitionKind, dict[str, Any]]]:
        """The chain item, its manifests, rejections and rounds (not its transition records), read consistently
        with one request (a page per megabyte), the chain item first."""

    @abstractmethod
    def _transitions(self, chain_id: str, limit: int) -> list[dict[str, Any]]:
        """The chain's latest transition records, newest first."""

    @abstractmethod
    def _chains(self) -> Iterator[dict[str, Any]]:
        """Every chain item."""

    @abstractmethod
    def _live_chains(self) -> Iterator[str]:
        """The ids of the chains marked live (domain.transitions.LIVE_ATTRIBUTE), from the table's sparse index of
        them: an idle chain costs nothing to skip."""

    @abstractmethod
    def _write(self, change: Change) -> bool:
        """All or nothing. False when an expectation did not hold (another writer moved first): nothing was
        written. ContentionError when concurrent writes kept conflicting with it."""

    # ---- chains ------------------------------------------------------------------------------------------

    def get_chain(self, chain_id: str) -> ChainRecord | None:
        item = self._read(ChainKey(chain_id))
        return ChainRecord.model_validate(item) if item else None

    def chain_version(self, chain_id: str) -> int | None:
        return self._version(chain_id)

    def create_chain(self, chain: ChainRecord) -> bool:
        return self._commit(transitions.create_chain(chain))

    def update_spec(
        self, chain_id: str, spec: ChainSpec, spec_version: str, task_config: list[str] | None = None
    ) -> None:
        self._commit(transitions.update_spec(chain_id, spec, spec_version, task_config or []))

    def set_state(
        self, chain_id: str, state: ChainState, reason: str | None, *, only_from: ChainState | None = None
    ) -> bool:
        return self._commit(transitions.set_state(chain_id, state, reason, only_from))

    def iter_chains(self) -> Iterator[ChainRecord]:
        return (ChainRecord.model_validate(item) for item in self._chains())

    def mark_state_announced(self, chain_id: str) -> bool:
        return self._commit(transitions.state_announced(chain_id))

    def iter_live_chains(self) -> Iterator[str]:
        return self._live_chains()

    def mark_idle(self, chain_id: str, version: int) -> bool:
        return self._commit(transitions.mark_idle(chain_id, version))

    def recent_transitions(self, chain_id: str, limit: int) -> list[Transition]:
        return [Transition.model_validate(item) for item in self._transitions(chain_id, limit)]

    def snapshot(self, chain_id: str, transitions: int = 10) -> ChainSnapshot | None:
        """The chain, its rounds, manifests and latest transitions as of one version: the reads are repeated
        until the chain's version is the same before and after them. In a session, the session's view (one
        read of the table, its own writes applied): its reader checks the version after using it."""
        if self._cache is not None:
            chain = self.get_chain(chain_id)
            if chain is None:
                return None
            return ChainSnapshot(chain, self.list_rounds(chain_id), self.list_manifests(chain_id),
                                 self.recent_transitions(chain_id, transitions))  # fmt: skip
        for _ in range(SNAPSHOT_ATTEMPTS):
            chain = self.get_chain(chain_id)
            if chain is None:
                return None
            snapshot = ChainSnapshot(
                chain=chain,
                rounds=self.list_rounds(chain_id),
                manifests=self.list_manifests(chain_id),
                transitions=self.recent_transitions(chain_id, transitions),
            )
            if self.chain_version(chain_id) == chain.version:
                return snapshot
        raise ContentionError(f"chain {chain_id} kept changing while it was read")

    # ---- manifests ---------------------------------------------------------------------------------------

    def get_manifest(self, chain_id: str, name: str, version: str) -> ManifestRecord | None:
        item = self._read(ManifestKey(chain_id, name, version))
        return ManifestRecord.model_validate(item) if item else None

    def list_manifests(self, chain_id: str) -> list[ManifestRecord]:
        return [ManifestRecord.model_validate(item) for item in self._list(chain_id, "manifest")]

    def queue_manifest(
        self, manifest: ManifestRecord, drafts: list[RoundDraft], prepare: PrepareQueue | None = None
    ) -> list[int] | None:
        """Queue a manifest's rounds under chain-wide numbers; None if this manifest was already queued. `prepare`
        completes the drafts for the chain as read, and names the chain's digest index with them in it (written
        anew at each attempt: the numbers may have moved)."""
        for _ in range(QUEUE_ATTEMPTS):
            chain = self.get_chain(manifest.chain_id)
            if chain is None:
                raise LookupError(f"chain {manifest.chain_id} does not exist")
            prepared, index = prepare(chain, drafts) if prepare else (drafts, None)
            change, numbers = transitions.queue_manifest(chain, manifest, prepared, index)
            if self._commit(change):
                return numbers
            if self.get_manifest(manifest.chain_id, manifest.name, manifest.version) is not None:
                return None
        raise ContentionError(f"chain {manifest.chain_id}: other manifests kept taking the next round numbers")

    def complete_manifest(self, manifest: ManifestRecord, results_uri: str, unlabeled: int) -> bool:
        return self._commit(transitions.complete_manifest(manifest, results_uri, unlabeled))

    def mark_announced(self, manifest: ManifestRecord) -> None:
        self._commit(transitions.mark_announced(manifest))

    # ---- rejected uploads ----------------------------------------------------------------------------------

    def record_rejection(self, chain_id: str, rejection: Rejection) -> None:
        """Once per key and version, whether or not the chain exists yet; a chain that exists raises its
        version with an "upload rejected" transition."""
        if self._commit(transitions.record_rejection(chain_id, rejection)):
            self._commit(transitions.rejection_noted(chain_id, rejection))  # False: no chain yet

    def list_rejections(self, chain_id: str) -> list[Rejection]:
        fields = Rejection.__dataclass_fields__
        return [Rejection(**{name: item[name] for name in fields}) for item in self._list(chain_id, "rejection")]

    # ---- rounds ------------------------------------------------------------------------------------------

    def list_rounds(self, chain_id: str) -> list[RoundRecord]:
        return [RoundRecord.model_validate(item) for item in self._list(chain_id, "round")]

    def get_round(self, chain_id: str, number: int) -> RoundRecord | None:
        item = self._read(RoundKey(chain_id, number))
        return RoundRecord.model_validate(item) if item else None

    def claim_round(self, round_record: RoundRecord) -> bool:
        return self._commit(transitions.claim_round(round_record))

    def complete_without_job(self, round_record: RoundRecord) -> bool:
        return self._commit(transitions.complete_without_job(round_record))

    def mark_running(self, chain_id: str, number: int, role: Role, name: str, arn: str) -> bool:
        return self.mark_all_running(chain_id, number, [CreatedJob(role, name, arn)])

    def mark_all_running(self, chain_id: str, number: int, created: list[CreatedJob]) -> bool:
        return self._commit(transitions.mark_running(chain_id, number, created))

    def record_progress(self, chain_id: str, number: int, role: Role, name: str, counters: LabelCounts) -> bool:
        return self._commit(transitions.record_progress(chain_id, number, role, name, counters))

    def finish_job(
        self, chain_id: str, number: int, role: Role, job: JobRecord, *, latest_model_arn: str | None = None
    ) -> bool:
        return self._commit(transitions.finish_job(chain_id, number, role, job, latest_model_arn))

    def requeue_round(self, chain_id: str, number: int) -> bool:
        return self._commit(transitions.requeue_round(chain_id, number))

    def claim_audit(self, chain_id: str, number: int, audit: AuditJob) -> bool:
        return self._commit(transitions.claim_audit(chain_id, number, audit))

    def end_audit(
        self, chain_id: str, number: int, audit: AuditJob, was: tuple[str, ...], pause_reason: str | None
    ) -> bool:
        return self._commit(transitions.end_audit(chain_id, number, audit, was, pause_reason))
