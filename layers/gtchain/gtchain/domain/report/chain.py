"""The chain summary: every job summary of a chain's rounds and baselines, totals, and round vs baseline."""

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from gtchain.domain.audit import wilson
from gtchain.domain.forecast import Observed, PlannedRound, RoundForecast, Terms, forecast_job
from gtchain.domain.manifest import AUTO_LABELING_MIN_OBJECTS
from gtchain.domain.pricing import JobPricing, cents_or_none, to_cents
from gtchain.domain.report.models import (
    AuditRound,
    Audits,
    BaselineValue,
    CarriedModel,
    ChainJob,
    ChainSummary,
    Comparison,
    ForecastCheck,
    JobSummary,
    Objects,
    Side,
    Totals,
    average_usd,
    fraction,
)

_ROLE_ORDER = {"round": 0, "baseline": 1}


@dataclass(frozen=True)
class Recorded:
    summary: JobSummary
    summary_uri: str
    report_uri: str


def _labeled(objects: Objects) -> int:
    return objects.total - objects.failed - objects.unlabeled


def _entry(recorded: Recorded) -> ChainJob:
    s, cost = recorded.summary, recorded.summary.cost
    if s.round is None or s.role is None:
        raise ValueError(f"{recorded.summary_uri} is not the report of a chain's round or baseline")
    return ChainJob(
        round=s.round, role=s.role, job_name=s.job_name, status=s.status, initial_model_arn=s.initial_model_arn,
        final_model_arn=s.final_model_arn, objects=s.objects, machine_fraction=s.machine_fraction,
        human_usd=cost.human_usd, machine_usd=cost.machine_usd, total_usd=cost.total_usd, known_usd=cost.known_usd,
        average_per_object_usd=cost.average_per_object_usd, all_human_usd=cost.all_human_usd,
        savings_usd=cost.savings_usd, warnings=len(s.warnings), summary_uri=recorded.summary_uri,
        report_uri=recorded.report_uri, task=s.settings.task if s.settings else None, eligibility=s.eligibility,
    )  # fmt: skip


def audits_of(recorded: list[Recorded]) -> Audits:
    """The audits of machine labels, from the audit jobs' summaries (each carries its result): what they cost, and
    agreed / checked over all of them with its 95% Wilson interval."""
    rounds = []
    for r in sorted(recorded, key=lambda r: (r.summary.round or 0, r.summary.job_name)):
        s, audit = r.summary, r.summary.audit
        if audit is None or s.round is None:
            continue
        rounds.append(AuditRound(
            round=s.round, job_name=s.job_name, audited_job=audit.audited_job, kind=audit.kind, sampled=audit.sampled,
            machine_labeled=audit.machine_labeled, audited=audit.audited, agreed=audit.agreed,
            accuracy=audit.accuracy, lower=audit.lower, upper=audit.upper, min_accuracy=audit.min_accuracy,
            below_bar=audit.below_bar, classes=audit.classes, total_usd=s.cost.total_usd, known_usd=s.cost.known_usd,
            summary_uri=r.summary_uri, report_uri=r.report_uri,
        ))  # fmt: skip
    spent = sum((r.summary.cost.total_usd if r.summary.cost.total_usd is not None else r.summary.cost.known_usd
                 for r in recorded), Decimal(0))  # fmt: skip
    checked = sum(a.audited for a in rounds)
    agreed = sum(a.agreed for a in rounds)
    lower, upper = wilson(agreed, checked) if checked else (None, None)
    return Audits(
        jobs=len(recorded), spent_usd=to_cents(spent), checked_objects=checked,
        machine_label_accuracy=fraction(agreed, checked), agreed_objects=agreed,
        lower=None if lower is None else float(lower), upper=None if upper is None else float(upper),
        below_bar_rounds=[a.round for a in rounds if a.below_bar], rounds=rounds,
    )  # fmt: skip


def _sum(amounts: list[Decimal | None]) -> Decimal | None:
    """The sum, or None (unknown) when any part is unknown."""
    known = [a for a in amounts if a is not None]
    return sum(known, Decimal(0)) if len(known) == len(amounts) else None


def totals(jobs: list[ChainJob]) -> Totals:
    objects = Objects(**{f: sum(getattr(j.objects, f) for j in jobs) for f in Objects.model_fields})
    total = _sum([j.total_usd for j in jobs])
    labeled = _labeled(objects)
    return Totals(
        jobs=len(jobs), objects=objects, machine_fraction=fraction(objects.machine, labeled),
        human_usd=_sum([j.human_usd for j in jobs]), machine_usd=sum((j.machine_usd for j in jobs), Decimal(0)),
        total_usd=total, known_usd=sum((j.known_usd for j in jobs), Decimal(0)),
        average_per_object_usd=average_usd(total, labeled), all_human_usd=_sum([j.all_human_usd for j in jobs]),
        savings_usd=_sum([j.savings_usd for j in jobs]),
    )  # fmt: skip


