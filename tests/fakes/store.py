"""The chain table in memory: the same transitions (domain.transitions.Change) carried out on dicts with
DynamoDB's semantics, so a fake loses a race exactly where DynamoDB would.

What it models of TransactWriteItems and ConditionExpression is domain.evaluation's (all or nothing; a write
whose expectation fails answers False, ConditionalCheckFailed); besides:
- reads are consistent and return copies (nothing the caller mutates reaches the table);
- rounds come back in key order (ROUND#0001...), manifests by "<name>#<version>", transitions newest first
  (two written in the same millisecond come back newest-written first; DynamoDB orders those by a random
  suffix);
- a change writes each item at most once and at most 100 items (checked by domain.transitions.Change).

tests/contract (test_conditions, test_store) asserts each of these alike of the fake and of DynamoDB on moto.

Not modelled: item and transaction size limits, throttling, eventually consistent reads (every read here is
consistent, as every read of the DynamoDB adapter is).

What a test can inject, at the points where DynamoDB interleaves other writers: `before("write", action)`
runs another writer (any store call) right before the next transaction is evaluated, i.e. after the reads
the caller made; `before("read", ...)` / `before("list", ...)` before the next item read or listing; and
`conflicts(n)` makes the next writes conflict as concurrent transactions do (retried like the DynamoDB
adapter, ContentionError once the attempts run out).
"""

import copy
import itertools
from collections.abc import Callable, Iterator
from typing import Any, Literal

from gtchain.domain.evaluation import applied, expectations_hold
from gtchain.domain.transitions import (
    LIVE,
    LIVE_ATTRIBUTE,
    ChainKey,
    Change,
    ItemKey,
    ManifestKey,
    RejectionKey,
    RoundKey,
)
from gtchain.service.ports import ContentionError
from gtchain.service.store import CONFLICT_ATTEMPTS, Kind, PartitionKind, TransitionStore, table_order

Point = Literal["write", "read", "list"]


class FakeChainStore(TransitionStore):
    def __init__(self) -> None:
        super().__init__()
        self.items: dict[ItemKey, dict[str, Any]] = {}
        self.records: dict[str, list[tuple[str, int, dict[str, Any]]]] = {}  # chain -> (at, sequence, record)
        self.committed: list[Change] = []  # every change that was written, in order
        self._sequence = itertools.count()
        self._hooks: dict[Point, list[Callable[[], None]]] = {"write": [], "read": [], "list": []}
        self._conflicts = 0
        self._interleaving = False

    # ---- what a test injects ------------------------------------------------------------------------------

    def before(self, point: Point, action: Callable[[], None]) -> None:
        """Run `action` once, right before the next `point` (another writer slipping in)."""
        self._hooks[point].append(action)

    def conflicts(self, times: int) -> None:
        """The next `times` transaction attempts conflict with concurrent ones."""
        self._conflicts = times

    def _interleave(self, point: Point) -> None:
        if self._hooks[point] and not self._interleaving:  # the other writer's own calls trigger nothing
            self._interleaving = True
            try:
                self._hooks[point].pop(0)()
            finally:
                self._interleaving = False

    # ---- the primitives -----------------------------------------------------------------------------------

    def _write(self, change: Change) -> bool:
        self._interleave("write")
        if self._conflicts:
            taken = min(self._conflicts, CONFLICT_ATTEMPTS)
            self._conflicts -= taken
            if taken == CONFLICT_ATTEMPTS:
                raise ContentionError("a transaction kept conflicting with concurrent ones")
        if not expectations_hold(change, self.items):
            return False
        self.items.update(applied(change, self.items))
        if change.record is not None:
            chain_id = change.writes[0].key.chain_id
            record = change.record.model_dump(mode="json")
            self.records.setdefault(chain_id, []).append((change.record.at, next(self._sequence), record))
        self.committed.append(change)
        return True

    def _get(self, key: ItemKey) -> dict[str, Any] | None:
        self._interleave("read")
        return copy.deepcopy(self.items.get(key))

    def _version(self, chain_id: str) -> int | None:
        self._interleave("read")
        item = self.items.get(ChainKey(chain_id))
        return None if item is None else int(item.get("version", 0))

    def _items(self, chain_id: str, kind: Kind) -> Iterator[dict[str, Any]]:
        self._interleave("list")
        wanted = {"round": RoundKey, "manifest": ManifestKey, "rejection": RejectionKey}[kind]
        keys = sorted((k for k in self.items if isinstance(k, wanted) and k.chain_id == chain_id), key=table_order)
        return iter([copy.deepcopy(self.items[k]) for k in keys])

    def _partition(self, chain_id: str) -> Iterator[tuple[PartitionKind, dict[str, Any]]]:
        self._interleave("list")
        kinds: dict[type, PartitionKind] = {ChainKey: "chain", ManifestKey: "manifest", RejectionKey: "rejection",
                                            RoundKey: "round"}  # fmt: skip
        mine = [k for k in self.items if k.chain_id == chain_id]
        return iter([(kinds[type(k)], copy.deepcopy(self.items[k])) for k in mine])

    def _transitions(self, chain_id: str, limit: int) -> list[dict[str, Any]]:
        self._interleave("list")
        newest_first = sorted(self.records.get(chain_id, []), key=lambda r: (r[0], r[1]), reverse=True)
        return [copy.deepcopy(record) for _, _, record in newest_first[:limit]]

    def _live_chains(self) -> Iterator[str]:
        return iter(sorted(k.chain_id for k, item in self.items.items()
                           if isinstance(k, ChainKey) and item.get(LIVE_ATTRIBUTE) == LIVE))  # fmt: skip

    def _chains(self) -> Iterator[dict[str, Any]]:
        keys = sorted((k for k in self.items if isinstance(k, ChainKey)), key=lambda k: k.chain_id)
        return iter([copy.deepcopy(self.items[k]) for k in keys])
