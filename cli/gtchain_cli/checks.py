"""What `validate` and `submit` check before anything is uploaded, with the service's own validators and
messages: chain.json through domain.spec.parse_chain_spec (line, field, "did you mean"), each manifest through
domain.manifest.scan_manifest and check_parts, exactly as the start function checks them after an upload."""

import os
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from gtchain.domain import names
from gtchain.domain.forecast import runs_baseline
from gtchain.domain.manifest import AUTO_LABELING_MIN_OBJECTS, Issue, check_parts, scan_manifest, split_sizes
from gtchain.domain.spec import ChainSpec, parse_chain_spec
from gtchain.service.chain import round_worst_case_usd


class AnyBucket(frozenset[str]):
    """The allow-list when none is known (validate offline): every bucket passes; submit checks them."""

    def __contains__(self, item: object) -> bool:
        return True


@dataclass(frozen=True)
class Finding:
    """One thing wrong, where: the file, the line (1-based) and the field, as the error reports name them."""

    path: str
    message: str
    line: int | None = None
    field: str | None = None

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.field + ': ' if self.field else ''}{self.message}"

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.path, "line": self.line, "field": self.field, "message": self.message}


def _findings(path: str, issues: list[Issue]) -> list[Finding]:
    return [Finding(path, issue.message, issue.line, issue.field) for issue in issues]


@dataclass
class SpecCheck:
    path: str
    spec: ChainSpec | None
    findings: list[Finding]


@dataclass
class ManifestCheck:
    path: Path
    name: str  # the inbox name it gets: the file's name
    objects: int = 0
    sizes: list[int] = field(default_factory=list)  # the rounds' parts, in order
    findings: list[Finding] = field(default_factory=list)
    errors: int = 0  # every error, also those beyond the ones listed
    checked: bool = True  # False when chain.json is invalid: the task decides what a line needs


def check_spec(path: Path) -> SpecCheck:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return SpecCheck(str(path), None, [Finding(str(path), f"cannot read it: {exc.strerror or exc}")])
    spec, issues = parse_chain_spec(raw)
    return SpecCheck(str(path), spec, _findings(str(path), issues))


def check_manifest(path: Path, spec: ChainSpec | None, allowed_buckets: frozenset[str] | None) -> ManifestCheck:
    check = ManifestCheck(path, path.name)
    shown = str(path)
    if not path.name.endswith(names.MANIFEST_SUFFIX) or path.name == names.MANIFEST_SUFFIX:
        check.findings.append(Finding(shown, f"the file name must end in {names.MANIFEST_SUFFIX} (it is uploaded as "
                                             f"inbox/{path.name}, and only *.manifest starts rounds)"))  # fmt: skip
    if spec is None:
        check.checked = False
        check.errors = len(check.findings)
        return check
    try:
        with path.open("rb") as lines, open(os.devnull, "wb") as sink:  # noqa: PTH123 (a sink, not a path)
            scan = scan_manifest(lines, task=spec.profile, allowed_buckets=allowed_buckets or AnyBucket(), sink=sink)
    except OSError as exc:
        check.findings.append(Finding(shown, f"cannot read it: {exc.strerror or exc}"))
        check.errors = len(check.findings)
        return check
    check.objects = scan.objects
    check.sizes = split_sizes(scan.objects, spec.rounds) if scan.objects else []
    parts = check_parts(scan, check.sizes)
    check.findings += _findings(shown, scan.issues + parts)
    check.errors = len(check.findings) + scan.issue_count - len(scan.issues)
    return check


# ---- what a submission will do ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PlannedRound:
    number: int  # chain-wide, as far as can be told now (rounds queued meanwhile come first)
    manifest: str
    part: str  # "1/2"
    objects: int
    baseline: bool
    worst_case_usd: Decimal


@dataclass
class Plan:
    rounds: list[PlannedRound]
    worst_case_usd: Decimal
    budget_usd: Decimal | None
    spent_usd: Decimal
    pauses_before: int | None  # the first round that would not fit the budget at worst, if any
    model_at_start: bool  # whether the first planned round starts from a model (initialModelArn or a carried one)
    all_human: bool  # auto-labeling is off, or every round is under 1,250 objects: humans label everything


def plan(spec: ChainSpec, manifests: list[ManifestCheck], status: dict[str, Any] | None) -> Plan:
    """Rounds, their sizes, baselines and worst case against budgetUsd. A baseline runs beside each round that
    starts from a model: the chain's latest (or initialModelArn), or one a round before it trained (Ground Truth
    trains one only in rounds of at least 1,250 objects). Objects the chain already labeled are skipped when a
    round starts, so the worst case is an upper bound."""
    status = status or {}
    numbers = [n for m in status.get("manifests", []) for n in m.get("rounds", [])]
    number = max(numbers, default=0) + 1
    model = bool(status.get("latestModelArn") or spec.initial_model_arn)
    spent = Decimal(str(status.get("spentUsd") or "0"))
    budget = spec.budget_usd
    has_model, rounds, total, pauses_before = model, [], Decimal(0), None
    baselined = bool(status.get("runningBaselines"))  # "once": a live baseline counts (finished ones are not listed)
    for manifest in manifests:
        for index, size in enumerate(manifest.sizes, start=1):
            with_baseline = runs_baseline(
                spec.baseline, auto_labeling=spec.auto_labeling, with_model=has_model, baseline_before=baselined
            )  # chain.json's true, false or "once"
            baselined = baselined or with_baseline
            worst = round_worst_case_usd(spec, size, with_baseline)
            rounds.append(PlannedRound(number, manifest.name, f"{index}/{len(manifest.sizes)}", size, with_baseline,
                                       worst))  # fmt: skip
            total += worst
            if budget is not None and pauses_before is None and spent + total > budget:
                pauses_before = number
            number += 1
            has_model = has_model or (spec.auto_labeling and size >= AUTO_LABELING_MIN_OBJECTS)
    all_human = not spec.auto_labeling or all(r.objects < AUTO_LABELING_MIN_OBJECTS for r in rounds)
    return Plan(rounds, total, budget, spent, pauses_before, model, all_human)
