"""How a domain.transitions.Change lands on a table's items, on plain dicts, with DynamoDB's semantics:

- all or nothing: every write's expectations are checked against the items as they are before any write;
- `=` and `IN` need the attribute; `<>` also holds when it is missing; a path through a missing (or null)
  map is missing; a type is part of a value (the string "1" is not the number 1, nor is true);
- an update of a missing item creates it; a nested SET needs the parent map to exist (DynamoDB's "document
  path ... invalid for update" is a ValueError here); ADD starts from 0; REMOVE of a missing attribute is no
  error.

The tests' in-memory table carries changes out with it, and the store's per-invocation cache applies its own
successful writes with it (service.store), so both see what DynamoDB would.
"""

import copy
from collections.abc import Mapping
from typing import Any

from gtchain.domain.transitions import Change, Equals, Exists, In, ItemKey, NotEquals, NotExists, Predicate, Put

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
        case Exists(str() as path):
            return _resolve(item, path) is not _MISSING
        case NotExists(str() as path):
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


def expectations_hold(change: Change, items: Mapping[ItemKey, dict[str, Any]]) -> bool:
    return all(holds(p, items.get(w.key)) for w in change.writes for p in w.expect)


def applied(change: Change, items: Mapping[ItemKey, dict[str, Any]]) -> dict[ItemKey, dict[str, Any]]:
    """The items the change writes, as they are after it (copies: `items` is left as it was)."""
    staged: dict[ItemKey, dict[str, Any]] = {}
    for write in change.writes:
        if isinstance(write, Put):
            staged[write.key] = copy.deepcopy(write.item)
            continue
        item = copy.deepcopy(items.get(write.key)) or {}
        for path, value in write.sets.items():
            _set(item, path, value)
        for path, amount in write.adds.items():
            current = _resolve(item, path)
            _set(item, path, (0 if current is _MISSING else current) + amount)
        for path in write.removes:
            _remove(item, path)
        staged[write.key] = item
    return staged
