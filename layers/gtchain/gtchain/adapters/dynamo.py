"""The chain table on DynamoDB. Every transition is a conditional write: concurrent callers, one winner.

Layout (one table, partition per chain):
  PK=CHAIN#<id> SK=META                     the chain (spec, state, active round, next round number, model)
  PK=CHAIN#<id> SK=ROUND#<0001>             a round and its jobs
  PK=CHAIN#<id> SK=MANIFEST#<name>#<version> a dropped manifest and the rounds it became
"""

from collections.abc import Iterator
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import ClientError

from gtchain.adapters import clients
from gtchain.adapters.errors import error_code
from gtchain.models.records import (
    ChainRecord,
    JobRecord,
    ManifestRecord,
    RoundDraft,
    RoundRecord,
    RoundStatus,
    utc_now,
)
from gtchain.models.spec import ChainSpec, ChainState

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

META = "META"
_QUEUE_ATTEMPTS = 8


def _pk(chain_id: str) -> str:
    return f"CHAIN#{chain_id}"


def _round_sk(number: int) -> str:
    return f"ROUND#{number:04d}"


def _manifest_sk(name: str, version: str) -> str:
    return f"MANIFEST#{name}#{version}"


def _item(pk: str, sk: str, record: Any) -> dict[str, Any]:
    return {"PK": pk, "SK": sk, **record.model_dump(mode="json")}


