"""`make demo`: the seed notebook's experiment, end to end, on the embedded emulator (no AWS account).

A synthetic bird dataset (2,500 objects by default) and a chain.json with rounds 2 and a baseline go into
the emulated data bucket; the real handlers run through the template's rules, the emulated Ground Truth
labels, trains and auto-labels; progress is printed as events flow. It ends with what each round cost,
with and without the carried model, and copies the chain's reports and results to --out.

    python -m local.demo [--objects 2500] [--rounds 2] [--task bounding-box] [--seed 7] [--out out]
                         [--audit 100 [--min-accuracy 0.9]]

With --audit, each round's machine labels are audited on a sample of that size (chain.json `audit`): the emulated
workers verify the boxes (or relabel, for classification) and the demo prints the accuracy the audit measured.
"""

import argparse
import json
import logging
import sys
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from gtchain.domain.labeling_request import pricing_for
from gtchain.domain.pricing import to_cents
from gtchain.domain.spec import ChainSpec
from local.cloud import LocalCloud
from local.dataset import TASK_LABELS, chain_spec, manifest
from local.groundtruth.loop import Iteration

# The chain the demo creates, by task: the seed notebook labels birds.
CHAIN_IDS = {"text-classification": "messages"}


def _count(value: int) -> str:
    return f"{value:,}"


@dataclass
class Row:
    round: int
    role: str
    job: str
    model: str
    objects: int
    human: int
    machine: int
    cost: Decimal | None

    @property
    def machine_share(self) -> float:
        labeled = self.human + self.machine
        return 100.0 * self.machine / labeled if labeled else 0.0


class Progress:
    """Prints what happens, stamped with emulated time."""

    def __init__(self) -> None:
        self.cloud: LocalCloud | None = None
        self.audits: list[dict[str, Any]] = []  # Audit Completed details, in order

    def _say(self, text: str) -> None:
        stamp = f"{self.cloud.clock.now():%a %H:%M}" if self.cloud is not None else ""
        print(f"[{stamp}] {text}", flush=True)

    def job_iteration(self, job: str, iteration: Iteration, counters: dict[str, int]) -> None:
        human = 0 if iteration.human is None else len(iteration.human.index)
        machine = 0 if iteration.machine is None else len(iteration.machine.index)
        total = counters["TotalLabeled"] + counters["Unlabeled"]
        parts = [f"{_count(human)} to humans"] + ([f"{_count(machine)} auto-labeled"] if iteration.machine else [])
        self._say(f"    {job} iteration {iteration.number} ({iteration.kind}): {', '.join(parts)}; "
                  f"{_count(counters['TotalLabeled'])}/{_count(total)} labeled")  # fmt: skip

    def job_finished(self, job: str, status: str, counters: dict[str, int]) -> None:
        self._say(f"    {job} {status}")

    def service_event(self, detail_type: str, detail: dict[str, Any]) -> None:
        role = {"baseline": "baseline of round", "audit": "audit of round"}.get(detail.get("role", ""), "round")
        if detail_type == "Round Started" and detail.get("role") == "audit":
            self._say(f"{role} {detail['round']} started: {detail['jobName']}, {_count(detail['objects'])} of the "
                      "round's machine-labeled objects")  # fmt: skip
        elif detail_type == "Audit Completed":
            self.audits.append(detail)
            self._say(f"audit of round {detail['round']}: {audit_line(detail)}")
        elif detail_type == "Round Completed" and detail.get("role") == "audit":
            return  # said by Audit Completed
        elif detail_type == "Round Started":
            model = "with the carried model" if detail.get("initialModelArn") else "without a model (cold start)"
            self._say(
                f"{role} {detail['round']} started: {detail['jobName']}, {_count(detail['objects'])} objects, {model}"
            )
            for warning in detail.get("warnings") or []:  # why auto-labeling cannot run, or is unlikely to pay
                self._say(f"    warning: {warning}")
        elif detail_type == "Round Completed":
            counters = detail.get("labelCounters") or {}
            human, machine = counters.get("human_labeled", 0), counters.get("machine_labeled", 0)
            share = 100.0 * machine / max(human + machine, 1)
            self._say(f"{role} {detail['round']} completed: {_count(human)} human, {_count(machine)} machine "
                      f"({share:.1f}% machine), ${detail.get('costUsd')}")  # fmt: skip
        elif detail_type == "Report Ready":
            self._say(f"report ready for {detail['jobName']}: {detail.get('chainHtmlUri') or detail.get('reportUri')}")
        elif detail_type in ("Round Failed", "Chain Paused", "Manifest Rejected"):
            self._say(f"{detail_type}: {detail.get('reason')}")
        else:
            self._say(detail_type)


