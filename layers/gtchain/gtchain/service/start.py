"""Start: a chain.json or an inbox manifest arrived in the data bucket."""

import json
import secrets
import tempfile
from typing import Any
from urllib.parse import unquote_plus

from gtchain.domain import events, names
from gtchain.domain.manifest import Issue, check_parts, scan_manifest, split_sizes
from gtchain.domain.records import ChainRecord, ManifestRecord, RoundDraft, RoundStatus, utc_now
from gtchain.domain.spec import MAX_SPEC_BYTES, ChainSpec, ChainState, parse_chain_spec, spec_too_large
from gtchain.observability import logger
from gtchain.service.chain import announce_state, kick, stop_jobs, write_task_config
from gtchain.service.dedupe import index_preparer
from gtchain.service.outcome import Outcome
from gtchain.service.ports import ObjectInfo, Ports, Rejection, TransientError
from gtchain.service.settle import settle


def resolve_key(ports: Ports, bucket: str, event_key: str, version: str | None) -> ObjectInfo | None:
    """The event's key may or may not be URL-encoded (a space as '+'): accept whichever names the object."""
    for candidate in dict.fromkeys((event_key, unquote_plus(event_key))):
        info = ports.objects.head(bucket, candidate, version)
        if info is not None:
            return info
    return None


def handle_object_created(ports: Ports, bucket: str, event_key: str, version: str | None) -> Outcome:
    with ports.invocation():
        return _object_created(ports, bucket, event_key, version)


def _object_created(ports: Ports, bucket: str, event_key: str, version: str | None) -> Outcome:
    if bucket != ports.settings.data_bucket:
        return Outcome("ignored", f"bucket {bucket} is not the data bucket")
    info = resolve_key(ports, bucket, event_key, version)
    if info is None:
        # Deleted (or overwritten in an unversioned bucket) before we got here: nothing to do.
        logger.info("object is gone", extra={"key": event_key, "version": version})
        return Outcome("ignored", "object no longer exists")
    try:
        target = names.classify_key(info.key)
    except names.InvalidChainIdError as exc:
        return reject(ports, info, None, [Issue(str(exc), field="chain id")])
    except names.NotAChainObjectError as exc:
        chain_id = info.key.split("/")[1]
        rejected = reject(ports, info, chain_id, [Issue(str(exc), field="key")])
        settle(ports, chain_id)  # status.json shows the rejection
        return rejected
    if target.kind == "spec":
        outcome = apply_spec(ports, target.chain_id, info)
    else:
        outcome = queue_manifest(ports, target.chain_id, target.name, info)
    settle(ports, target.chain_id)
    return outcome


def reject(ports: Ports, info: ObjectInfo, chain_id: str | None, issues: list[Issue],
           issue_count: int | None = None) -> Outcome:  # fmt: skip
    """Write the error report once per object version; the object itself is left where the user put it."""
    bucket = ports.settings.data_bucket
    report_key = names.error_report_key(info.key, info.version, chain_id)
    total = issue_count if issue_count is not None else len(issues)
    report = {
        "object": f"s3://{bucket}/{info.key}",
        "versionId": info.version,
        "chainId": chain_id,
        "rejectedAt": utc_now(),
        "errorCount": total,
        "errors": [issue.as_dict() for issue in issues],
        "truncated": total > len(issues),
    }
    first = issues[0]
    where = ", ".join(p for p in (f"line {first.line}" if first.line else "",
                                   f"field {first.field}" if first.field else "") if p)  # fmt: skip
    reason = f"{total} error(s); first: {where + ': ' if where else ''}{first.message}"
    if ports.objects.put_if_absent(bucket, report_key, json.dumps(report, indent=2).encode(), "application/json"):
        summary = f"{info.key}: {reason}"
        logger.warning("input rejected", extra={"key": info.key, "report": report_key, "errors": total})
        ports.publisher.publish(
            events.MANIFEST_REJECTED,
            {"chainId": chain_id, "key": info.key, "versionId": info.version, "status": "rejected",
             "reason": summary, "report": f"s3://{bucket}/{report_key}"},
        )  # fmt: skip
        ports.publisher.notify(
            f"gtchain: rejected {info.key.rsplit('/', 1)[-1]}",
            f"{summary}\nFull report: s3://{bucket}/{report_key}\nThe object was left untouched.",
        )
    if chain_id is not None:  # every time (a retried invocation may have ended before this): it is idempotent
        rejection = Rejection(key=info.key, version=info.version, rejected_at=str(report["rejectedAt"]),
                              reason=reason, report_key=report_key, errors=total)  # fmt: skip
        ports.store.record_rejection(chain_id, rejection)
    return Outcome("rejected", report_key)


