"""What the commands print: Rich tables for people; the --json output is the documents themselves."""

from decimal import Decimal
from typing import Any

from rich import box
from rich.console import Console, Group, RenderableType
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from gtchain.domain.forecast import ChainForecast
from gtchain.domain.spec import ChainSpec
from gtchain_cli.checks import ManifestCheck, Plan, SpecCheck
from gtchain_cli.jobs import LiveJob

# Compact tables: a rule under the header, columns two spaces apart, nothing else (they paste well into tickets).
TABLE: dict[str, Any] = {"box": box.SIMPLE_HEAD, "title_justify": "left", "pad_edge": False, "show_edge": False}
STATE_STYLES = {"active": "green", "idle": "cyan", "paused": "yellow", "stopped": "red", "waiting": "magenta"}


def usd(amount: Decimal | str | None) -> str:
    if amount is None:
        return "-"
    return f"${Decimal(str(amount)):,.2f}"


def count(value: int) -> str:
    return f"{value:,}"


def state_text(state: str | None) -> Text:
    return Text(state or "-", style=STATE_STYLES.get(state or "", ""))


def progress(job: LiveJob) -> str:
    share = f" ({100 * job.done // job.objects}%)" if job.objects else ""
    return f"{count(job.done)}/{count(job.objects)}{share}"


def job_line(job: LiveJob) -> str:
    """One line per job, for logs and pipes."""
    label = f"round {job.round}" + (" baseline" if job.role == "baseline" else "")
    counters = f"human {count(job.human)}, machine {count(job.machine)}" + (
        f", failed {count(job.failed)}" if job.failed else ""
    )
    known = "" if job.live else " (last known)"
    return f"{label} {job.name} {job.status}: {progress(job)} labeled; {counters}{known}"


def transition_line(transition: dict[str, Any]) -> str:
    parts = [str(transition.get("at", "")), str(transition.get("event", ""))]
    if transition.get("round") is not None:
        parts.append(f"round {transition['round']}" + (" baseline" if transition.get("role") == "baseline" else ""))
    if transition.get("job"):
        parts.append(str(transition["job"]))
    if transition.get("detail"):
        parts.append(f"- {transition['detail']}")
    return "  ".join(parts)


# ---- validate / submit -----------------------------------------------------------------------------------


def checked(console: Console, spec: SpecCheck, manifests: list[ManifestCheck], buckets_checked: bool) -> None:
    """Per file, what is wrong (file:line: field: message, as the service's error reports say it), then its
    verdict."""
    for finding in spec.findings:
        console.print(Text(str(finding), style="red"))
    if spec.spec is not None and not spec.findings:
        console.print(Text(f"{spec.path}: ok ({describe_spec(spec.spec)})", style="green"))
    else:
        console.print(Text(f"{spec.path}: {len(spec.findings)} error(s)", style="red bold"))
    for check in manifests:
        for finding in check.findings:
            console.print(Text(str(finding), style="red"))
        if check.errors > len(check.findings):
            console.print(Text(f"{check.path}: ... and {check.errors - len(check.findings)} more", style="red"))
        if check.errors:
            console.print(Text(f"{check.path}: {check.errors} error(s)", style="red bold"))
        if not check.checked:
            console.print(Text(f"{check.path}: not checked: chain.json must be valid first (its task says what a "
                               "line needs)", style="yellow"))  # fmt: skip
        elif not check.errors:
            sizes = " + ".join(count(size) for size in check.sizes)
            console.print(Text(f"{check.path}: ok ({count(check.objects)} objects; rounds of {sizes})",
                               style="green"))  # fmt: skip
    if manifests and not buckets_checked and spec.spec is not None:
        console.print(Text("source-ref buckets were not checked (offline): pass --bucket for each allowed bucket, "
                           "or submit, which checks them against the stack", style="dim"))  # fmt: skip


def describe_spec(spec: ChainSpec) -> str:
    parts = [str(spec.task), f"{spec.rounds} round(s) per manifest", f"{spec.workforce.type} workforce"]
    parts.append("baseline" if spec.baseline else "no baseline")
    parts.append(f"budget {usd(spec.budget_usd)}" if spec.budget_usd is not None else "no budget")
    if spec.state.value != "active":
        parts.append(f"state {spec.state.value}")
    return ", ".join(parts)


