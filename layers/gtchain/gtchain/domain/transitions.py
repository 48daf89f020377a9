"""Every change of the chain table, as data: which items a transition writes, what it expects of them first,
what it sets, and the transition record it leaves.

A store carries a `Change` out all or nothing: every write's expectations hold and every write lands, or
nothing does and the store answers False (another writer moved first). DynamoDB does it as one
TransactWriteItems (adapters.dynamo); the tests' in-memory store evaluates the same descriptions on dicts.
So which state allows which move is decided here, once, and no store holds a rule of its own.

Items are named by what they are (a chain, one of its rounds, one of its manifests); how a table keys them
is the store's business. Attribute paths are the records' field names; a dot reaches into a nested record
("job.status"). Values are JSON values, as the records dump them.
"""

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from gtchain.domain.names import Role
from gtchain.domain.records import (
    AuditJob,
    ChainRecord,
    JobRecord,
    LabelCounts,
    ManifestRecord,
    Rejection,
    RoundDraft,
    RoundRecord,
    RoundStatus,
    Transition,
    utc_now,
)
from gtchain.domain.spec import ChainSpec, ChainState

# A transaction writes at most 100 items, each at most once (DynamoDB's TransactWriteItems limits; the
# transition record is one of them).
MAX_WRITES = 100


# ---- items ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChainKey:
    chain_id: str


@dataclass(frozen=True)
class RoundKey:
    chain_id: str
    number: int


@dataclass(frozen=True)
class ManifestKey:
    chain_id: str
    name: str
    version: str


@dataclass(frozen=True)
class RejectionKey:
    chain_id: str
    key: str  # the rejected object's key
    version: str


ItemKey = ChainKey | RoundKey | ManifestKey | RejectionKey


# ---- what a write expects of its item (all of them must hold) --------------------------------------------


@dataclass(frozen=True)
class Equals:
    path: str
    value: Any


@dataclass(frozen=True)
class NotEquals:
    """Also holds when the attribute is missing (as DynamoDB's `<>` does)."""

    path: str
    value: Any


@dataclass(frozen=True)
class In:
    path: str
    values: tuple[Any, ...]


@dataclass(frozen=True)
class Exists:
    path: str | None = None  # None: the item itself


@dataclass(frozen=True)
class NotExists:
    path: str | None = None  # None: the item itself


Predicate = Equals | NotEquals | In | Exists | NotExists


# ---- writes --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Put:
    """Write the whole item (replacing any item of that key)."""

    key: ItemKey
    item: dict[str, Any]
    expect: tuple[Predicate, ...] = ()


@dataclass(frozen=True)
class Update:
    """Set attributes (a nested path needs its parent to be a record already), raise numbers (from 0 when
    missing) and remove attributes (a missing one is no error). An update of an item that does not exist creates
    it, unless an expectation says otherwise."""

    key: ItemKey
    sets: dict[str, Any] = field(default_factory=dict)
    adds: dict[str, int] = field(default_factory=dict)
    expect: tuple[Predicate, ...] = ()
    removes: tuple[str, ...] = ()


Write = Put | Update


@dataclass(frozen=True)
class Change:
    """One transition: its writes land together or not at all, with `record` kept beside them as its own item
    (status.json shows the latest)."""

    writes: tuple[Write, ...]
    record: Transition | None = None

    @property
    def raises_version(self) -> bool:
        """A transition of the chain (status.json is rendered again), not only a note beside it."""
        return any(isinstance(w.key, ChainKey) and (isinstance(w, Put) or "version" in w.adds) for w in self.writes)

    def __post_init__(self) -> None:
        keys = [write.key for write in self.writes]
        if len(set(keys)) != len(keys):
            raise ValueError(f"a change writes each item at most once: {keys}")
        if len(keys) + (self.record is not None) > MAX_WRITES:
            raise ValueError(f"a change writes at most {MAX_WRITES} items, this one {len(keys)} and its record")


# ---- the transitions -----------------------------------------------------------------------------------

_ITEM_EXISTS = (Exists(),)
# The chain item's mark of a chain the reconciler must look at: every transition sets it, the reconciler clears
# it from a chain it found idle. Only marked chains are in the table's sparse index of live chains.
LIVE_ATTRIBUTE = "live"
LIVE = "1"
_IDLE_AND_ACTIVE = (Equals("active_round", 0), Equals("state", ChainState.ACTIVE.value))
_LIVE_JOB = (RoundStatus.STARTING.value, RoundStatus.RUNNING.value)