def apply_spec(ports: Ports, chain_id: str, info: ObjectInfo) -> Outcome:
    bucket = ports.settings.data_bucket
    latest = ports.objects.head(bucket, info.key)
    if latest is not None and latest.version != info.version:
        # Events can arrive out of order: a late "stopped" must not undo the "active" uploaded after it.
        logger.info("chain.json superseded", extra={"chain_id": chain_id, "version": info.version})
        return Outcome("superseded", f"version {latest.version} is newer")
    if info.size > MAX_SPEC_BYTES:  # the size alone rejects it: not read into memory
        spec, issues = None, [spec_too_large(info.size)]
    else:
        spec, issues = parse_chain_spec(ports.objects.get_bytes(bucket, info.key, info.version))
    chain = ports.store.get_chain(chain_id)
    if spec is not None and chain is not None and (changed := spec.immutable_fields_changed(chain.spec)):
        issues = [
            Issue(f"{name} cannot change during a chain's life (the carried model depends on it)", field=name)
            for name in changed
        ]
    if spec is None or issues:
        return reject(ports, info, chain_id, issues)

    task_config = write_task_config(ports, chain_id, spec)
    if chain is None:
        created = ChainRecord(
            chain_id=chain_id,
            incarnation=secrets.token_hex(3),
            spec=spec,
            spec_version=info.version,
            state=spec.state,
            pause_reason=None if spec.state == ChainState.ACTIVE else f"chain.json says {spec.state}",
            latest_model_arn=spec.initial_model_arn,
            task_config=task_config,
        )
        if ports.store.create_chain(created):
            logger.info("chain created", extra={"chain_id": chain_id, "incarnation": created.incarnation})
        chain = ports.store.get_chain(chain_id)
        if chain is None:
            raise TransientError(f"chain {chain_id} is not in the table right after it was created: retry")
    else:
        ports.store.update_spec(chain_id, spec, info.version, task_config)
        _apply_control(ports, chain, spec)
    picked = pick_up_inbox(ports, chain_id)
    kick(ports, chain_id)
    return Outcome("spec-applied", f"{len(picked)} waiting manifest(s) picked up")


def _apply_control(ports: Ports, chain: ChainRecord, spec: ChainSpec) -> None:
    """chain.json's "state": active resumes (retrying a failed round), paused holds, stopped also stops jobs."""
    store, chain_id = ports.store, chain.chain_id
    if spec.state == ChainState.ACTIVE:
        for record in store.list_rounds(chain_id):
            if record.status in (RoundStatus.FAILED, RoundStatus.STOPPED):
                store.requeue_round(chain_id, record.number)
        if store.set_state(chain_id, ChainState.ACTIVE, None):
            logger.info("chain resumed", extra={"chain_id": chain_id})
            ports.publisher.publish(events.CHAIN_RESUMED, {"chainId": chain_id, "state": "active"})
        return
    reason = f"chain.json says {spec.state}"
    store.set_state(chain_id, spec.state, reason)
    announce_state(ports, chain_id)
    if spec.state == ChainState.STOPPED:
        for record in store.list_rounds(chain_id):
            stop_jobs(ports, record, "chain.json says stopped")