def _side(job: ChainJob) -> Side:
    return Side(job_name=job.job_name, machine_fraction=job.machine_fraction, total_usd=job.total_usd,
                average_per_object_usd=job.average_per_object_usd)  # fmt: skip


def _comparison(round_number: int, with_model: ChainJob, without_model: ChainJob) -> Comparison:
    gain = None
    if with_model.machine_fraction is not None and without_model.machine_fraction is not None:
        gain = float(Decimal(str(with_model.machine_fraction)) - Decimal(str(without_model.machine_fraction)))
    saved = None
    if with_model.total_usd is not None and without_model.total_usd is not None:
        saved = without_model.total_usd - with_model.total_usd
    return Comparison(round=round_number, with_model=_side(with_model), without_model=_side(without_model),
                      machine_fraction_gain=gain, saved_usd=saved)  # fmt: skip


def _observed(summary: JobSummary) -> Observed | None:
    if summary.status != "Completed" or summary.round is None or summary.role is None:
        return None
    with_model = summary.role == "round" and summary.initial_model_arn is not None
    return Observed(summary.round, summary.role, with_model, summary.objects.human, summary.objects.machine)


def forecast_checks(recorded: list[Recorded]) -> list[ForecastCheck]:
    """Each job's forecast as it stood before its round started, recomputed from the jobs of earlier rounds (what the
    chain knew then, give or take a baseline still running), against what the job cost. Jobs without their
    chain.json settings (reported before the forecast existed) are left out."""
    history = [(r.summary.round or 0, o) for r in recorded if (o := _observed(r.summary)) is not None]
    checks = []
    for r in recorded:
        s = r.summary
        if s.settings is None or s.round is None or s.role is None:
            continue
        cost = s.cost
        pricing = JobPricing(cost.fee_per_object_usd, cost.workers_per_object, cost.task_price_usd)
        terms = Terms(s.settings.task, pricing, s.settings.auto_labeling, s.settings.max_concurrent_tasks)
        planned = PlannedRound(s.round, s.objects.total, s.initial_model_arn is not None, baseline=False)
        before = [o for number, o in history if number < s.round]
        job = forecast_job(terms, planned, s.role, history=before)
        actual = cost.total_usd if cost.total_usd is not None else cost.known_usd
        expected = job.expected
        checks.append(
            ForecastCheck(
                round=s.round, role=s.role, job_name=s.job_name, worst_case_usd=job.worst_case_usd,
                floor_usd=job.floor_usd, expected_usd=expected.usd if expected else None,
                expected_low_usd=expected.low_usd if expected else None,
                expected_high_usd=expected.high_usd if expected else None,
                basis=expected.basis if expected else None, actual_usd=actual,
                within_band=(expected.low_usd <= actual <= expected.high_usd) if expected else None,
            )
        )  # fmt: skip
    return sorted(checks, key=lambda c: (c.round, _ROLE_ORDER[c.role], c.job_name))


def baseline_value(jobs: list[ChainJob], comparisons: list[Comparison], cost: Decimal | None) -> BaselineValue:
    """What the baselines cost against what they measured, and what the measured saving per object would come to on
    the rounds that carried the model without a baseline beside them (an estimate)."""
    measured = _sum([c.saved_usd for c in comparisons]) if comparisons else None
    compared_rounds = {c.round for c in comparisons}
    compared_objects = sum(_labeled(j.objects) for j in jobs if j.role == "round" and j.round in compared_rounds)
    per_object = None
    if measured is not None and compared_objects:
        per_object = average_usd(measured, compared_objects)
    baseline_rounds = {j.round for j in jobs if j.role == "baseline"}
    uncompared = [j for j in jobs if j.role == "round" and j.initial_model_arn and j.round not in baseline_rounds]
    uncompared_objects = sum(_labeled(j.objects) for j in uncompared)
    estimated = None if per_object is None else to_cents(per_object * uncompared_objects)
    return BaselineValue(
        baselines=sum(1 for j in jobs if j.role == "baseline"), cost_usd=cost, measured_saved_usd=measured,
        net_usd=None if measured is None or cost is None else measured - cost, saved_per_object_usd=per_object,
        uncompared_rounds=len(uncompared), uncompared_objects=uncompared_objects, estimated_saved_usd=estimated,
    )  # fmt: skip


