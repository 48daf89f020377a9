"""The chain table in memory: the same transitions (domain.transitions.Change) carried out on dicts with
DynamoDB's semantics, so a fake loses a race exactly where DynamoDB would.

What it models of TransactWriteItems and ConditionExpression:
- all or nothing: every write's expectations are checked against the items as they are before any write;
  if one fails, nothing is written and the write answers False (ConditionalCheckFailed);
- `=` and `IN` need the attribute; `<>` also holds when it is missing; a path through a missing (or null)
  map is missing; a type is part of a value (the string "1" is not the number 1, nor is true);
- an update of a missing item creates it unless its expectations say otherwise; a nested SET needs the
  parent map to exist (DynamoDB's "document path ... invalid for update" is a ValueError here); ADD starts
  from 0;
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
import hashlib
import itertools
from collections.abc import Callable, Iterator
from typing import Any, Literal

from gtchain.domain.transitions import (
    LIVE,
    LIVE_ATTRIBUTE,
    ChainKey,
    Change,
    Equals,
    Exists,
    In,
    ItemKey,
    ManifestKey,
    NotEquals,
    NotExists,
    Predicate,
    Put,
    RejectionKey,
    RoundKey,
)
from gtchain.service.ports import ContentionError
from gtchain.service.store import CONFLICT_ATTEMPTS, Kind, TransitionStore

Point = Literal["write", "read", "list"]
_MISSING = object()


def _resolve(item: dict[str, Any] | None, path: str) -> Any:
    value: Any = item
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return _MISSING
        value = value[part]
    return value


def _same(a: Any, b: Any) -> bool:
    """DynamoDB compares typed values: numbers with numbers, strings with strings; bool is not a number."""
    numbers = (int, float)
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, numbers) and isinstance(b, numbers):
        return a == b
    return type(a) is type(b) and a == b


def holds(predicate: Predicate, item: dict[str, Any] | None) -> bool:
    match predicate:
        case Exists(None):
            return item is not None
        case NotExists(None):
            return item is None
        case Exists(path):
            return _resolve(item, path) is not _MISSING
        case NotExists(path):
            return _resolve(item, path) is _MISSING
        case Equals(path, value):
            found = _resolve(item, path)
            return found is not _MISSING and _same(found, value)
        case NotEquals(path, value):
            found = _resolve(item, path)
            return found is _MISSING or not _same(found, value)
        case In(path, values):
            found = _resolve(item, path)
            return found is not _MISSING and any(_same(found, v) for v in values)
    raise TypeError(f"not a predicate: {predicate!r}")


def _set(item: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    target = item
    for part in parents:
        child = target.get(part)
        if not isinstance(child, dict):
            raise ValueError(f"the document path {path} is invalid for update: {part} is not a map")
        target = child
    target[last] = copy.deepcopy(value)


def _remove(item: dict[str, Any], path: str) -> None:
    *parents, last = path.split(".")
    target = _resolve(item, ".".join(parents)) if parents else item
    if isinstance(target, dict):
        target.pop(last, None)


def _sort_key(key: ItemKey) -> Any:
    match key:
        case RoundKey(_, number):
            return number
        case ManifestKey(_, name, version):
            return f"{name}#{version}"
        case RejectionKey(_, key, version):
            return hashlib.sha256(f"{key}\0{version}".encode()).hexdigest()  # the table lists them by a digest
    return ""


class FakeChainStore(TransitionStore):
    def __init__(self) -> None:
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
        if not all(holds(p, self.items.get(w.key)) for w in change.writes for p in w.expect):
            return False
        staged = {w.key: copy.deepcopy(self.items.get(w.key)) for w in change.writes}
        for write in change.writes:
            if isinstance(write, Put):
                staged[write.key] = copy.deepcopy(write.item)
                continue
            item = staged[write.key] if staged[write.key] is not None else {}
            assert item is not None
            for path, value in write.sets.items():
                _set(item, path, value)
            for path, amount in write.adds.items():
                current = _resolve(item, path)
                _set(item, path, (0 if current is _MISSING else current) + amount)
            for path in write.removes:
                _remove(item, path)
            staged[write.key] = item
        for key, staged_item in staged.items():
            assert staged_item is not None
            self.items[key] = staged_item
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
        keys = sorted((k for k in self.items if isinstance(k, wanted) and k.chain_id == chain_id), key=_sort_key)
        return iter([copy.deepcopy(self.items[k]) for k in keys])

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
