"""The `gtchain` command: run and watch chains on a deployed stack (--stack NAME) or the local endpoint (--local).

Every command reads and writes what a user would by hand (chain.json, the inbox, status.json, results/, errors/,
reports/ in the data bucket) and asks Ground Truth for live progress; nothing here changes a chain behind the
service's back. Errors a person can fix print one line saying what to do, with an exit code from errors.Exit
(docs/cli.md lists them); a traceback only with --debug.

This module imports typer and rich: it is the operator's tool, installed with the dev environment (`make venv`),
and nothing the Lambda functions import reaches it.
"""

import importlib
import json
import os
import sys
import traceback
import webbrowser
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.text import Text
from typer.core import TyperGroup

from gtchain.adapters.s3 import S3ObjectStore
from gtchain.domain import names
from gtchain.domain.report.summary import PriceOverrides
from gtchain.domain.spec import parse_chain_spec
from gtchain.service.exports import ExportError, export_to_directory
from gtchain_cli import checks, control, jobs, views
from gtchain_cli.bucket import DataBucket, WriteConflictError, check_chain_id, no_such_chain
from gtchain_cli.errors import CliError, Exit, translate
from gtchain_cli.target import Target, aws_session, choose, resolve
from gtchain_cli.watch import watch as watch_chain

PROG = "gtchain"
DEFAULT_WIDTH = 120  # for output that is not a terminal (pipes, files, tests): tables are not squeezed to 80


@dataclass
class State:
    """The global options, and what they resolve to once a command needs it."""

    stack: str | None = None
    local: bool = False
    profile: str | None = None
    region: str | None = None
    debug: bool = False
    out: Console = field(default_factory=lambda: _console(stderr=False))
    err: Console = field(default_factory=lambda: _console(stderr=True))
    _target: Target | None = None

    def target(self) -> Target:
        if self._target is None:
            self._target = resolve(choose(self.stack, self.local), profile=self.profile, region=self.region)
        return self._target

    @property
    def resolved(self) -> Target | None:
        return self._target

    def bucket(self) -> DataBucket:
        target = self.target()
        return DataBucket(target.s3, target.bucket)


def _console(*, stderr: bool) -> Console:
    stream = sys.stderr if stderr else sys.stdout
    width = None if stream.isatty() or os.environ.get("COLUMNS") else DEFAULT_WIDTH
    return Console(stderr=stderr, highlight=False, soft_wrap=True, width=width)


def _fail(state: State | None, message: str) -> None:
    console = state.err if state is not None else _console(stderr=True)
    console.print(Text(f"error: {message}", style="red"))


_GLOBAL_VALUES = ("--stack", "--profile", "--region")
_GLOBAL_FLAGS = ("--local", "--debug")


def hoist_global_options(args: list[str]) -> list[str]:
    """The global options may also follow the command, as in `gtchain status birds --stack prod`: they are moved
    before it. Not past `--`, and not from what follows `local` (those are the endpoint's own options)."""
    front: list[str] = []
    rest: list[str] = []
    command_seen = False
    index = 0
    while index < len(args):
        arg = args[index]
        if arg == "--" or (command_seen and rest and rest[0] == "local"):
            rest.extend(args[index:])
            break
        name = arg.split("=", 1)[0]
        if arg in _GLOBAL_FLAGS:
            front.append(arg)
        elif name in _GLOBAL_VALUES and ("=" in arg or index + 1 < len(args)):
            front.extend([arg] if "=" in arg else [arg, args[index + 1]])
            index += 0 if "=" in arg else 1
        else:
            command_seen = command_seen or not arg.startswith("-")
            rest.append(arg)
        index += 1
    return front + rest


class _Group(TyperGroup):
    """Turns errors into one line and an exit code: usage errors here, everything else in invoke."""

    def main(
        self,
        args: Any = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        args = hoist_global_options(list(sys.argv[1:] if args is None else args))
        try:
            code = super().main(args, prog_name, complete_var, False, windows_expand_args, **extra)
        except typer.TyperException as exc:  # bad flags and arguments (click's usage errors)
            command = getattr(getattr(exc, "ctx", None), "command_path", PROG)
            hint = f" (see `{command} --help`)" if getattr(exc, "exit_code", 1) == Exit.USAGE else ""
            _fail(None, f"{exc.format_message()}{hint}")
            code = getattr(exc, "exit_code", Exit.USAGE)
        except typer.Abort:
            _fail(None, "interrupted")
            code = Exit.INTERRUPTED
        code = int(code) if isinstance(code, int) else 0
        if standalone_mode:
            sys.exit(code)
        return code

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, typer.TyperException):
            raise
        except Exception as exc:
            state = ctx.obj if isinstance(ctx.obj, State) else None
            debug = state.debug if state is not None else bool(os.environ.get("GTCHAIN_DEBUG"))
            if debug:
                traceback.print_exc(file=sys.stderr)
            error = exc if isinstance(exc, CliError) else translate(exc, state.resolved if state else None)
            if error is None:
                hint = "" if debug else "; run with --debug for the traceback"
                error = CliError(f"unexpected {type(exc).__name__}: {exc} (a bug in gtchain{hint})", Exit.SOFTWARE)
            _fail(state, error.message)
            raise typer.Exit(error.code) from None


