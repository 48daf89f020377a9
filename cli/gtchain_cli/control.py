"""pause, stop, resume: a read-modify-write of chain.json that never overwrites a concurrent edit, then a bounded
wait until status.json shows the change.

The write is conditional on the ETag read (S3 PutObject If-Match): if anyone changed chain.json in between,
the write fails (412, or 409 for a concurrent conditional write), and the command reads it again and applies
its one change (the "state" field) to what it finds, so the other edit is kept. After a few lost races it
stops and says so. A chain.json whose current version was rejected is not edited: the command says why.
"""

import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from gtchain.domain import names
from gtchain_cli.bucket import DataBucket, WriteConflictError, check_chain_id
from gtchain_cli.errors import CliError, Exit

Wanted = Literal["paused", "stopped", "active"]
ATTEMPTS = 5
SETTLE_POLLS = 3  # polls with an unchanged status.json after the spec was applied: the state is final


class Clock:
    """Wall time; the tests swap in the emulator's, so waiting lets emulated time pass."""

    def now(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


CLOCK = Clock()


@dataclass(frozen=True)
class Change:
    uploaded: bool
    version: str  # chain.json's version in force after the command (the one uploaded, or the one found)
    before: str  # "state" in chain.json before
    attempts: int


def matches(wanted: Wanted, state: str | None) -> bool:
    return state in ("active", "idle") if wanted == "active" else state == wanted


def standing_rejection(status: dict[str, Any] | None, chain_id: str, version: str) -> dict[str, Any] | None:
    key = names.spec_key(chain_id)
    for rejected in (status or {}).get("rejected", []):
        if rejected.get("key") == key and rejected.get("versionId") == version:
            return dict(rejected)
    return None


def rejected_error(rejection: dict[str, Any], bucket: DataBucket, chain_id: str) -> CliError:
    return CliError(f"chain.json version {rejection['versionId']} was rejected: {rejection['reason']} (report "
                    f"{bucket.uri(rejection['errorReportKey'])}); fix it and upload it with `gtchain submit "
                    f"{chain_id} --spec chain.json`", Exit.INVALID)  # fmt: skip


def change_state(
    bucket: DataBucket,
    chain_id: str,
    wanted: Wanted,
    status: dict[str, Any] | None,
    clock: Clock = CLOCK,
) -> Change:
    """Set chain.json's "state" (a conditional write, retried on conflict). Nothing is uploaded when chain.json
    already says so, except to resume a chain paused by a failure or its budget (the service resumes on an
    upload of an unchanged chain.json)."""
    key = names.spec_key(check_chain_id(chain_id))
    for attempt in range(1, ATTEMPTS + 1):
        stored = bucket.get(key)
        if stored is None:
            raise CliError(f"chain {chain_id} has no chain.json in s3://{bucket.name}: create the chain with "
                           f"`gtchain submit {chain_id} --spec chain.json`", Exit.NOT_FOUND)  # fmt: skip
        if (rejection := standing_rejection(status, chain_id, stored.version)) is not None:
            raise rejected_error(rejection, bucket, chain_id)
        try:
            document = json.loads(stored.body)
        except ValueError as exc:
            raise CliError(f"{bucket.uri(key)} is not valid JSON ({exc}): fix it with `gtchain submit {chain_id} "
                           "--spec chain.json`", Exit.INVALID) from None  # fmt: skip
        if not isinstance(document, dict):
            raise CliError(f"{bucket.uri(key)} is not a JSON object: fix it with `gtchain submit`", Exit.INVALID)
        before = str(document.get("state", "active"))
        shown = (status or {}).get("state")
        if before == wanted and (wanted != "active" or shown not in ("paused", "stopped")):
            return Change(False, stored.version, before, attempt)
        if before == wanted:
            body = stored.body  # resume a chain paused by a failure or its budget: the same chain.json again
        else:
            document["state"] = wanted
            body = (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode()
        try:
            version = bucket.put(key, body, if_match=stored.etag)
        except WriteConflictError:
            clock.sleep(min(0.2 * 2**attempt, 2.0) * (0.5 + secrets.randbelow(1000) / 1000))
            continue
        return Change(True, version, before, attempt)
    raise CliError(f"chain.json of {chain_id} kept changing while this command changed it ({ATTEMPTS} attempts): "
                   "someone else is editing it; run the command again when they are done", Exit.CONFLICT)  # fmt: skip


def wait_for(
    bucket: DataBucket, chain_id: str, wanted: Wanted, version: str, timeout: float, interval: float,
    clock: Clock = CLOCK, on_poll: Callable[[dict[str, Any] | None], None] | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Poll status.json until it shows chain.json `version` applied and the state settled: the wanted state,
    or (after SETTLE_POLLS polls without a change) whatever state the service put the chain in."""
    deadline = clock.now() + timeout
    last_version, unchanged = None, 0
    while True:
        status = bucket.status(chain_id)
        if on_poll is not None:
            on_poll(status)
        if status is not None:
            if (rejection := standing_rejection(status, chain_id, version)) is not None:
                raise rejected_error(rejection, bucket, chain_id)
            if status.get("specVersion") == version:
                if matches(wanted, status.get("state")):
                    return status
                unchanged = unchanged + 1 if status.get("version") == last_version else 0
                last_version = status.get("version")
                if unchanged >= SETTLE_POLLS:
                    return status
        if clock.now() >= deadline:
            raise CliError(f"chain.json version {version} was uploaded, but status.json does not show it after "
                           f"{timeout:g} s: see `gtchain status {chain_id}` and `gtchain errors {chain_id}` "
                           "(the StartFunction's logs say more)", Exit.TIMEOUT)  # fmt: skip
        clock.sleep(interval)