def _plain(value: Any) -> Any:
    """DynamoDB numbers come back as Decimal; records want ints where they are whole."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else value
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _conditional_failed(exc: ClientError) -> bool:
    return error_code(exc) in {"ConditionalCheckFailedException", "TransactionCanceledException"}


class DynamoChainStore:
    def __init__(self, table_name: str, table: "Table | None" = None) -> None:
        self._table_name = table_name
        self._table = table

    @property
    def table(self) -> "Table":
        if self._table is None:
            self._table = clients.dynamodb().Table(self._table_name)
        return self._table

    def _transact(self, items: list[dict[str, Any]]) -> bool:
        try:
            self.table.meta.client.transact_write_items(TransactItems=items)  # type: ignore[arg-type]
        except ClientError as exc:
            if _conditional_failed(exc):
                return False
            raise
        return True

    def _update(
        self,
        key: dict[str, str],
        expression: str,
        values: dict[str, Any],
        condition: str | None = None,
        names: dict[str, str] | None = None,
    ) -> bool:
        kwargs: dict[str, Any] = {
            "Key": key,
            "UpdateExpression": expression,
            "ExpressionAttributeValues": values,
        }
        if condition:
            kwargs["ConditionExpression"] = condition
        if names:
            kwargs["ExpressionAttributeNames"] = names
        try:
            self.table.update_item(**kwargs)
        except ClientError as exc:
            if _conditional_failed(exc):
                return False
            raise
        return True

    # chains

    def get_chain(self, chain_id: str) -> ChainRecord | None:
        item = self.table.get_item(Key={"PK": _pk(chain_id), "SK": META}, ConsistentRead=True).get("Item")
        return ChainRecord.model_validate(_plain(item)) if item else None

    def create_chain(self, chain: ChainRecord) -> bool:
        try:
            self.table.put_item(
                Item=_item(_pk(chain.chain_id), META, chain), ConditionExpression="attribute_not_exists(PK)"
            )
        except ClientError as exc:
            if _conditional_failed(exc):
                return False
            raise
        return True

    def update_spec(self, chain_id: str, spec: ChainSpec, spec_version: str) -> None:
        self._update(
            {"PK": _pk(chain_id), "SK": META},
            "SET spec = :spec, spec_version = :version, updated_at = :now",
            {":spec": spec.model_dump(mode="json"), ":version": spec_version, ":now": utc_now()},
        )

    def set_state(
        self, chain_id: str, state: ChainState, reason: str | None, *, only_from: ChainState | None = None
    ) -> bool:
        values: dict[str, Any] = {":state": state.value, ":reason": reason, ":now": utc_now()}
        condition = "attribute_exists(PK)"
        if only_from is not None:
            condition += " AND #state = :from"
            values[":from"] = only_from.value
        else:
            condition += " AND #state <> :state"
        return self._update(
            {"PK": _pk(chain_id), "SK": META},
            "SET #state = :state, pause_reason = :reason, updated_at = :now",
            values, condition, {"#state": "state"},
        )  # fmt: skip

    def iter_chains(self) -> Iterator[ChainRecord]:
        kwargs: dict[str, Any] = {"FilterExpression": Attr("SK").eq(META), "ConsistentRead": True}
        while True:
            page = self.table.scan(**kwargs)
            for item in page.get("Items", []):
                yield ChainRecord.model_validate(_plain(item))
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    # manifests

    def get_manifest(self, chain_id: str, name: str, version: str) -> ManifestRecord | None:
        key = {"PK": _pk(chain_id), "SK": _manifest_sk(name, version)}
        item = self.table.get_item(Key=key, ConsistentRead=True).get("Item")
        return ManifestRecord.model_validate(_plain(item)) if item else None

    def queue_manifest(self, manifest: ManifestRecord, drafts: list[RoundDraft]) -> list[int] | None:
        """Queue a manifest's rounds under chain-wide numbers; None if this manifest was already queued."""
        pk = _pk(manifest.chain_id)
        for _ in range(_QUEUE_ATTEMPTS):
            chain = self.get_chain(manifest.chain_id)
            if chain is None:
                raise LookupError(f"chain {manifest.chain_id} does not exist")
            first = chain.next_round
            numbers = list(range(first, first + len(drafts)))
            queued = manifest.model_copy(update={"rounds": numbers})
            items: list[dict[str, Any]] = [
                {"Update": {
                    "TableName": self._table_name, "Key": {"PK": pk, "SK": META},
                    "UpdateExpression": "SET next_round = :next, updated_at = :now",
                    "ConditionExpression": "next_round = :first",
                    "ExpressionAttributeValues": {":next": first + len(drafts), ":first": first, ":now": utc_now()},
                }},
                {"Put": {
                    "TableName": self._table_name,
                    "Item": _item(pk, _manifest_sk(manifest.name, manifest.version), queued),
                    "ConditionExpression": "attribute_not_exists(PK)",
                }},
            ]  # fmt: skip
            for number, draft in zip(numbers, drafts, strict=True):
                record = RoundRecord(chain_id=manifest.chain_id, number=number, **draft.model_dump())
                items.append({"Put": {"TableName": self._table_name, "Item": _item(pk, _round_sk(number), record)}})
            if self._transact(items):
                return numbers
            if self.get_manifest(manifest.chain_id, manifest.name, manifest.version) is not None:
                return None
        raise RuntimeError(f"could not allocate round numbers for chain {manifest.chain_id}: contention")

    # rounds

    def list_rounds(self, chain_id: str) -> list[RoundRecord]:
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": Key("PK").eq(_pk(chain_id)) & Key("SK").begins_with("ROUND#"),
            "ConsistentRead": True,
        }
        rounds: list[RoundRecord] = []
        while True:
            page = self.table.query(**kwargs)
            rounds.extend(RoundRecord.model_validate(_plain(item)) for item in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return rounds
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def get_round(self, chain_id: str, number: int) -> RoundRecord | None:
        key = {"PK": _pk(chain_id), "SK": _round_sk(number)}
        item = self.table.get_item(Key=key, ConsistentRead=True).get("Item")
        return RoundRecord.model_validate(_plain(item)) if item else None

    def claim_round(self, round_record: RoundRecord) -> bool:
        """Make this round the chain's active one: only if none is active, the chain is active, and the
        round is still queued."""
        pk = _pk(round_record.chain_id)
        dumped = round_record.model_dump(mode="json")
        return self._transact([
            {"Update": {
                "TableName": self._table_name, "Key": {"PK": pk, "SK": META},
                "UpdateExpression": "SET active_round = :n, updated_at = :now",
                "ConditionExpression": "active_round = :zero AND #state = :active",
                "ExpressionAttributeNames": {"#state": "state"},
                "ExpressionAttributeValues": {
                    ":n": round_record.number, ":zero": 0, ":active": ChainState.ACTIVE.value, ":now": utc_now(),
                },
            }},
            {"Update": {
                "TableName": self._table_name, "Key": {"PK": pk, "SK": _round_sk(round_record.number)},
                "UpdateExpression": "SET #status = :starting, attempt = :attempt, job = :job, baseline = :baseline, "
                                    "spec = :spec, warnings = :warnings",
                "ConditionExpression": "#status = :queued",
                "ExpressionAttributeNames": {"#status": "status"},
                "ExpressionAttributeValues": {
                    ":starting": RoundStatus.STARTING.value, ":queued": RoundStatus.QUEUED.value,
                    ":attempt": round_record.attempt, ":job": dumped["job"], ":baseline": dumped["baseline"],
                    ":spec": dumped["spec"], ":warnings": dumped["warnings"],
                },
            }},
        ])  # fmt: skip

    def mark_running(self, chain_id: str, number: int, role: str, name: str, arn: str) -> bool:
        attribute = "baseline" if role == "baseline" else "job"
        expression = f"SET {attribute}.#status = :running, {attribute}.arn = :arn, {attribute}.started_at = :now"
        condition = f"{attribute}.#status = :starting AND {attribute}.#name = :name"
        if role == "round":
            expression += ", #status = :running"
        return self._update(
            {"PK": _pk(chain_id), "SK": _round_sk(number)},
            expression,
            {":running": RoundStatus.RUNNING.value, ":starting": RoundStatus.STARTING.value, ":arn": arn,
             ":name": name, ":now": utc_now()},
            condition,
            {"#status": "status", "#name": "name"},
        )  # fmt: skip

    def finish_job(
        self, chain_id: str, number: int, role: str, job: JobRecord, *, latest_model_arn: str | None = None
    ) -> bool:
        """Record a job's end, once. For the round's own job this also frees the chain for the next round
        and, when the job trained a model, makes it the model the chain carries forward."""
        pk = _pk(chain_id)
        attribute = "baseline" if role == "baseline" else "job"
        round_update: dict[str, Any] = {
            "TableName": self._table_name, "Key": {"PK": pk, "SK": _round_sk(number)},
            "UpdateExpression": f"SET {attribute} = :job",
            "ConditionExpression": f"{attribute}.#status IN (:starting, :running) AND {attribute}.#name = :name",
            "ExpressionAttributeNames": {"#status": "status", "#name": "name"},
            "ExpressionAttributeValues": {
                ":job": job.model_dump(mode="json"), ":starting": RoundStatus.STARTING.value,
                ":running": RoundStatus.RUNNING.value, ":name": job.name,
            },
        }  # fmt: skip
        if role == "baseline":
            return self._transact([{"Update": round_update}])
        round_update["UpdateExpression"] += ", #status = :final"
        round_update["ExpressionAttributeValues"][":final"] = job.status.value
        chain_update: dict[str, Any] = {
            "TableName": self._table_name, "Key": {"PK": pk, "SK": META},
            "UpdateExpression": "SET active_round = :zero, updated_at = :now",
            "ConditionExpression": "active_round = :n",
            "ExpressionAttributeValues": {":zero": 0, ":n": number, ":now": utc_now()},
        }  # fmt: skip
        if latest_model_arn:
            chain_update["UpdateExpression"] += ", latest_model_arn = :model, latest_model_round = :n"
            chain_update["ExpressionAttributeValues"][":model"] = latest_model_arn
        return self._transact([{"Update": round_update}, {"Update": chain_update}])

    def requeue_round(self, chain_id: str, number: int) -> bool:
        """A failed or stopped round goes back to the queue; its next claim gets a new attempt (a new name)."""
        return self._update(
            {"PK": _pk(chain_id), "SK": _round_sk(number)},
            "SET #status = :queued",
            {":queued": RoundStatus.QUEUED.value, ":failed": RoundStatus.FAILED.value,
             ":stopped": RoundStatus.STOPPED.value},
            "#status IN (:failed, :stopped)",
            {"#status": "status"},
        )  # fmt: skip
