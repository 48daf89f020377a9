"""The chain table on DynamoDB: each transition (domain.transitions) as one TransactWriteItems.

This module only translates: item keys into the table's layout, expectations into condition expressions,
sets and adds into update expressions. What a transition expects and writes is decided in the domain.

Layout (one table, partition per chain):
  PK=CHAIN#<id> SK=CHAIN                     the chain (spec, state, active round, next round number, model,
                                             version: raised by every transition in the same transaction;
                                             live="1" while the reconciler should look at it: index LiveChains)
  PK=CHAIN#<id> SK=ROUND#<0001>              a round and its jobs
  PK=CHAIN#<id> SK=MANIFEST#<name>#<version> a dropped manifest and the rounds it became
  PK=CHAIN#<id> SK=TRANSITION#<time>#<rand>  one transition, written with it (expires_at: TTL, epoch seconds)
  PK=CHAIN#<id> SK=REJECTION#<digest>       a rejected upload, per key and version (expires_at: TTL); written
                                             even before the chain item exists
"""

import hashlib
import secrets
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import ClientError

from gtchain.adapters import clients
from gtchain.adapters.errors import error_code
from gtchain.domain.records import Transition
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
    Update,
)
from gtchain.service.ports import ContentionError
from gtchain.service.store import CONFLICT_ATTEMPTS, Kind, PartitionKind, TransitionStore

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

# The chain item sorts before its manifests, rejections and rounds, and those before the transition records: one
# query reads the chain's state, the chain item first (so a transition that lands during the query shows as a
# newer version when the reader checks it).
CHAIN_SK = "CHAIN"
LIVE_INDEX = "LiveChains"  # template.yaml's sparse index of the chain items marked live
TRANSITION_PREFIX = "TRANSITION#"
REJECTION_PREFIX = "REJECTION#"
TTL_ATTRIBUTE = "expires_at"  # template.yaml's TimeToLiveSpecification
TRANSITION_TTL = timedelta(days=400)
_PREFIXES: dict[Kind, str] = {"round": "ROUND#", "manifest": "MANIFEST#", "rejection": REJECTION_PREFIX}
_KIND_OF_PREFIX: dict[str, PartitionKind] = {prefix: kind for kind, prefix in _PREFIXES.items()}


def _pk(chain_id: str) -> str:
    return f"CHAIN#{chain_id}"


def table_key(key: ItemKey) -> dict[str, str]:
    match key:
        case ChainKey(chain_id):
            return {"PK": _pk(chain_id), "SK": CHAIN_SK}
        case RoundKey(chain_id, number):
            return {"PK": _pk(chain_id), "SK": f"ROUND#{number:04d}"}
        case ManifestKey(chain_id, name, version):
            return {"PK": _pk(chain_id), "SK": f"MANIFEST#{name}#{version}"}
        case RejectionKey(chain_id, object_key, version):
            # An S3 key alone can fill a sort key's 1,024 bytes: the key and version are hashed.
            digest = hashlib.sha256(f"{object_key}\0{version}".encode()).hexdigest()[:32]
            return {"PK": _pk(chain_id), "SK": f"{REJECTION_PREFIX}{digest}"}


def _plain(value: Any) -> Any:
    """DynamoDB numbers come back as Decimal; records want ints where they are whole."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else value
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


class _Expressions:
    """Placeholders for one request's attribute names and values (#n0, :v0, ...): every name is a placeholder,
    so no record field can clash with DynamoDB's reserved words."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}
        self.values: dict[str, Any] = {}

    def path(self, path: str) -> str:
        parts = []
        for part in path.split("."):
            placeholder = next((p for p, n in self.names.items() if n == part), f"#n{len(self.names)}")
            self.names[placeholder] = part
            parts.append(placeholder)
        return ".".join(parts)

    def value(self, value: Any) -> str:
        placeholder = f":v{len(self.values)}"
        self.values[placeholder] = value
        return placeholder

    def condition(self, expect: tuple[Predicate, ...]) -> str:
        return " AND ".join(self._predicate(p) for p in expect)

    def _predicate(self, predicate: Predicate) -> str:
        match predicate:
            case Equals(path, value):
                return f"{self.path(path)} = {self.value(value)}"
            case NotEquals(path, value):
                return f"{self.path(path)} <> {self.value(value)}"
            case In(path, values):
                return f"{self.path(path)} IN ({', '.join(self.value(v) for v in values)})"
            case Exists(path):
                return f"attribute_exists({self.path(path or 'PK')})"
            case NotExists(path):
                return f"attribute_not_exists({self.path(path or 'PK')})"

    def update(self, write: Update) -> str:
        sets = [f"{self.path(path)} = {self.value(value)}" for path, value in write.sets.items()]
        adds = [f"{self.path(path)} {self.value(amount)}" for path, amount in write.adds.items()]
        removes = [self.path(path) for path in write.removes]
        return " ".join(f"{clause} {', '.join(parts)}" for clause, parts in (
            ("SET", sets), ("ADD", adds), ("REMOVE", removes),
        ) if parts)  # fmt: skip

    def into(self, request: dict[str, Any]) -> dict[str, Any]:
        if self.names:
            request["ExpressionAttributeNames"] = self.names
        if self.values:
            request["ExpressionAttributeValues"] = self.values
        return request


def _cancellation_codes(exc: ClientError) -> list[str]:
    reasons: list[dict[str, Any]] = exc.response.get("CancellationReasons", [])  # type: ignore[assignment]
    return [str(reason.get("Code", "None")) for reason in reasons]


