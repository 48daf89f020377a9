"""The ChainStore port over any table that writes a domain.transitions.Change all or nothing.

What each transition expects and writes is domain.transitions; this class only puts the reads and the
writes in order (a manifest's round numbers are read, then taken under the condition that nobody took them
first; a snapshot is read again until the chain's version held still). A table supplies six primitives:
adapters.dynamo.DynamoChainStore on DynamoDB, the tests' in-memory store on dicts. Both run this code, so the
contract tests that hold for one hold for the other.
"""

from abc import ABC, abstractmethod
from collections.abc import Iterator
from typing import Any, Literal

from gtchain.domain import transitions
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
from gtchain.domain.transitions import ChainKey, Change, ItemKey, ManifestKey, RoundKey
from gtchain.service.ports import ContentionError

Kind = Literal["round", "manifest", "rejection"]

QUEUE_ATTEMPTS = 8  # a manifest's round numbers, read again after another manifest took them
SNAPSHOT_ATTEMPTS = 8  # a snapshot, read again after a transition slipped in
CONFLICT_ATTEMPTS = 6  # a transaction that conflicted with concurrent ones (nothing decided), tried again


class TransitionStore(ABC):
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
        item = self._get(ChainKey(chain_id))
        return ChainRecord.model_validate(item) if item else None

    def chain_version(self, chain_id: str) -> int | None:
        return self._version(chain_id)

    def create_chain(self, chain: ChainRecord) -> bool:
        return self._write(transitions.create_chain(chain))

    def update_spec(self, chain_id: str, spec: ChainSpec, spec_version: str) -> None:
        self._write(transitions.update_spec(chain_id, spec, spec_version))

    def set_state(
        self, chain_id: str, state: ChainState, reason: str | None, *, only_from: ChainState | None = None
    ) -> bool:
        return self._write(transitions.set_state(chain_id, state, reason, only_from))

    def iter_chains(self) -> Iterator[ChainRecord]:
        return (ChainRecord.model_validate(item) for item in self._chains())

    def iter_live_chains(self) -> Iterator[str]:
        return self._live_chains()

    def mark_idle(self, chain_id: str, version: int) -> bool:
        return self._write(transitions.mark_idle(chain_id, version))

    def recent_transitions(self, chain_id: str, limit: int) -> list[Transition]:
        return [Transition.model_validate(item) for item in self._transitions(chain_id, limit)]

    def snapshot(self, chain_id: str, transitions: int = 10) -> ChainSnapshot | None:
        """The chain, its rounds, manifests and latest transitions as of one version: the reads are repeated
        until the chain's version is the same before and after them."""
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
        item = self._get(ManifestKey(chain_id, name, version))
        return ManifestRecord.model_validate(item) if item else None

    def list_manifests(self, chain_id: str) -> list[ManifestRecord]:
        return [ManifestRecord.model_validate(item) for item in self._items(chain_id, "manifest")]

    def queue_manifest(self, manifest: ManifestRecord, drafts: list[RoundDraft]) -> list[int] | None:
        """Queue a manifest's rounds under chain-wide numbers; None if this manifest was already queued."""
        for _ in range(QUEUE_ATTEMPTS):
            chain = self.get_chain(manifest.chain_id)
            if chain is None:
                raise LookupError(f"chain {manifest.chain_id} does not exist")
            change, numbers = transitions.queue_manifest(chain, manifest, drafts)
            if self._write(change):
                return numbers
            if self.get_manifest(manifest.chain_id, manifest.name, manifest.version) is not None:
                return None
        raise ContentionError(f"chain {manifest.chain_id}: other manifests kept taking the next round numbers")

    def complete_manifest(self, manifest: ManifestRecord, results_uri: str, unlabeled: int) -> bool:
        return self._write(transitions.complete_manifest(manifest, results_uri, unlabeled))

    def mark_announced(self, manifest: ManifestRecord) -> None:
        self._write(transitions.mark_announced(manifest))

    # ---- rejected uploads ----------------------------------------------------------------------------------

    def record_rejection(self, chain_id: str, rejection: Rejection) -> None:
        """Once per key and version, whether or not the chain exists yet; a chain that exists raises its
        version with an "upload rejected" transition."""
        if self._write(transitions.record_rejection(chain_id, rejection)):
            self._write(transitions.rejection_noted(chain_id, rejection))  # False: no chain yet

    def list_rejections(self, chain_id: str) -> list[Rejection]:
        fields = Rejection.__dataclass_fields__
        return [Rejection(**{name: item[name] for name in fields}) for item in self._items(chain_id, "rejection")]

    # ---- rounds ------------------------------------------------------------------------------------------

    def list_rounds(self, chain_id: str) -> list[RoundRecord]:
        return [RoundRecord.model_validate(item) for item in self._items(chain_id, "round")]

    def get_round(self, chain_id: str, number: int) -> RoundRecord | None:
        item = self._get(RoundKey(chain_id, number))
        return RoundRecord.model_validate(item) if item else None

    def claim_round(self, round_record: RoundRecord) -> bool:
        return self._write(transitions.claim_round(round_record))

    def complete_without_job(self, round_record: RoundRecord) -> bool:
        return self._write(transitions.complete_without_job(round_record))

    def mark_running(self, chain_id: str, number: int, role: Role, name: str, arn: str) -> bool:
        return self._write(transitions.mark_running(chain_id, number, role, name, arn))

    def record_progress(self, chain_id: str, number: int, role: Role, name: str, counters: LabelCounts) -> bool:
        return self._write(transitions.record_progress(chain_id, number, role, name, counters))

    def finish_job(
        self, chain_id: str, number: int, role: Role, job: JobRecord, *, latest_model_arn: str | None = None
    ) -> bool:
        return self._write(transitions.finish_job(chain_id, number, role, job, latest_model_arn))

    def requeue_round(self, chain_id: str, number: int) -> bool:
        return self._write(transitions.requeue_round(chain_id, number))

    def claim_audit(self, chain_id: str, number: int, audit: AuditJob) -> bool:
        return self._write(transitions.claim_audit(chain_id, number, audit))

    def end_audit(
        self, chain_id: str, number: int, audit: AuditJob, was: tuple[str, ...], pause_reason: str | None
    ) -> bool:
        return self._write(transitions.end_audit(chain_id, number, audit, was, pause_reason))