app = typer.Typer(
    cls=_Group,
    name=PROG,
    help="Run and watch gtchain chains on a deployed stack (--stack NAME) or the local endpoint (--local).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            shown = version("gtchain")
        except PackageNotFoundError:
            shown = "unknown (not installed)"
        typer.echo(f"gtchain {shown}")
        raise typer.Exit(0)


@app.callback()
def _options(
    ctx: typer.Context,
    stack: Annotated[
        str | None,
        typer.Option(
            "--stack",
            metavar="NAME",
            help="A deployed gtchain stack (its CloudFormation outputs name the bucket, table and "
            "functions). Default: $GTCHAIN_STACK.",
        ),
    ] = None,
    local: Annotated[
        bool,
        typer.Option(
            "--local", help="The local endpoint `make local` runs, from .gtchain/local.json. Default: $GTCHAIN_LOCAL."
        ),
    ] = False,
    profile: Annotated[
        str | None,
        typer.Option(
            "--profile", metavar="PROFILE", help="AWS profile (default: $AWS_PROFILE or the default profile)."
        ),
    ] = None,
    region: Annotated[
        str | None,
        typer.Option("--region", metavar="REGION", help="AWS region (default: the profile's, or $AWS_REGION)."),
    ] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show the traceback of an error.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    ctx.obj = State(
        stack=stack, local=local, profile=profile, region=region, debug=debug or bool(os.environ.get("GTCHAIN_DEBUG"))
    )


def _state(ctx: typer.Context) -> State:
    state = ctx.obj
    assert isinstance(state, State)
    return state


def _exit(code: Exit) -> NoReturn:
    raise typer.Exit(int(code))


def _print_json(document: Any) -> None:
    sys.stdout.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")


_WAIT = Annotated[bool, typer.Option("--wait/--no-wait", help="Wait until status.json shows the new state.")]
_TIMEOUT = Annotated[float, typer.Option("--timeout", metavar="SECONDS", help="How long to wait (exit 8).")]
_INTERVAL = Annotated[float, typer.Option("--interval", metavar="SECONDS", help="Poll period.")]
_CHAIN = Annotated[str, typer.Argument(metavar="CHAIN", help="The chain id.")]


# ---- validate --------------------------------------------------------------------------------------------


def _check(
    spec: Path, manifests: list[Path], allowed: frozenset[str] | None
) -> tuple[checks.SpecCheck, list[checks.ManifestCheck]]:
    spec_check = checks.check_spec(spec)
    return spec_check, [checks.check_manifest(path, spec_check.spec, allowed) for path in manifests]


def _has_errors(spec: checks.SpecCheck, manifests: list[checks.ManifestCheck]) -> bool:
    return bool(spec.findings or spec.spec is None or any(m.errors or not m.checked for m in manifests))


@app.command(short_help="Check chain.json and manifests offline (exit 1 on any error).")
def validate(
    ctx: typer.Context,
    spec: Annotated[Path, typer.Argument(metavar="CHAIN_JSON", help="The chain's chain.json.")],
    manifests: Annotated[
        list[Path] | None,
        typer.Argument(metavar="MANIFEST", help="Input manifests (JSON Lines, named *.manifest)."),
    ] = None,
    bucket: Annotated[
        list[str] | None,
        typer.Option(
            "--bucket",
            metavar="BUCKET",
            help="A bucket manifests may reference (repeat it); without one, source-ref buckets are not checked.",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the findings as JSON.")] = False,
) -> None:
    """Check chain.json and manifests offline, with the service's own validators and messages; exit 1 on any
    error."""
    state = _state(ctx)
    allowed = frozenset(bucket) if bucket else None
    spec_check, manifest_checks = _check(spec, manifests or [], allowed)
    failed = _has_errors(spec_check, manifest_checks)
    if as_json:
        _print_json(
            {
                "valid": not failed,
                "findings": [f.as_dict() for f in spec_check.findings]
                + [f.as_dict() for m in manifest_checks for f in m.findings],
                "manifests": [
                    {
                        "file": str(m.path),
                        "objects": m.objects,
                        "rounds": m.sizes,
                        "errors": m.errors,
                        "checked": m.checked,
                    }
                    for m in manifest_checks
                ],
            }
        )
    else:
        views.checked(state.out, spec_check, manifest_checks, buckets_checked=allowed is not None)
    if failed:
        _exit(Exit.INVALID)


# ---- forecast --------------------------------------------------------------------------------------------


@app.command()
def forecast(
    ctx: typer.Context,
    spec: Annotated[Path, typer.Option("--spec", metavar="CHAIN_JSON", help="The chain's chain.json.")],
    manifests: Annotated[
        list[Path] | None,
        typer.Argument(metavar="MANIFEST", help="Input manifests, in the order they would be submitted."),
    ] = None,
    seeds: Annotated[
        str, typer.Option("--seeds", metavar="N,N,...", help="Emulator seeds for the expected cost's band.")
    ] = "1,2,3",
    no_emulator: Annotated[
        bool, typer.Option("--no-emulator", help="Worst case and floor only: do not run the emulator.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the forecast as JSON.")] = False,
) -> None:
    """What each round will cost, offline (no AWS): the worst case, the floor Ground Truth's schedule imposes, and
    an expected cost with a band from the emulator run on the same object count, task and settings (docs/reports.md,
    The forecast); in total, with the budget check."""
    from gtchain.service.forecast import forecast_submission

    state = _state(ctx)
    spec_check, manifest_checks = _check(spec, manifests or [], None)
    if _has_errors(spec_check, manifest_checks):
        views.checked(state.out, spec_check, manifest_checks, buckets_checked=False)
        raise CliError("nothing to forecast: fix the errors above", Exit.INVALID)
    parsed = spec_check.spec
    assert parsed is not None
    try:
        chosen = tuple(int(seed) for seed in seeds.split(",") if seed.strip())
    except ValueError:
        raise CliError(f"--seeds takes whole numbers separated by commas, not {seeds!r}", Exit.USAGE) from None
    emulate = None if no_emulator else _local_module("forecast").emulate
    if emulate is not None and not as_json:
        state.err.print(f"running the emulator over {len(chosen)} seed(s) for each round...")
    result = forecast_submission(parsed, [(m.name, m.sizes) for m in manifest_checks], emulate=emulate, seeds=chosen)
    if as_json:
        _print_json(result.model_dump(by_alias=True, mode="json"))
    else:
        views.forecast(state.out, result)


# ---- submit ----------------------------------------------------------------------------------------------


@app.command(short_help="Validate, upload chain.json and manifests, print the plan.")
def submit(
    ctx: typer.Context,
    chain: Annotated[
        str, typer.Argument(metavar="CHAIN", help="The chain id: 1-32 lower-case letters, digits, single hyphens.")
    ],
    spec: Annotated[Path, typer.Option("--spec", metavar="CHAIN_JSON", help="The chain's chain.json.")],
    manifests: Annotated[
        list[Path] | None,
        typer.Argument(metavar="MANIFEST", help="Manifests to drop into the chain's inbox, in this order."),
    ] = None,
    wait: Annotated[
        bool, typer.Option("--wait/--no-wait", help="Wait until status.json shows the upload applied.")
    ] = True,
    timeout: Annotated[float, typer.Option("--timeout", metavar="SECONDS", help="How long to wait.")] = 120.0,
    interval: Annotated[float, typer.Option("--interval", metavar="SECONDS", help="Poll period.")] = 2.0,
) -> None:
    """Validate, then upload chain.json and the manifests (nothing is uploaded when anything is wrong), and print
    what will happen: the rounds and their sizes, baselines, the worst case against budgetUsd."""
    state = _state(ctx)
    check_chain_id(chain)
    target = state.target()
    spec_check, manifest_checks = _check(spec, manifests or [], target.allowed_buckets)
    if _has_errors(spec_check, manifest_checks):
        views.checked(state.out, spec_check, manifest_checks, buckets_checked=True)
        raise CliError("nothing was uploaded: fix the errors above and submit again", Exit.INVALID)
    parsed = spec_check.spec
    assert parsed is not None
    bucket = state.bucket()
    key = names.spec_key(chain)
    current = bucket.get(key)
    if current is not None:
        existing, _ = parse_chain_spec(current.body)
        if existing is not None and (changed := parsed.immutable_fields_changed(existing)):
            raise CliError(
                f"{', '.join(changed)} cannot change during a chain's life (the carried model depends on "
                f"{'them' if len(changed) > 1 else 'it'}): start a new chain id instead; nothing was "
                "uploaded",
                Exit.INVALID,
            )
    status = bucket.status(chain)
    views.checked(state.out, spec_check, manifest_checks, buckets_checked=True)
    views.plan(state.out, chain, parsed, checks.plan(parsed, manifest_checks, status))
    body = spec.read_bytes()
    spec_version: str | None = None
    if current is not None and current.body == body:
        state.out.print(f"chain.json is unchanged: not uploaded (version {current.version} stays in force)")
    else:
        try:
            spec_version = bucket.put(key, body, if_match=current.etag if current else None, if_absent=current is None)
        except WriteConflictError:
            raise CliError(
                f"chain.json of {chain} changed while it was being submitted: check "
                f"`gtchain status {chain}` and submit again",
                Exit.CONFLICT,
            ) from None
        state.out.print(f"uploaded {bucket.uri(key)} (version {spec_version})")
    uploaded: list[tuple[str, str]] = []
    for check in manifest_checks:
        manifest_key = names.manifest_key(chain, check.name)
        version = bucket.upload_file(manifest_key, check.path, "application/x-ndjson")
        uploaded.append((check.name, version))
        state.out.print(f"uploaded {bucket.uri(manifest_key)} (version {version})")
    if wait:
        status = _wait_accepted(state, bucket, chain, spec_version, uploaded, timeout, interval)
        state.out.print(
            Text.assemble(
                "chain ",
                chain,
                " is ",
                views.state_text(status.get("state")),
                f": {status['reason']}" if status.get("reason") else "",
            )
        )
    state.out.print(f"follow it with: gtchain watch {chain}")


def _wait_accepted(
    state: State,
    bucket: DataBucket,
    chain: str,
    spec_version: str | None,
    manifests: list[tuple[str, str]],
    timeout: float,
    interval: float,
) -> dict[str, Any]:
    """Until status.json shows the uploaded chain.json in force and each uploaded manifest queued."""
    clock = control.CLOCK
    deadline = clock.now() + timeout
    while True:
        status = bucket.status(chain)
        if status is not None:
            rejected = {(r["key"], r["versionId"]): r for r in status.get("rejected", [])}
            wanted = [(names.spec_key(chain), spec_version)] if spec_version else []
            wanted += [(names.manifest_key(chain, name), version) for name, version in manifests]
            for key, version in wanted:
                if (key, version) in rejected:
                    raise control.rejected_error(rejected[(key, version)], bucket, chain)
            queued = {(m["name"], m["version"]) for m in status.get("manifests", [])}
            if (spec_version is None or status.get("specVersion") == spec_version) and all(
                (name, version) in queued for name, version in manifests
            ):
                for entry in status.get("manifests", []):
                    if (entry["name"], entry["version"]) in manifests:
                        rounds = entry["rounds"]
                        state.out.print(f"{entry['name']}: queued as round(s) {', '.join(str(n) for n in rounds)}")
                return status
        if clock.now() >= deadline:
            raise CliError(
                f"uploaded, but status.json does not show it applied after {timeout:g} s: see "
                f"`gtchain status {chain}` and `gtchain errors {chain}`",
                Exit.TIMEOUT,
            )
        clock.sleep(interval)


# ---- status and watch ------------------------------------------------------------------------------------


def _row(status: dict[str, Any], live: list[jobs.LiveJob]) -> dict[str, Any]:
    own = next((job for job in live if job.role == "round"), None)
    return {
        "chainId": status.get("chainId"),
        "state": status.get("state"),
        "reason": status.get("reason"),
        "running": None
        if own is None
        else {
            "round": own.round,
            "job": own.name,
            "status": own.status,
            "done": own.done,
            "objects": own.objects,
            "human": own.human,
            "machine": own.machine,
        },
        "spentUsd": status.get("spentUsd"),
        "budgetUsd": status.get("budgetUsd"),
        "queuedRounds": len(status.get("queued", [])),
        "rejected": len(status.get("rejected", [])),
        "generatedAt": status.get("generatedAt"),
    }


@app.command(short_help="Where one chain stands, or every chain in one line each.")
def status(
    ctx: typer.Context,
    chain: Annotated[
        str | None, typer.Argument(metavar="CHAIN", help="A chain id; without one, one line per chain.")
    ] = None,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            help="Print JSON: status.json with the jobs' live counters under liveJobs (or one object per chain).",
        ),
    ] = False,
    transitions: Annotated[int, typer.Option("--transitions", metavar="N", help="Transitions shown.")] = 10,
) -> None:
    """Where a chain stands (running jobs with live LabelCounters, queued rounds, manifests, rejected uploads,
    manifests waiting for chain.json, the latest model, the last transitions), or every chain in one line each."""
    state = _state(ctx)
    if chain is not None:
        check_chain_id(chain)
    bucket = state.bucket()
    sagemaker = state.target().sagemaker
    if chain is None:
        rows = []
        for chain_id in bucket.chain_ids():
            document = bucket.status(chain_id)
            if document is None:
                rows.append(
                    {
                        "chainId": chain_id,
                        "state": None,
                        "reason": "no status.json yet",
                        "running": None,
                        "spentUsd": None,
                        "budgetUsd": None,
                        "queuedRounds": 0,
                        "rejected": 0,
                        "generatedAt": None,
                    }
                )
                continue
            rows.append(_row(document, jobs.describe(sagemaker, document)))
        if as_json:
            _print_json(rows)
        elif rows:
            state.out.print(views.chains_table(rows))
        else:
            state.out.print(
                f"no chains in s3://{bucket.name} yet: `gtchain submit CHAIN --spec chain.json` creates one"
            )
        return
    document = bucket.require_status(chain)
    live = jobs.describe(sagemaker, document)
    if as_json:
        _print_json({**document, "liveJobs": [job.as_dict() for job in live]})
        return
    state.out.print(views.detail(document, live, transitions, bars=state.out.is_terminal))


@app.command(short_help="Live progress and transitions until the chain is idle, paused or stopped.")
def watch(
    ctx: typer.Context,
    chain: _CHAIN,
    interval: Annotated[float, typer.Option("--interval", metavar="SECONDS", help="Poll period.")] = 5.0,
    timeout: Annotated[
        float | None,
        typer.Option(
            "--timeout", metavar="SECONDS", help="Give up after this long (exit 8). Default: wait as long as it takes."
        ),
    ] = None,
) -> None:
    """Live progress per running job and each transition as it happens; returns when the chain is idle with
    every manifest's results written (exit 0), or paused or stopped (exit 9)."""
    state = _state(ctx)
    check_chain_id(chain)
    code = watch_chain(state.bucket(), state.target().sagemaker, chain, state.out, interval=interval, timeout=timeout)
    if code != Exit.OK:
        _exit(code)


# ---- pause, stop, resume ---------------------------------------------------------------------------------


def _control(
    ctx: typer.Context, chain: str, wanted: control.Wanted, wait: bool, timeout: float, interval: float
) -> None:
    state = _state(ctx)
    check_chain_id(chain)
    bucket = state.bucket()
    status = bucket.status(chain)
    if status is None and not bucket.has_anything(chain):
        raise no_such_chain(chain, bucket)
    change = control.change_state(bucket, chain, wanted, status)
    if change.uploaded:
        retried = f" after {change.attempts - 1} concurrent edit(s)" if change.attempts > 1 else ""
        state.out.print(
            f'chain.json of {chain}: "state" {change.before} -> {wanted}, version {change.version}{retried}'
        )
    else:
        state.out.print(f'chain.json of {chain} already says "state": {wanted} (version {change.version})')
    if not wait:
        return
    status = control.wait_for(bucket, chain, wanted, change.version, timeout, interval)
    reason = f": {status['reason']}" if status.get("reason") else ""
    state.out.print(Text.assemble("chain ", chain, " is ", views.state_text(status.get("state")), reason))
    if wanted == "stopped":
        for job in jobs.describe(state.target().sagemaker, status):
            state.out.print(
                f"  {job.name}: {job.status} (StopLabelingJob was sent; it ends Stopped when Ground "
                "Truth has stopped it)"
            )
    if not control.matches(wanted, status.get("state")):
        _exit(Exit.HALTED)


@app.command(short_help="Start no new round (running jobs finish).")
def pause(
    ctx: typer.Context, chain: _CHAIN, wait: _WAIT = True, timeout: _TIMEOUT = 120.0, interval: _INTERVAL = 2.0
) -> None:
    """Start no new round: running jobs finish and are recorded; the next rounds wait."""
    _control(ctx, chain, "paused", wait, timeout, interval)


@app.command(short_help="Pause and stop the running jobs.")
def stop(
    ctx: typer.Context, chain: _CHAIN, wait: _WAIT = True, timeout: _TIMEOUT = 120.0, interval: _INTERVAL = 2.0
) -> None:
    """As pause, and stop every running job (the round's and its baseline)."""
    _control(ctx, chain, "stopped", wait, timeout, interval)


@app.command(short_help="Make the chain active again (retries a failed or stopped round).")
def resume(
    ctx: typer.Context, chain: _CHAIN, wait: _WAIT = True, timeout: _TIMEOUT = 120.0, interval: _INTERVAL = 2.0
) -> None:
    """Make the chain active again; a failed or stopped round is retried first. Also resumes a chain paused by a
    failure or its budget (exit 9 if it pauses again, for example because the next round does not fit)."""
    _control(ctx, chain, "active", wait, timeout, interval)


# ---- results, errors, report -----------------------------------------------------------------------------


def _manifest_name(name: str) -> str:
    return name if name.endswith(names.MANIFEST_SUFFIX) else name + names.MANIFEST_SUFFIX


@app.command(short_help="Download the labels, in the input's order.")
def results(
    ctx: typer.Context,
    chain: _CHAIN,
    manifest: Annotated[
        str | None,
        typer.Argument(metavar="MANIFEST", help="One manifest's name (default: every manifest with results)."),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            metavar="DIR",
            help="Where to write them (default: ./<chain>-results; '-' writes one manifest to stdout).",
        ),
    ] = None,
    formats: Annotated[
        list[str] | None,
        typer.Option(
            "--format",
            metavar="FORMAT",
            help="Write the labels as coco, yolo or voc (bounding boxes), csv or jsonl (classification), masks or "
            "coco (segmentation) into DIR/<format>/ instead (repeat for several; without MANIFEST, every "
            "manifest: docs/exports.md).",
        ),
    ] = None,
) -> None:
    """Download the labels: one line per input line, in the input's order, with the label attributes; or, with
    --format, in the formats training code reads."""
    state = _state(ctx)
    check_chain_id(chain)
    bucket = state.bucket()
    document = bucket.require_status(chain)
    manifests = {m["name"]: m for m in document.get("manifests", [])}  # the latest version of each name last
    if manifest is not None:
        name = _manifest_name(manifest)
        wanted = [name]
        if name not in manifests:
            known = ", ".join(sorted(manifests)) or "none yet"
            raise CliError(f"chain {chain} has no manifest {name} (its manifests: {known})", Exit.NOT_FOUND)
    else:
        wanted = [name for name, entry in manifests.items() if entry.get("status") == "completed"]
        if not wanted:
            raise CliError(
                f"no results yet in chain {chain}: a manifest's results are written when all its rounds "
                f"have completed (`gtchain status {chain}`)",
                Exit.NOT_YET,
            )
    for name in wanted:
        entry = manifests[name]
        if entry.get("status") != "completed":
            raise CliError(
                f"the results of {name} are not written yet: it is {entry.get('status')} "
                f"({entry.get('roundsCompleted')} of {len(entry.get('rounds', []))} rounds done); try "
                f"again later or `gtchain watch {chain}`",
                Exit.NOT_YET,
            )
    if formats:
        _export(state, bucket, chain, formats, out, wanted[0] if manifest is not None else None)
        return
    if out is not None and str(out) == "-":
        if len(wanted) != 1:
            raise CliError("--out - writes one manifest: name it", Exit.USAGE)
        bucket.download(names.results_key(chain, wanted[0]), sys.stdout.buffer)
        return
    directory = out or Path(f"{chain}-results")
    directory.mkdir(parents=True, exist_ok=True)
    for name in wanted:
        path = directory / name
        with path.open("wb") as sink:
            lines = bucket.download(names.results_key(chain, name), sink)
        state.out.print(f"{path}: {views.count(lines)} lines (from {bucket.uri(names.results_key(chain, name))})")


def _export(
    state: "State", bucket: DataBucket, chain: str, formats: list[str], out: Path | None, manifest: str | None
) -> None:
    """`results --format`: service.exports writes DIR/<format>/... from the results in S3."""
    if out is not None and str(out) == "-":
        raise CliError("--format writes folders: give --out DIR", Exit.USAGE)
    directory = out or Path(f"{chain}-exports")
    try:
        written = export_to_directory(S3ObjectStore(bucket.s3), bucket.name, chain, formats, directory, manifest)
    except ExportError as exc:
        raise CliError(str(exc), Exit.USAGE) from None
    for f in written.formats:
        boxes = f", {f.annotations} boxes" if f.format in {"coco", "yolo", "voc"} else ""
        state.out.print(f"{f.main_uri}: {f.objects} objects{boxes}, {f.skipped} skipped ({f.files} files)")


@app.command(short_help="The rejected uploads and what is wrong with them.")
def errors(
    ctx: typer.Context,
    chain: _CHAIN,
    as_json: Annotated[bool, typer.Option("--json", help="Print the error reports as JSON.")] = False,
    per_report: Annotated[int, typer.Option("--lines", metavar="N", help="Errors shown per report.")] = 5,
) -> None:
    """The uploads gtchain rejected (newest first), with what is wrong: line, field, message. "current" marks
    those still standing (the key's latest version; status.json shows them too)."""
    state = _state(ctx)
    check_chain_id(chain)
    bucket = state.bucket()
    document = bucket.status(chain)
    if document is None and not bucket.has_anything(chain):
        raise no_such_chain(chain, bucket)
    standing = {(r["key"], r["versionId"]) for r in (document or {}).get("rejected", [])}
    reports = []
    for listed in bucket.listing(f"{names.chain_prefix(chain)}errors/"):
        report = bucket.get_json(listed.key)
        if not isinstance(report, dict):
            continue
        key = str(report.get("object", "")).removeprefix(f"s3://{bucket.name}/")
        report["reportUri"] = bucket.uri(listed.key)
        report["current"] = (key, report.get("versionId")) in standing
        reports.append(report)
    reports.sort(key=lambda r: str(r.get("rejectedAt", "")), reverse=True)
    if as_json:
        _print_json(reports)
    elif reports:
        views.error_reports(state.out, reports, per_report)
    else:
        state.out.print(f"chain {chain} has no rejected uploads")


def _usd(text: str | None) -> Decimal | None:
    if text is None:
        return None
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise typer.BadParameter(f"{text!r} is not an amount in USD") from None
    if not amount.is_finite() or amount < 0:
        raise typer.BadParameter(f"{text!r} is not an amount in USD")
    return amount


@app.command(short_help="Download a chain's report, or build any labeling job's (--job).")
def report(
    ctx: typer.Context,
    chain: Annotated[
        str | None, typer.Argument(metavar="CHAIN", help="The chain whose report to download (not needed with --job).")
    ] = None,
    job: Annotated[
        str | None,
        typer.Option(
            "--job", metavar="JOB", help="Build the report of this labeling job (any job, chained or not) instead."
        ),
    ] = None,
    out: Annotated[
        str | None,
        typer.Option(
            "--out",
            metavar="DIR",
            help="A directory, or s3://bucket/prefix/ with --job (default: ./<chain>-report or ./<job>-report).",
        ),
    ] = None,
    open_it: Annotated[bool, typer.Option("--open", help="Open the report in a browser.")] = False,
    fee: Annotated[
        str | None,
        typer.Option(
            "--fee",
            metavar="USD",
            help="Ground Truth's fee per labeled object (default: the chain's pricing.perObjectUsd, else 0.08).",
        ),
    ] = None,
    task_price: Annotated[
        str | None,
        typer.Option(
            "--task-price",
            metavar="USD",
            help="A worker's pay per task, for a job that does not record it (a vendor workforce).",
        ),
    ] = None,
    table: Annotated[
        str | None,
        typer.Option(
            "--table",
            metavar="TABLE",
            help="gtchain's chain table, for a round's spec snapshot (default: the target's, or $TABLE_NAME).",
        ),
    ] = None,
) -> None:
    """A chain's report (report.html, summary.json, figures) downloaded; or, with --job, the per-job report of any
    labeling job built by the report function's own code (exit 75 while the job's output is not in S3 yet)."""
    state = _state(ctx)
    if job is None:
        if chain is None:
            raise CliError("name a chain, or a labeling job with --job", Exit.USAGE)
        _download_report(state, chain, Path(out or f"{chain}-report"), open_it)
        return
    from gtchain_cli.reporting import build_job_report

    target = _optional_target(state)
    session = target.session if target else aws_session(state.profile, state.region)
    outcome = build_job_report(
        session,
        target,
        job,
        out or f"{job}-report",
        PriceOverrides(_usd(fee), _usd(task_price)),
        table or (target.table if target else os.environ.get("TABLE_NAME")),
    )
    for warning in outcome.summary.warnings:
        state.err.print(Text(f"warning: {warning}", style="yellow"))
    for name, uri in outcome.uris.items():
        state.out.print(f"{name}: {uri}")
    if open_it and not outcome.uris["reportUri"].startswith("s3://"):
        webbrowser.open(Path(outcome.uris["reportUri"]).resolve().as_uri())


def _optional_target(state: State) -> Target | None:
    """The target when one is chosen; the report of a job needs only AWS access."""
    try:
        choice = choose(state.stack, state.local)
    except CliError as exc:
        if exc.code == Exit.USAGE and not (state.stack or state.local):
            return None
        raise
    state._target = resolve(choice, profile=state.profile, region=state.region)
    return state._target


def _download_report(state: State, chain: str, directory: Path, open_it: bool) -> None:
    check_chain_id(chain)
    bucket = state.bucket()
    bucket.require_status(chain)
    prefix = names.reports_prefix(chain)
    written = []
    for listed in bucket.listing(prefix):
        path = directory / listed.key.removeprefix(prefix)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as sink:
            bucket.download(listed.key, sink)
        written.append(path)
    html = directory / names.CHAIN_REPORT_DIR / names.REPORT_HTML
    if not written or not html.is_file():
        raise CliError(
            f"chain {chain} has no report yet: the first is written when its first round completes "
            f"(`gtchain status {chain}`)",
            Exit.NOT_YET,
        )
    state.out.print(f"{len(written)} file(s) in {directory}; open {html}")
    if open_it:
        webbrowser.open(html.resolve().as_uri())


# ---- the local endpoint ----------------------------------------------------------------------------------


def _local_module(name: str) -> Any:
    """local.<name> from the gtchain checkout (the local endpoint is not part of the installed package)."""
    try:
        return importlib.import_module(f"local.{name}")
    except ModuleNotFoundError as exc:
        if exc.name not in ("local", f"local.{name}"):
            raise
    for root in _checkouts():
        if (root / "local" / f"{name}.py").is_file():
            sys.path.insert(0, str(root))
            return importlib.import_module(f"local.{name}")
    raise CliError(
        f"local/{name}.py was not found: `gtchain local` and `gtchain invoke` run from a gtchain "
        "checkout (run them there, or use `make local`)",
        Exit.NO_TARGET,
    )


def _checkouts() -> list[Path]:
    """The current directory and its parents, then the checkout this package is installed from (editable)."""
    here = Path.cwd().resolve()
    package_root = Path(__file__).resolve().parents[2]  # cli/gtchain_cli/app.py
    return [here, *here.parents, package_root]


@app.command(
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True, "help_option_names": []},
    short_help="Run the local endpoint (as `make local`).",
)
def local(ctx: typer.Context) -> None:
    """Run the local endpoint (the embedded stack behind one HTTP endpoint, as `make local`); its own options
    follow (for example `gtchain local --port 4567`; `gtchain local --help` shows them)."""
    module = _local_module("endpoint")
    code = int(module.main(list(ctx.args)))
    if code:  # the endpoint's own exit codes (docs/cli.md): 1 the stack could not start, 2 bad arguments, 3 the
        raise typer.Exit(code)  # address cannot be bound


