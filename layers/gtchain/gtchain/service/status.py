"""status.json: where a chain stands, derived from the table after every transition (never edited by hand).

Every transition raises the chain's version in the same write and stores itself as a table item. The
document is rendered from a snapshot read at one version; after writing it, the writer checks the version
again and renders anew if a transition slipped in, so the last write always shows the latest state even
when transitions race (a writer that rendered an older version can only be followed by a check that sees
the newer one).

It also shows the uploads that were rejected (the latest version of each key, while it is the key's current
version) and, before the chain exists, the manifests waiting for its chain.json: a chain whose first
chain.json was rejected, or that has none yet, still gets a status.json (state "waiting").
"""

import json
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from gtchain.domain import names
from gtchain.domain.audit import audit_bar, gate_waits
from gtchain.domain.forecast import RoundForecast
from gtchain.domain.pricing import cents_or_none
from gtchain.domain.records import (
    AuditJob,
    ChainSnapshot,
    JobRecord,
    ManifestRecord,
    RoundRecord,
    RoundStatus,
    utc_now,
)
from gtchain.domain.spec import ChainState
from gtchain.observability import logger
from gtchain.service.chain import LIVE, spent_usd
from gtchain.service.forecast import next_round_forecast
from gtchain.service.ports import Ports, Rejection

TRANSITIONS_SHOWN = 10
_WRITE_ATTEMPTS = 5


def _usd(amount: Decimal | None) -> str | None:
    cents = cents_or_none(amount)
    return None if cents is None else str(cents)


def _job_view(job: JobRecord | None) -> dict[str, Any] | None:
    if job is None:
        return None
    view: dict[str, Any] = {
        "name": job.name,
        "status": job.status.value,
        "arn": job.arn,
        "startedAt": job.started_at,
        "initialModelArn": job.initial_model_arn,
        "labelCounters": job.counters.model_dump() if job.counters else None,  # last known (reconciler)
    }
    if job.finished_at:
        view.update(finishedAt=job.finished_at, costUsd=_usd(job.cost_usd), finalModelArn=job.final_model_arn)
    if job.failure_reason:
        view["failureReason"] = job.failure_reason
    return view


def _round_view(record: RoundRecord) -> dict[str, Any]:
    return {
        "round": record.number,
        "manifest": record.manifest_name,
        "part": f"{record.part}/{record.parts}",
        "status": record.status.value,
        "attempt": record.attempt,
        "objects": record.objects,
        "skippedObjects": record.skipped_objects,
        "skippedList": record.skipped_uri,
        "worstCaseUsd": _usd(record.worst_case_usd),
        "warnings": record.warnings,  # eligibility: why auto-labeling cannot run, or is unlikely to pay
        "job": _job_view(record.job),
        "baseline": _job_view(record.baseline),
        "audit": _audit_view(record.audit),
    }