def plan(console: Console, chain_id: str, spec: ChainSpec, the_plan: Plan) -> None:
    table = Table(title=f"What chain {chain_id} will run", **TABLE)
    for column in ("round", "manifest", "part", "objects", "baseline", "worst case"):
        table.add_column(column, justify="right" if column in ("round", "objects", "worst case") else "left")
    for planned in the_plan.rounds:
        table.add_row(str(planned.number), planned.manifest, planned.part, count(planned.objects),
                      "yes" if planned.baseline else "no", usd(planned.worst_case_usd))  # fmt: skip
    if the_plan.rounds:
        console.print(table)
    start = "from a model" if the_plan.model_at_start else "without a model"
    notes = [f"The first round starts {start}; each later round starts from the latest model the chain trained"]
    if spec.baseline:
        notes.append("a baseline (the same part without the model) runs beside each round that starts from one")
    if the_plan.all_human:
        notes.append("humans label every object: Ground Truth auto-labels only rounds of 1,250 objects or more"
                     if spec.auto_labeling else "humans label every object: autoLabeling is off")  # fmt: skip
    console.print("; ".join(notes) + ".")
    worst = f"Worst case (every object labeled by humans): {usd(the_plan.worst_case_usd)}"
    if the_plan.budget_usd is None:
        console.print(f"{worst}; no budgetUsd is set.")
        return
    left = the_plan.budget_usd - the_plan.spent_usd
    line = f"{worst} against budgetUsd {usd(the_plan.budget_usd)} ({usd(the_plan.spent_usd)} spent, {usd(left)} left)"
    if the_plan.pauses_before is None:
        console.print(Text(f"{line}: fits.", style="green"))
    else:
        console.print(
            Text(
                f"{line}: at worst the chain pauses before round {the_plan.pauses_before} (raise "
                "budgetUsd to go on; rounds usually cost less than their worst case)",
                style="yellow",
            )
        )


def _band(low: Decimal | None, high: Decimal | None) -> str:
    return "-" if low is None or high is None else f"{usd(low)} to {usd(high)}"


def forecast(console: Console, result: ChainForecast) -> None:
    """gtchain forecast: per round and in total, then the budget check, the basis and every warning."""
    table = Table(title="Forecast", **TABLE)
    for column in ("round", "manifest", "part", "objects", "model", "baseline", "worst case", "floor", "expected",
                   "band"):  # fmt: skip
        table.add_column(column, justify="left" if column in ("manifest", "part", "model", "baseline") else "right")
    for r in result.rounds:
        model, baseline = "carried" if r.with_model else "none", "yes" if r.baseline else "no"
        table.add_row(str(r.round), r.manifest or "-", r.part or "-", count(r.objects), model, baseline,
                      usd(r.worst_case_usd), usd(r.floor_usd), usd(r.expected_usd),
                      _band(r.expected_low_usd, r.expected_high_usd))  # fmt: skip
    table.add_row("total", "", "", count(sum(r.objects for r in result.rounds)), "", "", usd(result.worst_case_usd),
                  usd(result.floor_usd), usd(result.expected_usd),
                  _band(result.expected_low_usd, result.expected_high_usd), style="bold")  # fmt: skip
    console.print(table)
    console.print(f"Expected from {result.basis}.")
    for note in result.notes:
        console.print(Text(f"note: {note}", style="yellow"))
    for r in result.rounds:
        for warning in r.warnings:
            console.print(Text(f"warning: {warning}", style="yellow"))
    if result.budget_usd is None:
        console.print("No budgetUsd is set.")
        return
    line = f"budgetUsd {usd(result.budget_usd)} ({usd(result.spent_usd)} spent)"
    if result.pauses_before_at_worst is None:
        console.print(Text(f"{line}: every round fits even at its worst case.", style="green"))
        return
    expected = (
        "as expected, every round fits"
        if result.pauses_before_expected is None
        else f"as expected, before round {result.pauses_before_expected}"
    )
    console.print(Text(f"{line}: the budget check pauses the chain before round {result.pauses_before_at_worst} at "
                       f"worst; {expected}. Raise budgetUsd to go on.", style="yellow"))  # fmt: skip


# ---- status ----------------------------------------------------------------------------------------------


def chains_table(rows: list[dict[str, Any]]) -> Table:
    table = Table(**TABLE)
    for column in ("chain", "state", "round", "running job", "progress", "spent / budget", "queued"):
        table.add_column(column)
    for row in rows:
        running = row.get("running")
        table.add_row(
            row["chainId"], state_text(row.get("state")), str(running["round"]) if running else "-",
            running["job"] if running else "-",
            f"{count(running['done'])}/{count(running['objects'])}" if running else "-",
            f"{usd(row.get('spentUsd'))} / {usd(row.get('budgetUsd'))}", str(row.get("queuedRounds", 0)),
        )  # fmt: skip
    return table