def _usd(amount: Decimal | None) -> str:
    if amount is None:
        return "unknown"
    cents = cents_or_none(amount) or Decimal(0)
    return f"-${-cents:,.2f}" if cents < 0 else f"${cents:,.2f}"


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def _numbers(numbers: list[int]) -> str:
    shown = sorted(set(numbers))
    return ("round " if len(shown) == 1 else "rounds ") + ", ".join(str(n) for n in shown)


def _spent_sentence(totals_by_role: dict[str, Totals], audits: Audits) -> str:
    rounds, baselines = totals_by_role["round"], totals_by_role["baseline"]

    def amount(t: Totals) -> Decimal:
        return t.total_usd if t.total_usd is not None else t.known_usd

    parts = [f"{_usd(amount(rounds))} on {_plural(rounds.jobs, 'round')}"]
    parts.append(f"{_usd(amount(baselines))} on {_plural(baselines.jobs, 'baseline')}" if baselines.jobs
                 else "nothing on baselines")  # fmt: skip
    parts.append(f"{_usd(audits.spent_usd)} on {_plural(audits.jobs, 'audit')}" if audits.jobs
                 else "nothing on audits")  # fmt: skip
    total = amount(rounds) + amount(baselines) + audits.spent_usd
    known = rounds.total_usd is not None and baselines.total_usd is not None
    lead = f"Spent so far: {_usd(total)}" if known else f"Spent so far: at least {_usd(total)} (worker pay unknown)"
    return f"{lead} ({parts[0]}, {parts[1]} and {parts[2]})."


def _no_machine_reason(jobs: list[ChainJob]) -> str:
    if all(j.objects.total < AUTO_LABELING_MIN_OBJECTS for j in jobs):
        return (f"every job had fewer than {AUTO_LABELING_MIN_OBJECTS:,} objects, the least Ground Truth auto-labels "
                "(see the warnings below)")  # fmt: skip
    return (
        "see the warnings below" if any(j.eligibility for j in jobs) else "no job's model cleared the accuracy target"
    )


def _model_sentence(jobs: list[ChainJob], comparisons: list[Comparison], value: BaselineValue, audits: Audits) -> str:
    accuracy = ""
    if audits.machine_label_accuracy is not None:
        checked = f"{_plural(audits.checked_objects, 'object')} checked"
        if audits.lower is not None and audits.upper is not None:
            checked = (f"95% interval {_pct(audits.lower)} to {_pct(audits.upper)}; {checked} in "
                       f"{_plural(len(audits.rounds), 'round')}")  # fmt: skip
        accuracy = f" Audits found the machine labels {_pct(audits.machine_label_accuracy)} accurate ({checked})"
        if audits.below_bar_rounds:
            accuracy += f"; {_numbers(audits.below_bar_rounds)} fell below minAccuracy"
        accuracy += "."
    if jobs and sum(j.objects.machine for j in jobs) == 0:
        return f"Nothing was machine-labeled: {_no_machine_reason(jobs)}.{accuracy}"
    if comparisons:
        rounds = _numbers([c.round for c in comparisons])
        with_share = fraction(sum(_machine(c.with_model.job_name, jobs) for c in comparisons),
                              sum(_labeled_of(c.with_model.job_name, jobs) for c in comparisons))  # fmt: skip
        without_share = fraction(sum(_machine(c.without_model.job_name, jobs) for c in comparisons),
                                 sum(_labeled_of(c.without_model.job_name, jobs) for c in comparisons))  # fmt: skip
        text = (f"The carried model saved {_usd(value.measured_saved_usd)} in {rounds} ({_pct(with_share)} "
                f"machine-labeled against {_pct(without_share)} without it), measured by "
                f"{_plural(value.baselines, 'baseline')} that cost {_usd(value.cost_usd)}")  # fmt: skip
        if value.net_usd is not None:
            net = value.net_usd
            text += (f": net of the baselines, {_usd(net)} so far" if net >= 0 else
                     f": so far the baselines cost {_usd(-net)} more than the saving they measured")  # fmt: skip
        if value.uncompared_rounds and value.estimated_saved_usd is not None:
            text += (f"; at the measured ${value.saved_per_object_usd:,.4f} per object, the model saved about "
                     f"{_usd(value.estimated_saved_usd)} more on the {_plural(value.uncompared_rounds, 'round')} "
                     "it ran without a baseline (an estimate)")  # fmt: skip
        return text + "." + accuracy
    carried = [j for j in jobs if j.role == "round" and j.initial_model_arn]
    if not carried:
        return "No round has started from a carried model yet, so there is no saving to measure." + accuracy
    cold = [j for j in jobs if not (j.role == "round" and j.initial_model_arn)]
    with_share = fraction(sum(j.objects.machine for j in carried), sum(_labeled(j.objects) for j in carried))
    without_share = fraction(sum(j.objects.machine for j in cold), sum(_labeled(j.objects) for j in cold))
    if value.baselines:
        lead = "No baseline has finished beside its round yet, so what the carried model saves is not measured"
    else:
        lead = "No baseline ran (chain.json baseline), so what the carried model saves is not measured"
    return (f"{lead}; rounds with it were {_pct(with_share)} machine-labeled, jobs without it "
            f"{_pct(without_share)}.{accuracy}")  # fmt: skip