@app.command(short_help="Run one function with one event (local endpoint or stack).")
def invoke(
    ctx: typer.Context,
    function: Annotated[
        str,
        typer.Argument(
            metavar="FUNCTION",
            help="The function's logical id in template.yaml "
            "(StartFunction, AdvanceFunction, ReconcileFunction, "
            "ReportFunction).",
        ),
    ],
    event: Annotated[Path, typer.Argument(metavar="EVENT_JSON", help="The event, e.g. one in events/.")],
) -> None:
    """Run one function with one event as Lambda would, and print its result: in-process against the local
    endpoint (--local), or through the Lambda API on a deployed stack (--stack)."""
    state = _state(ctx)
    if not event.is_file():
        raise CliError(f"{event} does not exist", Exit.USAGE)
    target = state.target()
    if target.kind == "stack":
        from gtchain_cli.reporting import invoke_deployed

        result = invoke_deployed(target, function, event, state.err)
    else:
        result = _invoke_local(target, function, event)
    if result is not None:
        _print_json(result)


# local.invoke's exit codes, as the CLI's: a bad function or event is a usage error, a sample that could not be
# staged in time a timeout.
_LOCAL_INVOKE_EXITS = {2: Exit.USAGE, 3: Exit.USAGE, 4: Exit.UNREACHABLE, 5: Exit.TIMEOUT}


def _invoke_local(target: Target, function: str, event: Path) -> Any:
    module = _local_module("invoke")
    assert target.config_path is not None
    try:
        return module.invoke(function, event, module.load_config(target.config_path))
    except module.FunctionError as exc:  # the handler raised: Lambda's error document, as `aws lambda invoke`
        _print_json(exc.payload)
        raise CliError(f"{function} raised: {exc}", Exit.INVALID) from None
    except module.InvokeError as exc:
        raise CliError(str(exc), _LOCAL_INVOKE_EXITS.get(exc.exit_code, Exit.SOFTWARE)) from None


def main(argv: list[str] | None = None) -> int:
    """The console script `gtchain`."""
    command = typer.main.get_command(app)
    return int(command.main(args=argv, prog_name=PROG, standalone_mode=False) or 0)


if __name__ == "__main__":
    sys.exit(main())