# What queueing decided about a round. A claim (and a round completed without a job) decides all the rest,
# a field added to RoundRecord included.
QUEUED_FIELDS = frozenset({
    "chain_id", "number", "manifest_name", "manifest_version", "part", "parts", "part_objects", "input_uri",
    "digests_uri", "overlaps", "created_at", "status",
})  # fmt: skip
CLAIMED_FIELDS = tuple(name for name in RoundRecord.model_fields if name not in QUEUED_FIELDS)


def job_attribute(role: Role) -> str:
    """The round's attribute that holds the job of this role."""
    return "job" if role == "round" else role


def _chain_update(
    chain_id: str, sets: dict[str, Any] | None = None, expect: tuple[Predicate, ...] = _ITEM_EXISTS
) -> Update:
    """Every transition updates the chain item, raising its version (status.json is rendered per version) and
    marking the chain live: the reconciler looks at live chains only, until it finds one idle (`mark_idle`)."""
    return Update(ChainKey(chain_id), sets={**(sets or {}), "updated_at": utc_now(), LIVE_ATTRIBUTE: LIVE},
                  adds={"version": 1}, expect=expect)  # fmt: skip


def mark_idle(chain_id: str, version: int) -> Change:
    """The reconciler found nothing to do for the chain at this version: it leaves the live chains (the table's
    sparse index of them). Lost if any transition came since, which marked it live again. Not a transition."""
    return Change((Update(ChainKey(chain_id), removes=(LIVE_ATTRIBUTE,), expect=(Equals("version", version),)),))


def create_chain(chain: ChainRecord) -> Change:
    created = chain.model_copy(update={"version": 1})
    item = {**created.model_dump(mode="json"), LIVE_ATTRIBUTE: LIVE}
    return Change(
        (Put(ChainKey(chain.chain_id), item, expect=(NotExists(),)),),
        Transition(event="chain created", state=chain.state.value, detail=chain.pause_reason),
    )


def update_spec(chain_id: str, spec: ChainSpec, spec_version: str, task_config: list[str]) -> Change:
    """The chain's new chain.json, and the task configuration (worker template, label categories) written for it."""
    sets = {"spec": spec.model_dump(mode="json"), "spec_version": spec_version, "task_config": task_config}
    return Change(
        (_chain_update(chain_id, sets),),
        Transition(event="chain.json applied", detail=f"version {spec_version}"),
    )


def set_state(chain_id: str, state: ChainState, reason: str | None, only_from: ChainState | None = None) -> Change:
    """Pause, stop or resume; only from `only_from` when given, else from any other state."""
    guard = Equals("state", only_from.value) if only_from is not None else NotEquals("state", state.value)
    sets = {"state": state.value, "pause_reason": reason, "unannounced": state != ChainState.ACTIVE}
    return Change(
        (_chain_update(chain_id, sets, (Exists(), guard)),),
        Transition(event=f"chain {state.value}", state=state.value, detail=reason),
    )


def queue_manifest(
    chain: ChainRecord, manifest: ManifestRecord, drafts: list[RoundDraft], digest_index: str | None = None
) -> tuple[Change, list[int]]:
    """A manifest's rounds under the next chain-wide numbers, as read in `chain`: lost if another manifest took
    them first (or this one was queued already). `digest_index`: the chain's index with these rounds in it."""
    if not drafts:
        raise ValueError(f"manifest {manifest.name} has no rounds to queue")
    first = chain.next_round
    numbers = list(range(first, first + len(drafts)))
    queued = manifest.model_copy(update={"rounds": numbers})
    rounds = [
        Put(RoundKey(chain.chain_id, number),
            RoundRecord(chain_id=chain.chain_id, number=number, part_objects=draft.objects,
                        **draft.model_dump()).model_dump(mode="json"))
        for number, draft in zip(numbers, drafts, strict=True)
    ]  # fmt: skip
    detail = (f"{manifest.name} (version {manifest.version}): {manifest.lines} objects as rounds "
              f"{numbers[0]}-{numbers[-1]}")  # fmt: skip
    change = Change(
        (
            _chain_update(chain.chain_id, {"next_round": first + len(drafts)}
                          | ({"digest_index": digest_index} if digest_index else {}), (Equals("next_round", first),)),
            Put(ManifestKey(chain.chain_id, manifest.name, manifest.version), queued.model_dump(mode="json"),
                expect=(NotExists(),)),
            *rounds,
        ),
        Transition(event="manifest queued", detail=detail),
    )  # fmt: skip
    return change, numbers