def _machine(name: str, jobs: list[ChainJob]) -> int:
    return next((j.objects.machine for j in jobs if j.job_name == name), 0)


def _labeled_of(name: str, jobs: list[ChainJob]) -> int:
    return next((_labeled(j.objects) for j in jobs if j.job_name == name), 0)


def _next_sentence(upcoming: RoundForecast | None) -> str:
    if upcoming is None:
        return "No further round is queued."
    model = "with the carried model" if upcoming.with_model else "without a model"
    baseline = " and a baseline beside it" if upcoming.baseline else ""
    head = f"Next: round {upcoming.round} ({_plural(upcoming.objects, 'object')}, {model}{baseline})"
    if upcoming.floor_usd == upcoming.worst_case_usd:
        return f"{head} will cost {_usd(upcoming.worst_case_usd)}: humans label every object."
    if upcoming.expected_usd is not None:
        source = next((j.expected.source for j in upcoming.jobs if j.expected), "history")
        where = "this chain's completed rounds" if source == "history" else "the emulator"
        band = ""
        if upcoming.expected_low_usd != upcoming.expected_high_usd:
            band = f"{_usd(upcoming.expected_low_usd)} to {_usd(upcoming.expected_high_usd)}, "
        return (f"{head} is expected to cost {_usd(upcoming.expected_usd)} ({band}from {where}); at worst "
                f"{_usd(upcoming.worst_case_usd)}, at best {_usd(upcoming.floor_usd)}.")  # fmt: skip
    return (f"{head} will cost between {_usd(upcoming.floor_usd)} (Ground Truth's schedule at best) and "
            f"{_usd(upcoming.worst_case_usd)} (every object human).")  # fmt: skip


def build_chain_summary(
    chain_id: str,
    recorded: list[Recorded],
    warnings: list[str],
    generated_at: str,
    *,
    next_round: RoundForecast | None = None,
    audits: Audits | None = None,
) -> ChainSummary:
    audited = [r for r in recorded if r.summary.role == "audit"]  # audits are their own role, not rounds
    recorded = [r for r in recorded if r.summary.role != "audit"]
    jobs = sorted((_entry(r) for r in recorded), key=lambda j: (j.round, _ROLE_ORDER[j.role], j.job_name))
    audit_jobs = sorted((_entry(r) for r in audited), key=lambda j: (j.round, j.job_name))
    by_round: dict[int, dict[str, list[ChainJob]]] = defaultdict(lambda: defaultdict(list))
    for job in jobs:
        by_round[job.round][job.role].append(job)
    comparisons = []
    warnings = list(warnings)
    for number, roles in by_round.items():
        for role, candidates in roles.items():
            if len(candidates) > 1:
                names = ", ".join(j.job_name for j in candidates)
                warnings.append(f"round {number} has {len(candidates)} {role} reports ({names}); not compared")
        rounds, baselines = roles.get("round", []), roles.get("baseline", [])
        if len(rounds) == 1 and len(baselines) == 1:
            comparisons.append(_comparison(number, rounds[0], baselines[0]))
    saved = _sum([c.saved_usd for c in comparisons]) if comparisons else None
    by_role = {role: totals([j for j in jobs if j.role == role]) for role in _ROLE_ORDER}
    by_role["audit"] = totals(audit_jobs)
    audits = audits or audits_of(audited)
    value = baseline_value(jobs, comparisons, by_role["baseline"].total_usd)
    headline = [
        _spent_sentence(by_role, audits),
        _model_sentence(jobs, comparisons, value, audits),
        _next_sentence(next_round),
    ]
    return ChainSummary(
        generated_at=generated_at,
        chain_id=chain_id,
        rounds=jobs,
        totals=totals(jobs + audit_jobs),
        totals_by_role=by_role,
        comparisons=comparisons,
        carried_model=CarriedModel(comparisons=len(comparisons), saved_usd=saved),
        warnings=warnings,
        headline=headline,
        baselines=value,
        audits=audits,
        forecast_vs_actual=forecast_checks(recorded),
        next_round=next_round,
    )