def jobs_table(jobs: list[LiveJob], *, bars: bool = False) -> Table:
    table = Table(title="Running jobs", **TABLE)
    for column in ("round", "role", "job", "status", "labeled", "human", "machine", "failed"):
        table.add_column(column, justify="right" if column in ("labeled", "human", "machine", "failed") else "left",
                         no_wrap=column == "job")  # fmt: skip
    if bars:
        table.add_column("")
    for job in jobs:
        cells: list[RenderableType] = [
            str(job.round), job.role, job.name, job.status + ("" if job.live else " (last known)"), progress(job),
            count(job.human), count(job.machine), count(job.failed),
        ]  # fmt: skip
        if bars:
            cells.append(ProgressBar(total=max(job.objects, 1), completed=job.done, width=12))
        table.add_row(*cells)
    return table


def detail(status: dict[str, Any], jobs: list[LiveJob], transitions: int = 10, *, bars: bool = False) -> RenderableType:
    parts: list[RenderableType] = []
    head = Text.assemble(("chain ", "bold"), (str(status["chainId"]), "bold"), "  ", state_text(status.get("state")))
    if status.get("reason"):
        head.append(f"  {status['reason']}", style="yellow")
    parts.append(head)
    parts.append(Text(f"chain.json version {status.get('specVersion') or '-'}; status version "
                      f"{status.get('version')} at {status.get('generatedAt')}", style="dim"))  # fmt: skip
    for rejected in status.get("rejected", []):
        parts.append(Text(f"rejected: {rejected['name']} (version {rejected['versionId']}) at {rejected['rejectedAt']}:"
                          f" {rejected['reason']} - report: {rejected['errorReportKey']}", style="red"))  # fmt: skip
    for waiting in status.get("waitingManifests", []):
        parts.append(Text(f"waiting for chain.json: {waiting['name']} (version {waiting['versionId']})",
                          style="magenta"))  # fmt: skip
    if jobs:
        parts.append(jobs_table(jobs, bars=bars))
    queued = status.get("queued", [])
    if queued:
        table = Table(title="Queued rounds", **TABLE)
        for column in ("round", "manifest", "part", "objects", "attempt"):
            table.add_column(column)
        for entry in queued:
            table.add_row(str(entry["round"]), entry["manifest"], entry["part"], count(int(entry["objects"])),
                          str(entry["attempt"]))  # fmt: skip
        parts.append(table)
    manifests = status.get("manifests", [])
    if manifests:
        table = Table(title="Manifests", **TABLE)
        for column in ("manifest", "objects", "rounds", "done", "objects done", "skipped", "status", "results"):
            table.add_column(column)
        for entry in manifests:
            table.add_row(
                entry["name"], count(int(entry["objects"])), ",".join(str(n) for n in entry["rounds"]),
                f"{entry['roundsCompleted']}/{len(entry['rounds'])}", count(int(entry["objectsDone"])),
                count(int(entry.get("skippedObjects", 0))), entry["status"], entry.get("resultsUri") or "-",
            )  # fmt: skip
        parts.append(table)
    money = f"spent {usd(status.get('spentUsd'))}"
    if status.get("budgetUsd") is not None:
        money += f" of budget {usd(status['budgetUsd'])} ({usd(status.get('budgetLeftUsd'))} left)"
    parts.append(Text(money + f"; rounds completed: {status.get('roundsCompleted', 0)}"))
    if status.get("latestModelArn"):
        parts.append(Text(f"latest model: {status['latestModelArn']} (round {status.get('latestModelRound')})"))
    shown = status.get("transitions", [])[:transitions]
    if shown:
        parts.append(Text("last transitions (newest first):", style="bold"))
        parts.extend(Text("  " + transition_line(t), style="dim") for t in shown)
    return Group(*parts)


def error_reports(console: Console, reports: list[dict[str, Any]], per_report: int) -> None:
    """One block per rejected upload: what was rejected, when, whether it still stands; then each error with its
    line and field, as the service's error report has them."""
    for report in reports:
        name = str(report.get("object", "-")).rsplit("/", 1)[-1]
        standing = "still the current version" if report.get("current") else "replaced since"
        console.print(Text(f"{name} (version {report.get('versionId')}), rejected {report.get('rejectedAt')}, "
                           f"{standing}: {report.get('errorCount')} error(s)", style="bold"))  # fmt: skip
        errors = report.get("errors", [])[:per_report]
        for error in errors:
            where = ", ".join(p for p in (f"line {error['line']}" if error.get("line") else "",
                                          f"{error['field']}" if error.get("field") else "") if p)  # fmt: skip
            console.print(Text(f"  {where + ': ' if where else ''}{error.get('message', '')}", style="red"))
        if (more := int(report.get("errorCount", 0)) - len(errors)) > 0:
            console.print(Text(f"  ... and {more} more", style="red"))
        console.print(Text(f"  report: {report['reportUri']}", style="dim"))