def pick_up_inbox(ports: Ports, chain_id: str) -> list[str]:
    """Queue every manifest in the inbox that has neither been queued nor rejected."""
    bucket = ports.settings.data_bucket
    picked = []
    for listed in ports.objects.list_objects(bucket, names.inbox_prefix(chain_id)):
        name = listed.key.removeprefix(names.inbox_prefix(chain_id))
        if "/" in name or not name.endswith(names.MANIFEST_SUFFIX):
            continue
        info = ports.objects.head(bucket, listed.key)
        if info is None or _already_seen(ports, chain_id, name, info):
            continue
        queue_manifest(ports, chain_id, name, info)
        picked.append(name)
    return picked


def spec_drifted(ports: Ports, chain: ChainRecord) -> ObjectInfo | None:
    """The chain's chain.json when it is newer than the one applied and was not rejected (its event was lost)."""
    bucket = ports.settings.data_bucket
    info = ports.objects.head(bucket, names.spec_key(chain.chain_id))
    if info is None or info.version == chain.spec_version:
        return None
    if ports.objects.head(bucket, names.error_report_key(info.key, info.version, chain.chain_id)) is not None:
        return None
    return info


def _already_seen(ports: Ports, chain_id: str, name: str, info: ObjectInfo) -> bool:
    """Queued or rejected already (a rejection whose record a crash lost is rejected again: its report and
    notification are written once)."""
    if ports.store.get_manifest(chain_id, name, info.version) is not None:
        return True
    return any((r.key, r.version) == (info.key, info.version) for r in ports.store.list_rejections(chain_id))


def queue_manifest(ports: Ports, chain_id: str, name: str, info: ObjectInfo) -> Outcome:
    chain = ports.store.get_chain(chain_id)
    if chain is None:
        logger.info("manifest waits for its chain.json", extra={"chain_id": chain_id, "key": info.key})
        return Outcome("waiting", "no chain.json yet")
    if _already_seen(ports, chain_id, name, info):
        kick(ports, chain_id)
        return Outcome("duplicate", info.key)
    bucket = ports.settings.data_bucket
    spec = chain.spec
    with tempfile.TemporaryFile() as accepted:
        scan = scan_manifest(
            ports.objects.iter_lines(bucket, info.key, info.version),
            task=spec.profile,
            allowed_buckets=ports.settings.allowed_source_buckets,
            sink=accepted,
        )
        sizes = split_sizes(scan.objects, spec.rounds) if scan.objects else []
        issues = scan.issues + check_parts(scan, sizes)
        if issues:
            return reject(ports, info, chain_id, issues, scan.issue_count + len(issues) - len(scan.issues))
        accepted.seek(0)
        drafts = _write_parts(ports, chain_id, name, info.version, accepted, sizes)
    manifest = ManifestRecord(chain_id=chain_id, name=name, version=info.version, lines=scan.objects, rounds=[])
    # The parts' object identities go into the chain's digest index, for the never-pay-twice check.
    parts, start = [], 0
    for size in sizes:
        parts.append(scan.source_digests[start : start + size])
        start += size
    numbers = ports.store.queue_manifest(manifest, drafts, index_preparer(ports, parts))
    if numbers is None:
        return Outcome("duplicate", info.key)
    logger.info("manifest queued", extra={"chain_id": chain_id, "key": info.key, "rounds": numbers})
    kick(ports, chain_id)
    return Outcome("queued", f"rounds {numbers}")


def _write_parts(
    ports: Ports, chain_id: str, name: str, version: str, accepted: Any, sizes: list[int]
) -> list[RoundDraft]:
    bucket = ports.settings.data_bucket
    drafts = []
    for index, size in enumerate(sizes, start=1):
        key = names.part_key(chain_id, name, version, index, len(sizes))
        with tempfile.TemporaryFile() as part:
            for _ in range(size):
                part.write(accepted.readline())
            part.seek(0)
            ports.objects.upload(bucket, key, part, "application/x-ndjson")
        drafts.append(RoundDraft(manifest_name=name, manifest_version=version, part=index, parts=len(sizes),
                                 objects=size, input_uri=f"s3://{bucket}/{key}"))  # fmt: skip
    return drafts
