"""The chain table on DynamoDB. Every transition is a conditional write: concurrent callers, one winner.

Layout (one table, partition per chain):
  PK=CHAIN#<id> SK=META                      the chain (spec, state, active round, next round number, model,
                                             version: raised by every transition in the same transaction)
  PK=CHAIN#<id> SK=ROUND#<0001>              a round and its jobs
  PK=CHAIN#<id> SK=MANIFEST#<name>#<version> a dropped manifest and the rounds it became
  PK=CHAIN#<id> SK=TRANSITION#<time>#<rand>  one transition, written with it (expires_at: TTL, epoch seconds)
"""

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
from gtchain.domain.records import (
    ChainRecord,
    ChainSnapshot,
    JobRecord,
    LabelCounts,
    ManifestRecord,
    RoundDraft,
    RoundRecord,
    RoundStatus,
    Transition,
    utc_now,
)
from gtchain.domain.spec import ChainSpec, ChainState

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

META = "META"
_QUEUE_ATTEMPTS = 8
_CONFLICT_ATTEMPTS = 6
_SNAPSHOT_ATTEMPTS = 8
TRANSITION_TTL = timedelta(days=400)


class TransactionContentionError(Exception):
    """Concurrent transactions kept conflicting on the same items: retried by the invocation."""


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
        """All or nothing. False when a condition failed (someone else won); conflicts are retried."""
        for attempt in range(_CONFLICT_ATTEMPTS):
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
        raise TransactionContentionError(f"transaction on {self._table_name} kept conflicting")

    def _meta_update(
        self,
        chain_id: str,
        sets: list[str],
        values: dict[str, Any] | None = None,
        condition: str = "attribute_exists(PK)",
        names: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """An update of the chain item that also raises its version: every transition goes through one."""
        update: dict[str, Any] = {
            "TableName": self._table_name,
            "Key": {"PK": _pk(chain_id), "SK": META},
            "UpdateExpression": "SET " + ", ".join([*sets, "updated_at = :now"]) + " ADD version :one",
            "ConditionExpression": condition,
            "ExpressionAttributeValues": {**(values or {}), ":now": utc_now(), ":one": 1},
        }
        if names:
            update["ExpressionAttributeNames"] = names
        return {"Update": update}

    def _transition(self, chain_id: str, transition: Transition) -> dict[str, Any]:
        expires = int((datetime.now(UTC) + TRANSITION_TTL).timestamp())
        item = {
            **_item(_pk(chain_id), f"TRANSITION#{transition.at}#{secrets.token_hex(4)}", transition),
            "expires_at": expires,
        }
        return {"Put": {"TableName": self._table_name, "Item": item}}

    def _round_update(
        self,
        chain_id: str,
        number: int,
        expression: str,
        values: dict[str, Any],
        condition: str,
        names: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        update: dict[str, Any] = {
            "TableName": self._table_name,
            "Key": {"PK": _pk(chain_id), "SK": _round_sk(number)},
            "UpdateExpression": expression,
            "ConditionExpression": condition,
            "ExpressionAttributeValues": values,
        }
        if names:
            update["ExpressionAttributeNames"] = names
        return {"Update": update}

    # chains

    def get_chain(self, chain_id: str) -> ChainRecord | None:
        item = self.table.get_item(Key={"PK": _pk(chain_id), "SK": META}, ConsistentRead=True).get("Item")
        return ChainRecord.model_validate(_plain(item)) if item else None

    def chain_version(self, chain_id: str) -> int | None:
        item = self.table.get_item(
            Key={"PK": _pk(chain_id), "SK": META}, ConsistentRead=True, ProjectionExpression="version"
        ).get("Item")
        return None if item is None else int(item.get("version", 0))  # type: ignore[arg-type]

    def create_chain(self, chain: ChainRecord) -> bool:
        created = chain.model_copy(update={"version": 1})
        put = {
            "TableName": self._table_name,
            "Item": _item(_pk(chain.chain_id), META, created),
            "ConditionExpression": "attribute_not_exists(PK)",
        }
        transition = Transition(event="chain created", state=chain.state.value, detail=chain.pause_reason)
        return self._transact([{"Put": put}, self._transition(chain.chain_id, transition)])

    def update_spec(self, chain_id: str, spec: ChainSpec, spec_version: str) -> None:
        self._transact([
            self._meta_update(chain_id, ["spec = :spec", "spec_version = :version"],
                              {":spec": spec.model_dump(mode="json"), ":version": spec_version}),
            self._transition(chain_id, Transition(event="chain.json applied", detail=f"version {spec_version}")),
        ])  # fmt: skip

    def set_state(
        self, chain_id: str, state: ChainState, reason: str | None, *, only_from: ChainState | None = None
    ) -> bool:
        values: dict[str, Any] = {":state": state.value, ":reason": reason}
        condition = "attribute_exists(PK)"
        if only_from is not None:
            condition += " AND #state = :from"
            values[":from"] = only_from.value
        else:
            condition += " AND #state <> :state"
        return self._transact([
            self._meta_update(chain_id, ["#state = :state", "pause_reason = :reason"], values, condition,
                              {"#state": "state"}),
            self._transition(chain_id, Transition(event=f"chain {state.value}", state=state.value, detail=reason)),
        ])  # fmt: skip

    def iter_chains(self) -> Iterator[ChainRecord]:
        kwargs: dict[str, Any] = {"FilterExpression": Attr("SK").eq(META), "ConsistentRead": True}
        while True:
            page = self.table.scan(**kwargs)
            for item in page.get("Items", []):
                yield ChainRecord.model_validate(_plain(item))
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _query(self, chain_id: str, prefix: str, **extra: Any) -> Iterator[dict[str, Any]]:
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": Key("PK").eq(_pk(chain_id)) & Key("SK").begins_with(prefix),
            "ConsistentRead": True,
            **extra,
        }
        while True:
            page = self.table.query(**kwargs)
            yield from (_plain(item) for item in page.get("Items", []))
            if "LastEvaluatedKey" not in page or "Limit" in extra:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def recent_transitions(self, chain_id: str, limit: int) -> list[Transition]:
        items = self._query(chain_id, "TRANSITION#", ScanIndexForward=False, Limit=limit)
        return [Transition.model_validate(item) for item in items]

    def snapshot(self, chain_id: str, transitions: int = 10) -> ChainSnapshot | None:
        """The chain, its rounds, manifests and latest transitions as of one version: the reads are repeated
        until the chain's version is the same before and after them."""
        for _ in range(_SNAPSHOT_ATTEMPTS):
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
        raise TransactionContentionError(f"chain {chain_id} kept changing while it was read")

    # manifests

    def get_manifest(self, chain_id: str, name: str, version: str) -> ManifestRecord | None:
        key = {"PK": _pk(chain_id), "SK": _manifest_sk(name, version)}
        item = self.table.get_item(Key=key, ConsistentRead=True).get("Item")
        return ManifestRecord.model_validate(_plain(item)) if item else None

    def list_manifests(self, chain_id: str) -> list[ManifestRecord]:
        return [ManifestRecord.model_validate(item) for item in self._query(chain_id, "MANIFEST#")]

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
            transition = Transition(event="manifest queued", detail=f"{manifest.name} (version {manifest.version}): "
                                    f"{manifest.lines} objects as rounds {numbers[0]}-{numbers[-1]}")  # fmt: skip
            items: list[dict[str, Any]] = [
                self._meta_update(manifest.chain_id, ["next_round = :next"],
                                  {":next": first + len(drafts), ":first": first}, "next_round = :first"),
                {"Put": {
                    "TableName": self._table_name,
                    "Item": _item(pk, _manifest_sk(manifest.name, manifest.version), queued),
                    "ConditionExpression": "attribute_not_exists(PK)",
                }},
                self._transition(manifest.chain_id, transition),
            ]  # fmt: skip
            for number, draft in zip(numbers, drafts, strict=True):
                record = RoundRecord(chain_id=manifest.chain_id, number=number, part_objects=draft.objects,
                                     **draft.model_dump())  # fmt: skip
                items.append({"Put": {"TableName": self._table_name, "Item": _item(pk, _round_sk(number), record)}})
            if self._transact(items):
                return numbers
            if self.get_manifest(manifest.chain_id, manifest.name, manifest.version) is not None:
                return None
        raise RuntimeError(f"could not allocate round numbers for chain {manifest.chain_id}: contention")

    def complete_manifest(self, manifest: ManifestRecord, results_uri: str, unlabeled: int) -> bool:
        """Record a manifest's results, once."""
        chain_id = manifest.chain_id
        return self._transact([
            {"Update": {
                "TableName": self._table_name,
                "Key": {"PK": _pk(chain_id), "SK": _manifest_sk(manifest.name, manifest.version)},
                "UpdateExpression": "SET #status = :completed, results_uri = :uri, unlabeled = :unlabeled, "
                                    "completed_at = :now",
                "ConditionExpression": "#status <> :completed",
                "ExpressionAttributeNames": {"#status": "status"},
                "ExpressionAttributeValues": {":completed": "completed", ":uri": results_uri,
                                              ":unlabeled": unlabeled, ":now": utc_now()},
            }},
            self._meta_update(chain_id, []),
            self._transition(chain_id, Transition(event="manifest completed",
                                                  detail=f"{manifest.name}: results at {results_uri}")),
        ])  # fmt: skip

    def mark_announced(self, manifest: ManifestRecord) -> None:
        self._transact([{"Update": {
            "TableName": self._table_name,
            "Key": {"PK": _pk(manifest.chain_id), "SK": _manifest_sk(manifest.name, manifest.version)},
            "UpdateExpression": "SET announced = :yes",
            "ConditionExpression": "attribute_exists(PK)",
            "ExpressionAttributeValues": {":yes": True},
        }}])  # fmt: skip

    # rounds

    def list_rounds(self, chain_id: str) -> list[RoundRecord]:
        return [RoundRecord.model_validate(item) for item in self._query(chain_id, "ROUND#")]

    def get_round(self, chain_id: str, number: int) -> RoundRecord | None:
        key = {"PK": _pk(chain_id), "SK": _round_sk(number)}
        item = self.table.get_item(Key=key, ConsistentRead=True).get("Item")
        return RoundRecord.model_validate(_plain(item)) if item else None

    # What a claim decides about a round (and a round completed without a job records the same way).
    _CLAIMED_FIELDS = (
        "attempt", "job", "baseline", "history", "spec", "warnings", "objects", "job_input_uri", "job_digests_uri",
        "skipped_objects", "skipped_uri", "skipped_from", "worst_case_usd",
    )  # fmt: skip

    def _claimed_round(self, record: RoundRecord, status: RoundStatus) -> dict[str, Any]:
        dumped = record.model_dump(mode="json")
        sets = ", ".join(f"{name} = :{name}" for name in self._CLAIMED_FIELDS)
        return self._round_update(
            record.chain_id, record.number, f"SET #status = :status, {sets}",
            {":status": status.value, ":queued": RoundStatus.QUEUED.value,
             **{f":{name}": dumped[name] for name in self._CLAIMED_FIELDS}},
            "#status = :queued", {"#status": "status"},
        )  # fmt: skip

    def claim_round(self, round_record: RoundRecord) -> bool:
        """Make this round the chain's active one: only if none is active, the chain is active, and the
        round is still queued."""
        chain_id = round_record.chain_id
        jobs = ", ".join(j.name for j in (round_record.job, round_record.baseline) if j is not None)
        skipped = round_record.skipped_objects
        if skipped:
            jobs += f"; {skipped} object(s) skipped as already labeled"
        transition = Transition(event="round claimed", round=round_record.number,
                                detail=f"attempt {round_record.attempt}: {jobs}")  # fmt: skip
        return self._transact([
            self._meta_update(chain_id, ["active_round = :n"],
                              {":n": round_record.number, ":zero": 0, ":active": ChainState.ACTIVE.value},
                              "active_round = :zero AND #state = :active", {"#state": "state"}),
            self._claimed_round(round_record, RoundStatus.STARTING),
            self._transition(chain_id, transition),
        ])  # fmt: skip

    def complete_without_job(self, round_record: RoundRecord) -> bool:
        """A round whose objects were all labeled already: it completes at once, in order (the chain is idle
        and active, as for a claim)."""
        chain_id = round_record.chain_id
        transition = Transition(
            event="round completed without a job",
            round=round_record.number,
            state=RoundStatus.COMPLETED.value,
            detail=f"all {round_record.skipped_objects} object(s) were labeled already",
        )
        return self._transact([
            self._meta_update(chain_id, [], {":zero": 0, ":active": ChainState.ACTIVE.value},
                              "active_round = :zero AND #state = :active", {"#state": "state"}),
            self._claimed_round(round_record, RoundStatus.COMPLETED),
            self._transition(chain_id, transition),
        ])  # fmt: skip

    def mark_running(self, chain_id: str, number: int, role: str, name: str, arn: str) -> bool:
        attribute = "baseline" if role == "baseline" else "job"
        expression = f"SET {attribute}.#status = :running, {attribute}.arn = :arn, {attribute}.started_at = :now"
        condition = f"{attribute}.#status = :starting AND {attribute}.#name = :name"
        if role == "round":
            expression += ", #status = :running"
        return self._transact([
            self._round_update(
                chain_id, number, expression,
                {":running": RoundStatus.RUNNING.value, ":starting": RoundStatus.STARTING.value, ":arn": arn,
                 ":name": name, ":now": utc_now()},
                condition, {"#status": "status", "#name": "name"},
            ),
            self._meta_update(chain_id, []),
            self._transition(chain_id, Transition(event="job running", round=number, role=role, job=name,
                                                  state=RoundStatus.RUNNING.value)),
        ])  # fmt: skip

    def record_progress(self, chain_id: str, number: int, role: str, name: str, counters: LabelCounts) -> bool:
        """A running job's latest LabelCounters (status.json shows them). Not a transition, but it raises the
        version so the status is rendered again."""
        attribute = "baseline" if role == "baseline" else "job"
        return self._transact([
            self._round_update(
                chain_id, number, f"SET {attribute}.counters = :counters",
                {":counters": counters.model_dump(mode="json"), ":running": RoundStatus.RUNNING.value,
                 ":name": name},
                f"{attribute}.#status = :running AND {attribute}.#name = :name",
                {"#status": "status", "#name": "name"},
            ),
            self._meta_update(chain_id, []),
        ])  # fmt: skip

    def finish_job(
        self, chain_id: str, number: int, role: str, job: JobRecord, *, latest_model_arn: str | None = None
    ) -> bool:
        """Record a job's end, once. For the round's own job this also frees the chain for the next round
        and, when the job trained a model, makes it the model the chain carries forward."""
        attribute = "baseline" if role == "baseline" else "job"
        round_update = self._round_update(
            chain_id, number, f"SET {attribute} = :job",
            {":job": job.model_dump(mode="json"), ":starting": RoundStatus.STARTING.value,
             ":running": RoundStatus.RUNNING.value, ":name": job.name},
            f"{attribute}.#status IN (:starting, :running) AND {attribute}.#name = :name",
            {"#status": "status", "#name": "name"},
        )  # fmt: skip
        transition = Transition(event=f"job {job.status.value}", round=number, role=role, job=job.name,
                                state=job.status.value, detail=job.failure_reason or job.note)  # fmt: skip
        if role == "baseline":
            return self._transact(
                [round_update, self._meta_update(chain_id, []), self._transition(chain_id, transition)]
            )
        round_update["Update"]["UpdateExpression"] += ", #status = :final"
        round_update["Update"]["ExpressionAttributeValues"][":final"] = job.status.value
        sets = ["active_round = :zero"]
        values: dict[str, Any] = {":zero": 0, ":n": number}
        if latest_model_arn:
            sets += ["latest_model_arn = :model", "latest_model_round = :n"]
            values[":model"] = latest_model_arn
        return self._transact([
            round_update, self._meta_update(chain_id, sets, values, "active_round = :n"),
            self._transition(chain_id, transition),
        ])  # fmt: skip

    def requeue_round(self, chain_id: str, number: int) -> bool:
        """A failed or stopped round goes back to the queue; its next claim gets a new attempt (a new name)."""
        return self._transact([
            self._round_update(
                chain_id, number, "SET #status = :queued",
                {":queued": RoundStatus.QUEUED.value, ":failed": RoundStatus.FAILED.value,
                 ":stopped": RoundStatus.STOPPED.value},
                "#status IN (:failed, :stopped)", {"#status": "status"},
            ),
            self._meta_update(chain_id, []),
            self._transition(chain_id, Transition(event="round requeued", round=number,
                                                  state=RoundStatus.QUEUED.value, detail="retried on resume")),
        ])  # fmt: skip