def complete_manifest(manifest: ManifestRecord, results_uri: str, unlabeled: int) -> Change:
    """Record a manifest's results, once."""
    return Change(
        (
            Update(
                ManifestKey(manifest.chain_id, manifest.name, manifest.version),
                sets={"status": "completed", "results_uri": results_uri, "unlabeled": unlabeled,
                      "completed_at": utc_now()},
                expect=(Exists(), NotEquals("status", "completed")),
            ),
            _chain_update(manifest.chain_id),
        ),
        Transition(event="manifest completed", detail=f"{manifest.name}: results at {results_uri}"),
    )  # fmt: skip


def mark_announced(manifest: ManifestRecord) -> Change:
    """Manifest Completed went out (not a transition: the chain's version stays)."""
    key = ManifestKey(manifest.chain_id, manifest.name, manifest.version)
    return Change((Update(key, sets={"announced": True}, expect=_ITEM_EXISTS),))


def _claimed_round(record: RoundRecord, status: RoundStatus) -> Update:
    dumped = record.model_dump(mode="json")
    return Update(
        RoundKey(record.chain_id, record.number),
        sets={"status": status.value, **{name: dumped[name] for name in CLAIMED_FIELDS}},
        expect=(Equals("status", RoundStatus.QUEUED.value),),
    )


def claim_round(record: RoundRecord) -> Change:
    """Make this round the chain's active one: only if none is active, the chain is active, and the round is
    still queued."""
    jobs = ", ".join(job.name for job in (record.job, record.baseline) if job is not None)
    if record.skipped_objects:
        jobs += f"; {record.skipped_objects} object(s) skipped as already labeled"
    return Change(
        (
            _chain_update(record.chain_id, {"active_round": record.number}, _IDLE_AND_ACTIVE),
            _claimed_round(record, RoundStatus.STARTING),
        ),
        Transition(event="round claimed", round=record.number, detail=f"attempt {record.attempt}: {jobs}"),
    )


def complete_without_job(record: RoundRecord) -> Change:
    """A round whose objects were all labeled already completes at once, in order: the chain is idle and
    active, as for a claim."""
    return Change(
        (_chain_update(record.chain_id, expect=_IDLE_AND_ACTIVE), _claimed_round(record, RoundStatus.COMPLETED)),
        Transition(
            event="round completed without a job",
            round=record.number,
            state=RoundStatus.COMPLETED.value,
            detail=f"all {record.skipped_objects} object(s) were labeled already",
        ),
    )


def _this_job(attribute: str, name: str, statuses: tuple[str, ...]) -> tuple[Predicate, ...]:
    status = Equals(f"{attribute}.status", statuses[0]) if len(statuses) == 1 else In(f"{attribute}.status", statuses)
    return (status, Equals(f"{attribute}.name", name))


@dataclass(frozen=True)
class CreatedJob:
    role: Role
    name: str
    arn: str


def mark_running(chain_id: str, number: int, created: Sequence[CreatedJob]) -> Change:
    """The round's jobs were created: only jobs still starting under these names, all together (one of them
    no longer starting and none is marked)."""
    running = RoundStatus.RUNNING.value
    sets: dict[str, Any] = {}
    expect: tuple[Predicate, ...] = ()
    for job in created:
        attribute = job_attribute(job.role)
        sets |= {f"{attribute}.status": running, f"{attribute}.arn": job.arn, f"{attribute}.started_at": utc_now()}
        expect += _this_job(attribute, job.name, (RoundStatus.STARTING.value,))
        if job.role == "round":
            sets["status"] = running
    [first, *others] = created
    return Change(
        (Update(RoundKey(chain_id, number), sets=sets, expect=expect), _chain_update(chain_id)),
        Transition(event="job running", round=number, role=None if others else first.role,
                   job=", ".join(job.name for job in created), state=running),
    )  # fmt: skip


def record_progress(chain_id: str, number: int, role: Role, name: str, counters: LabelCounts) -> Change:
    """A running job's latest LabelCounters (status.json shows them). Not a transition, but it raises the
    version so the status is rendered again."""
    attribute = job_attribute(role)
    return Change(
        (
            Update(RoundKey(chain_id, number), sets={f"{attribute}.counters": counters.model_dump(mode="json")},
                   expect=_this_job(attribute, name, (RoundStatus.RUNNING.value,))),
            _chain_update(chain_id),
        )
    )  # fmt: skip