def _rows(cloud: LocalCloud, chain_id: str, spec: ChainSpec) -> list[Row]:
    pricing = pricing_for(spec)
    rows = []
    for name in cloud.job_names():
        description = cloud.describe_job(name)
        tags = {tag["Key"]: tag["Value"] for tag in description.get("Tags", [])}
        if tags.get("gtchain:chain-id") != chain_id:
            continue
        counters = description["LabelCounters"]
        human, machine = counters["HumanLabeled"], counters["MachineLabeled"]
        carried = description.get("LabelingJobAlgorithmsConfig", {}).get("InitialActiveLearningModelArn")
        role = tags["gtchain:role"]
        model = "carried" if carried else ("none (baseline)" if role == "baseline" else "none")
        if role == "audit":
            model = "audit" + (" (verify)" if "Verification" in description["HumanTaskConfig"]["PreHumanTaskLambdaArn"]
                               else " (relabel)")  # fmt: skip
        total = counters["TotalLabeled"] + counters["FailedNonRetryableError"] + counters["Unlabeled"]
        rows.append(Row(int(tags["gtchain:round"]), role, name, model, total, human, machine,
                        pricing.cost(human, machine).total_usd))  # fmt: skip
    return sorted(rows, key=lambda r: (r.round, {"round": 0, "baseline": 1}.get(r.role, 2)))


def _table(rows: list[Row]) -> str:
    header = ("round", "job", "model", "objects", "human", "machine", "machine %", "cost")
    cells = [
        (str(r.round), r.job, r.model, _count(r.objects), _count(r.human), _count(r.machine), f"{r.machine_share:.1f}",
         "unknown" if r.cost is None else f"${to_cents(r.cost):,}")
        for r in rows
    ]  # fmt: skip
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(header)]
    right = {3, 4, 5, 6, 7}

    def line(values: tuple[str, ...]) -> str:
        return "  ".join(
            v.rjust(w) if i in right else v.ljust(w) for i, (v, w) in enumerate(zip(values, widths, strict=True))
        )

    return "\n".join([line(header), line(tuple("-" * w for w in widths)), *(line(c) for c in cells)])


def _comparison(rows: list[Row]) -> list[str]:
    lines = []
    for baseline in (r for r in rows if r.role == "baseline"):
        with_model = next((r for r in rows if r.round == baseline.round and r.role == "round"), None)
        if with_model is None or with_model.cost is None or baseline.cost is None:
            continue
        saved = to_cents(baseline.cost - with_model.cost)
        points = with_model.machine_share - baseline.machine_share
        lines.append(
            f"Round {baseline.round}: {with_model.machine_share:.1f}% machine-labeled with the carried model, "
            f"{baseline.machine_share:.1f}% without it ({points:+.1f} points); "
            f"the model saved ${saved:,} on {_count(baseline.objects)} objects."
        )
    return lines


def audit_line(detail: dict[str, Any]) -> str:
    """What an audit measured, in a line (Audit Completed's detail)."""

    def pct(value: float | None) -> str:
        return "n/a" if value is None else f"{100 * value:.1f}%"

    check = "judged good" if detail["kind"] == "verification" else "relabeled the same"
    line = (f"{detail['agreed']} of {detail['audited']} machine labels {check}: {pct(detail['accuracy'])} accurate "
            f"(95% interval {pct(detail['lower'])} to {pct(detail['upper'])})")  # fmt: skip
    if detail.get("minAccuracy") is not None:
        line += f", {'below' if detail['belowBar'] else 'clears'} minAccuracy {detail['minAccuracy']}"
    return line