def _conditional_failed(exc: ClientError) -> bool:
    code = error_code(exc)
    if code == "ConditionalCheckFailedException":
        return True
    return code == "TransactionCanceledException" and "ConditionalCheckFailed" in _cancellation_codes(exc)


def _conflicted(exc: ClientError) -> bool:
    """Another transaction held one of the items: nothing was decided, so the write is tried again."""
    code = error_code(exc)
    if code == "TransactionConflictException":
        return True
    return code == "TransactionCanceledException" and "TransactionConflict" in _cancellation_codes(exc)


class DynamoChainStore(TransitionStore):
    def __init__(self, table_name: str, table: "Table | None" = None) -> None:
        super().__init__()
        self._table_name = table_name
        self._table = table

    @property
    def table(self) -> "Table":
        if self._table is None:
            self._table = clients.dynamodb().Table(self._table_name)
        return self._table

    # ---- writes ------------------------------------------------------------------------------------------

    def _expires(self) -> int:
        return int((datetime.now(UTC) + TRANSITION_TTL).timestamp())

    def _action(self, write: Put | Update) -> dict[str, Any]:
        expressions = _Expressions()
        if isinstance(write, Put):
            item = {**table_key(write.key), **write.item}
            if isinstance(write.key, RejectionKey):
                item[TTL_ATTRIBUTE] = self._expires()  # rejections are history too, kept as long as transitions
            put: dict[str, Any] = {"TableName": self._table_name, "Item": item}
            if write.expect:
                put["ConditionExpression"] = expressions.condition(write.expect)
            return {"Put": expressions.into(put)}
        update: dict[str, Any] = {
            "TableName": self._table_name,
            "Key": table_key(write.key),
            "UpdateExpression": expressions.update(write),
        }
        if write.expect:
            update["ConditionExpression"] = expressions.condition(write.expect)
        return {"Update": expressions.into(update)}

    def _record(self, chain_id: str, transition: Transition) -> dict[str, Any]:
        item = {
            "PK": _pk(chain_id),
            "SK": f"{TRANSITION_PREFIX}{transition.at}#{secrets.token_hex(4)}",
            **transition.model_dump(mode="json"),
            TTL_ATTRIBUTE: self._expires(),
        }
        return {"Put": {"TableName": self._table_name, "Item": item}}

    def _write(self, change: Change) -> bool:
        items = [self._action(write) for write in change.writes]
        if change.record is not None:
            items.append(self._record(change.writes[0].key.chain_id, change.record))
        for attempt in range(CONFLICT_ATTEMPTS):
            try:
                self.table.meta.client.transact_write_items(TransactItems=items)  # type: ignore[arg-type]
            except ClientError as exc:
                if _conditional_failed(exc):
                    return False
                if not _conflicted(exc):
                    raise
                time.sleep(min(0.05 * 2**attempt, 1.0) * (0.5 + secrets.randbelow(1000) / 1000))
                continue
            return True
        raise ContentionError(f"a transaction on {self._table_name} kept conflicting with concurrent ones")

    # ---- reads -------------------------------------------------------------------------------------------

    def _get(self, key: ItemKey) -> dict[str, Any] | None:
        item = self.table.get_item(Key=table_key(key), ConsistentRead=True).get("Item")
        return _plain(item) if item else None

    def _version(self, chain_id: str) -> int | None:
        item = self.table.get_item(
            Key=table_key(ChainKey(chain_id)), ConsistentRead=True, ProjectionExpression="version"
        ).get("Item")
        return None if item is None else int(item.get("version", 0))  # type: ignore[arg-type]

    def _query(
        self, chain_id: str, prefix: str, *, sort_key_below: str | None = None, **extra: Any
    ) -> Iterator[dict[str, Any]]:
        sort_key = Key("SK").lt(sort_key_below) if sort_key_below else Key("SK").begins_with(prefix)
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": Key("PK").eq(_pk(chain_id)) & sort_key,
            "ConsistentRead": True,
            **extra,
        }
        while True:
            page = self.table.query(**kwargs)
            yield from (_plain(item) for item in page.get("Items", []))
            if "LastEvaluatedKey" not in page or "Limit" in extra:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _partition(self, chain_id: str) -> Iterator[tuple[PartitionKind, dict[str, Any]]]:
        for item in self._query(chain_id, "", sort_key_below=TRANSITION_PREFIX):
            sort_key = str(item["SK"])
            if sort_key == CHAIN_SK:
                yield "chain", item
            else:
                yield _KIND_OF_PREFIX[sort_key[: sort_key.index("#") + 1]], item

    def _items(self, chain_id: str, kind: Kind) -> Iterator[dict[str, Any]]:
        return self._query(chain_id, _PREFIXES[kind])

    def _transitions(self, chain_id: str, limit: int) -> list[dict[str, Any]]:
        return list(self._query(chain_id, TRANSITION_PREFIX, ScanIndexForward=False, Limit=limit))

    def _live_chains(self) -> Iterator[str]:
        # A global secondary index is read eventually consistently: a chain marked live a moment ago may show in
        # the next tick, and one unmarked a moment ago may show once more (and is found idle again).
        kwargs: dict[str, Any] = {"IndexName": LIVE_INDEX, "KeyConditionExpression": Key(LIVE_ATTRIBUTE).eq(LIVE)}
        while True:
            page = self.table.query(**kwargs)
            yield from (str(item["PK"]).removeprefix("CHAIN#") for item in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _chains(self) -> Iterator[dict[str, Any]]:
        kwargs: dict[str, Any] = {"FilterExpression": Attr("SK").eq(CHAIN_SK), "ConsistentRead": True}
        while True:
            page = self.table.scan(**kwargs)
            yield from (_plain(item) for item in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