def finish_job(chain_id: str, number: int, role: Role, job: JobRecord, latest_model_arn: str | None = None) -> Change:
    """Record a job's end, once. For the round's own job this also frees the chain for the next round and,
    when the job trained a model, makes it the model the chain carries forward. (A completed audit is recorded
    here unscored; `end_audit` records its result.)"""
    attribute = job_attribute(role)
    sets: dict[str, Any] = {attribute: job.model_dump(mode="json")}
    transition = Transition(event=f"job {job.status.value}", round=number, role=role, job=job.name,
                            state=job.status.value, detail=job.failure_reason or job.note)  # fmt: skip
    if role != "round":
        chain = _chain_update(chain_id)
    else:
        sets["status"] = job.status.value
        freed: dict[str, Any] = {"active_round": 0}
        if latest_model_arn:
            freed.update(latest_model_arn=latest_model_arn, latest_model_round=number)
        chain = _chain_update(chain_id, freed, (Equals("active_round", number),))
    round_update = Update(RoundKey(chain_id, number), sets=sets, expect=_this_job(attribute, job.name, _LIVE_JOB))
    return Change((round_update, chain), transition)


def claim_audit(chain_id: str, number: int, audit: AuditJob) -> Change:
    """The audit of a completed round's machine labels, once per round: only while the round has no audit and
    its job is the one audited."""
    return Change(
        (
            Update(RoundKey(chain_id, number), sets={"audit": audit.model_dump(mode="json")},
                   expect=(Equals("status", RoundStatus.COMPLETED.value), Equals("job.name", audit.audited_job),
                           NotExists("audit.name"))),
            _chain_update(chain_id),
        ),
        Transition(event="audit claimed", round=number, role="audit", job=audit.name, state=audit.status.value,
                   detail=f"{audit.objects} of the {audit.machine_labeled} machine-labeled objects of "
                          f"{audit.audited_job}"),
    )  # fmt: skip


def end_audit(chain_id: str, number: int, audit: AuditJob, was: tuple[str, ...], pause_reason: str | None) -> Change:
    """An audit's end, once: its result (a completed, unscored audit: `was` completed), or its failure (a live one).
    With `pause_reason` (the gate: below the bar, or failed while the next round waits for it), the same write
    pauses the chain, which must be active; the caller reads the chain's state to choose."""
    chain_sets: dict[str, Any] = {}
    expect: tuple[Predicate, ...] = _ITEM_EXISTS
    if pause_reason is not None:
        chain_sets = {"state": ChainState.PAUSED.value, "pause_reason": pause_reason, "unannounced": True}
        expect = (Exists(), Equals("state", ChainState.ACTIVE.value))
    result = audit.result
    detail = audit.failure_reason
    if result is not None:
        detail = (f"{result.agreed} of {result.audited} agreed: accuracy {result.accuracy}, 95% interval "
                  f"{result.lower}-{result.upper}" + (f", below minAccuracy {audit.min_accuracy}"
                                                      if result.below_bar else ""))  # fmt: skip
    if pause_reason is not None:
        detail = f"{detail}; chain paused"
    return Change(
        (
            Update(RoundKey(chain_id, number), sets={"audit": audit.model_dump(mode="json")},
                   expect=(*_this_job("audit", audit.name, was), Equals("audit.scored", False))),
            _chain_update(chain_id, chain_sets, expect),
        ),
        Transition(event="audit scored" if result is not None else f"job {audit.status.value}", round=number,
                   role="audit", job=audit.name, state=audit.status.value, detail=detail),
    )  # fmt: skip


def state_announced(chain_id: str) -> Change:
    """The chain's pause or stop was announced (not a transition: the version stays)."""
    return Change((Update(ChainKey(chain_id), sets={"unannounced": False}, expect=(Equals("unannounced", True),)),))


def requeue_round(chain_id: str, number: int) -> Change:
    """A failed or stopped round goes back to the queue; its next claim gets a new attempt (a new name)."""
    return Change(
        (
            Update(RoundKey(chain_id, number), sets={"status": RoundStatus.QUEUED.value},
                   expect=(In("status", (RoundStatus.FAILED.value, RoundStatus.STOPPED.value)),)),
            _chain_update(chain_id),
        ),
        Transition(event="round requeued", round=number, state=RoundStatus.QUEUED.value, detail="retried on resume"),
    )  # fmt: skip


def record_rejection(chain_id: str, rejection: Rejection) -> Change:
    """A rejected upload, once per key and version. Not a transition of the chain: it is kept whether or not
    the chain exists yet (a first chain.json can be rejected)."""
    key = RejectionKey(chain_id, rejection.key, rejection.version)
    return Change((Put(key, asdict(rejection), expect=(NotExists(),)),))


def rejection_noted(chain_id: str, rejection: Rejection) -> Change:
    """A chain that exists notes a new rejection as a transition, so a status.json rendered meanwhile is
    rendered again (lost when there is no chain: nothing to raise)."""
    name = rejection.key.rsplit("/", 1)[-1]
    return Change(
        (_chain_update(chain_id),),
        Transition(event="upload rejected", detail=f"{name} (version {rejection.version}): {rejection.reason}"),
    )