def _copy_out(cloud: LocalCloud, chain_id: str, out: Path) -> list[Path]:
    written = []
    for prefix in (f"chains/{chain_id}/reports/", f"chains/{chain_id}/results/", f"chains/{chain_id}/status.json"):
        for key in cloud.keys(prefix):
            target = out / key.removeprefix(f"chains/{chain_id}/")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(cloud.get(key))
            written.append(target)
    chain_report = out / "reports" / "chain" / "report.html"
    if chain_report.exists():
        # The chain report links its jobs' files relative to reports/chain/; from out/ they are under reports/.
        html = chain_report.read_text().replace('href="../', 'href="reports/')
        (out / "report.html").write_text(html)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--objects", type=int, default=2500, help="dataset size (default 2500)")
    parser.add_argument("--rounds", type=int, default=2, help="rounds the dataset is split into (default 2)")
    parser.add_argument("--task", choices=sorted(TASK_LABELS), default="bounding-box")
    parser.add_argument("--seed", type=int, default=7, help="fixes the dataset, the workers and the learner")
    parser.add_argument("--no-baseline", action="store_true", help="skip the baseline jobs")
    parser.add_argument("--out", type=Path, default=Path("out"), help="where reports and results go (default out/)")
    parser.add_argument("--audit", type=int, metavar="N", help="audit each round's machine labels on N objects")
    parser.add_argument("--min-accuracy", type=float, metavar="X", help="with --audit: the bar the chain stops at")
    args = parser.parse_args(argv)
    if args.min_accuracy is not None and args.audit is None:
        parser.error("--min-accuracy needs --audit")
    logging.basicConfig(level=logging.WARNING, format="%(message)s", stream=sys.stdout)
    logging.getLogger("local").setLevel(logging.INFO)

    started = time.perf_counter()
    chain_id = CHAIN_IDS.get(args.task, "birds")
    progress = Progress()
    document = chain_spec(args.task, rounds=args.rounds, baseline=not args.no_baseline)
    if args.audit is not None:
        document["audit"] = {"sampleSize": args.audit} | (
            {} if args.min_accuracy is None else {"minAccuracy": args.min_accuracy})  # fmt: skip
    print("gtchain demo: the seed notebook's experiment on the embedded emulator (moto + emulated Ground Truth).")
    audit = "" if args.audit is None else f", audits of {args.audit} machine labels per round"
    print(f"{_count(args.objects)} synthetic {args.task} objects, {args.rounds} rounds, baseline "
          f"{'off' if args.no_baseline else 'on'}{audit}, seed {args.seed}. Times below are emulated.\n")  # fmt: skip
    with LocalCloud(seed=args.seed, observer=progress) as cloud:
        progress.cloud = cloud
        cloud.put(f"chains/{chain_id}/chain.json", json.dumps(document, indent=2))
        cloud.put(
            f"chains/{chain_id}/inbox/{chain_id}.manifest", manifest(args.task, cloud.bucket, args.objects, args.seed)
        )
        cloud.run()
        rows = _rows(cloud, chain_id, ChainSpec.model_validate(document))
        written = _copy_out(cloud, chain_id, args.out)
        failures = [i for i in cloud.runtime.history if i.error]
    print()
    print(_table(rows))
    print()
    for line in _comparison(rows):
        print(line)
    for detail in progress.audits:
        print(f"Round {detail['round']}'s audit: {audit_line(detail)}.")
    print("\nCosts: Ground Truth's fee per labeled object plus, for human-labeled objects, workers x task price "
          "(gtchain's cost function); training and inference instances are not included.")  # fmt: skip
    report = args.out / "report.html"
    print(f"{len(written)} files written under {args.out}/" + (f"; open {report}" if report.exists() else ""))
    if failures:
        print(f"{len(failures)} function invocation(s) failed and were retried; see their logs in CloudWatch Logs.")
    print(f"Done in {time.perf_counter() - started:.1f} s of wall time.")
    return 0 if rows else 1


if __name__ == "__main__":
    sys.exit(main())