def _number(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def _audit_view(audit: AuditJob | None) -> dict[str, Any] | None:
    """An audit of the round's machine labels (domain.audit): its job, its sample and, once scored, its result."""
    if audit is None:
        return None
    result = audit.result
    return {
        "job": _job_view(audit),
        "auditedJob": audit.audited_job,
        "kind": audit.kind,
        "sampled": audit.objects,
        "machineLabeled": audit.machine_labeled,
        "minAccuracy": _number(audit.min_accuracy),
        "scored": audit.scored,
        "result": None if result is None else {
            "audited": result.audited, "agreed": result.agreed, "accuracy": _number(result.accuracy),
            "lower": _number(result.lower), "upper": _number(result.upper), "belowBar": result.below_bar,
            "classes": [{"name": c.name, "audited": c.audited, "agreed": c.agreed, "accuracy": float(c.accuracy),
                         "lower": float(c.lower), "upper": float(c.upper)} for c in result.classes],
        },
        "note": audit.note,
    }  # fmt: skip


def _gate_view(rounds: list[RoundRecord], queued: list[RoundRecord]) -> str | None:
    """Why the next queued round has not started, when an earlier round's audit holds it (minAccuracy)."""
    if not queued:
        return None
    waited = gate_waits(rounds, queued[0].number)
    if waited is None:
        return None
    return f"round {queued[0].number} waits for the audit of round {waited.number} (minAccuracy {audit_bar(waited)})"


def _forecast_view(forecast: RoundForecast | None) -> dict[str, Any] | None:
    """domain.forecast's RoundForecast as JSON: amounts as strings of cents, like every amount here."""
    return None if forecast is None else forecast.model_dump(by_alias=True, mode="json")


def _queued_view(record: RoundRecord) -> dict[str, Any]:
    return {
        "round": record.number,
        "manifest": record.manifest_name,
        "part": f"{record.part}/{record.parts}",
        "objects": record.part_objects,
        "attempt": record.attempt,
    }


def _manifest_view(manifest: ManifestRecord, rounds: dict[int, RoundRecord]) -> dict[str, Any]:
    own = [rounds[n] for n in manifest.rounds if n in rounds]
    done = [r for r in own if r.status == RoundStatus.COMPLETED]
    if manifest.status == "completed":
        progress = "completed"
    elif len(done) == len(manifest.rounds):
        progress = "writing results"  # waits for Ground Truth's output manifests
    elif any(r.status != RoundStatus.QUEUED for r in own):
        progress = "in progress"
    else:
        progress = "queued"
    return {
        "name": manifest.name,
        "version": manifest.version,
        "objects": manifest.lines,
        "rounds": manifest.rounds,
        "roundsCompleted": len(done),
        "objectsDone": sum(r.part_objects for r in done),
        "skippedObjects": sum(r.skipped_objects for r in own),
        "status": progress,
        "resultsUri": manifest.results_uri,
        "queuedAt": manifest.created_at,
        "completedAt": manifest.completed_at,
    }


def render_status(snapshot: ChainSnapshot, generated_at: str, rejections: Sequence[Rejection] = ()) -> dict[str, Any]:
    chain = snapshot.chain
    rounds = sorted(snapshot.rounds, key=lambda r: r.number)
    by_number = {r.number: r for r in rounds}
    active = by_number.get(chain.active_round)
    queued = [r for r in rounds if r.status == RoundStatus.QUEUED]
    other_baselines = [r for r in rounds if r is not active and r.baseline is not None and r.baseline.status in LIVE]
    state = chain.state.value
    live_audits = [r for r in rounds if r.audit is not None and r.audit.status in LIVE]
    if chain.state == ChainState.ACTIVE and active is None and not queued and not other_baselines and not live_audits:
        state = "idle"
    spent = spent_usd(rounds)
    budget = chain.spec.budget_usd
    return {
        "chainId": chain.chain_id,
        "incarnation": chain.incarnation,
        "version": chain.version,
        "generatedAt": generated_at,
        "state": state,
        "reason": chain.pause_reason if chain.state != ChainState.ACTIVE else None,
        "specVersion": chain.spec_version,
        "running": _round_view(active) if active else None,
        "runningBaselines": [
            {"round": r.number, "baseline": _job_view(r.baseline)} for r in other_baselines
        ],  # baselines of earlier rounds, still running beside the chain
        "queued": [_queued_view(r) for r in queued],
        "manifests": [_manifest_view(m, by_number) for m in sorted(snapshot.manifests, key=lambda m: m.created_at)],
        "spentUsd": _usd(spent),  # finished jobs at their cost, running ones at their worst case
        "budgetUsd": _usd(budget),
        "budgetLeftUsd": None if budget is None else _usd(budget - spent),
        "latestModelArn": chain.latest_model_arn,
        "latestModelRound": chain.latest_model_round,
        "roundsCompleted": sum(1 for r in rounds if r.status == RoundStatus.COMPLETED),
        "nextRound": _forecast_view(next_round_forecast(chain, rounds)),  # the next queued round's forecast
        "transitions": [t.model_dump(exclude_none=True) for t in snapshot.transitions],  # newest first
        "audits": [{"round": r.number, **(_audit_view(r.audit) or {})} for r in rounds if r.audit is not None],
        "auditGate": _gate_view(rounds, queued),  # the next round waits for an earlier round's audit
        "rejected": [_rejection_view(r) for r in rejections],  # newest first
        "waitingManifests": [],  # only before the chain exists
    }


def _rejection_view(rejection: Rejection) -> dict[str, Any]:
    return {
        "key": rejection.key,
        "name": rejection.key.rsplit("/", 1)[-1],
        "versionId": rejection.version,
        "rejectedAt": rejection.rejected_at,
        "reason": rejection.reason,
        "errorCount": rejection.errors,
        "errorReportKey": rejection.report_key,
    }


def render_waiting(
    chain_id: str, rejections: Sequence[Rejection], waiting: Sequence[dict[str, Any]], generated_at: str
) -> dict[str, Any]:
    """status.json of a chain not in the table yet: no chain.json was accepted, so nothing runs; the manifests
    wait. The fields are those of render_status, empty."""
    spec_rejected = next((r for r in rejections if r.key == names.spec_key(chain_id)), None)
    reason = (
        f"chain.json (version {spec_rejected.version}) was rejected: {spec_rejected.reason}; upload a corrected one"
        if spec_rejected
        else "no chain.json yet: manifests wait for one"
    )
    return {
        "chainId": chain_id, "incarnation": None, "version": 0, "generatedAt": generated_at, "state": "waiting",
        "reason": reason, "specVersion": None, "running": None, "runningBaselines": [], "queued": [],
        "manifests": [], "spentUsd": "0.00", "budgetUsd": None, "budgetLeftUsd": None, "latestModelArn": None,
        "latestModelRound": None, "roundsCompleted": 0, "nextRound": None, "transitions": [], "audits": [],
        "auditGate": None, "rejected": [_rejection_view(r) for r in rejections], "waitingManifests": list(waiting),
    }  # fmt: skip


def standing_rejections(ports: Ports, chain_id: str) -> list[Rejection]:
    """The rejections that still stand, newest first: per key, the one of the key's current version (a later
    upload of the key, accepted or not, replaces it; a deleted key has none)."""
    by_key: dict[str, list[Rejection]] = {}
    for rejection in ports.store.list_rejections(chain_id):
        by_key.setdefault(rejection.key, []).append(rejection)
    standing = []
    for key, rejections in by_key.items():
        current = ports.objects.head(ports.settings.data_bucket, key)
        if current is not None and (match := [r for r in rejections if r.version == current.version]):
            standing.append(max(match, key=lambda r: r.rejected_at))
    return sorted(standing, key=lambda r: r.rejected_at, reverse=True)


def waiting_manifests(ports: Ports, chain_id: str, rejections: Sequence[Rejection]) -> list[dict[str, Any]]:
    """Inbox manifests of a chain not in the table yet, except those whose current version was rejected."""
    bucket, prefix = ports.settings.data_bucket, names.inbox_prefix(chain_id)
    rejected = {(r.key, r.version) for r in rejections}
    waiting = []
    for listed in ports.objects.list_objects(bucket, prefix):
        name = listed.key.removeprefix(prefix)
        if "/" in name or not name.endswith(names.MANIFEST_SUFFIX):
            continue
        info = ports.objects.head(bucket, listed.key)
        if info is not None and (info.key, info.version) not in rejected:
            waiting.append({"name": name, "key": info.key, "versionId": info.version, "bytes": info.size})
    return waiting


# status.json carries the incarnation and version it shows as object metadata too: a HeadObject tells whether it
# is behind the table.
_INCARNATION, _VERSION = "incarnation", "version"


def _written_version(ports: Ports, key: str) -> tuple[str, int] | None:
    info = ports.objects.head(ports.settings.data_bucket, key)
    if info is None or _VERSION not in info.metadata:
        return None
    return info.metadata.get(_INCARNATION, ""), int(info.metadata[_VERSION])


def refresh_status(ports: Ports, chain_id: str, *, only_if_stale: bool = False) -> int | None:
    """Write status.json from the table; returns the version written (None: no chain, whose document, if it has
    rejected uploads or waiting manifests, is written too). With only_if_stale, a document already showing this
    version (or a later one) is left alone."""
    bucket, key = ports.settings.data_bucket, names.status_key(chain_id)
    for _ in range(_WRITE_ATTEMPTS):
        chain = ports.store.get_chain(chain_id)
        if only_if_stale and chain is not None:
            written = _written_version(ports, key)
            if written is not None and written[0] == chain.incarnation and written[1] >= chain.version:
                return written[1]
        snapshot = ports.store.snapshot(chain_id, TRANSITIONS_SHOWN)
        if snapshot is None:
            if _write_waiting(ports, chain_id):
                return None
            ports.store.forget(chain_id)  # created meanwhile, or its uploads changed
            continue
        chain = snapshot.chain
        rejections = standing_rejections(ports, chain_id)
        body = json.dumps(render_status(snapshot, utc_now(), rejections), indent=2).encode()
        metadata = {_INCARNATION: chain.incarnation, _VERSION: str(chain.version)}
        ports.objects.put(bucket, key, body, "application/json", metadata)
        if ports.store.chain_version(chain_id) == chain.version:
            return chain.version
        ports.store.forget(chain_id)  # a transition came meanwhile: render it
    logger.warning("status.json kept changing while written: the next transition or the reconciler rewrites it",
                   extra={"chain_id": chain_id})  # fmt: skip
    return None


def _write_waiting(ports: Ports, chain_id: str) -> bool:
    """The status.json of a chain not in the table yet, if it has rejected uploads or waiting manifests. True
    when done (written, or nothing to show); False when what it shows changed while it was written, or the
    chain was created meanwhile: the caller renders again."""
    rejections = standing_rejections(ports, chain_id)
    waiting = waiting_manifests(ports, chain_id, rejections)
    if not rejections and not waiting:
        return True
    document = render_waiting(chain_id, rejections, waiting, utc_now())
    ports.objects.put(ports.settings.data_bucket, names.status_key(chain_id), json.dumps(document, indent=2).encode(),
                      "application/json")  # fmt: skip
    if ports.store.chain_version(chain_id) is not None:
        return False
    again = standing_rejections(ports, chain_id)
    return again == rejections and waiting_manifests(ports, chain_id, again) == waiting
