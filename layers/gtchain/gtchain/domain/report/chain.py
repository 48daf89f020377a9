"""The chain summary: every job summary of a chain's rounds and baselines, totals, and round vs baseline."""

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from gtchain.domain.report.models import (
    CarriedModel,
    ChainJob,
    ChainSummary,
    Comparison,
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
        report_uri=recorded.report_uri,
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


def build_chain_summary(
    chain_id: str, recorded: list[Recorded], warnings: list[str], generated_at: str
) -> ChainSummary:
    jobs = sorted((_entry(r) for r in recorded), key=lambda j: (j.round, _ROLE_ORDER[j.role], j.job_name))
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
    return ChainSummary(
        generated_at=generated_at,
        chain_id=chain_id,
        rounds=jobs,
        totals=totals(jobs),
        totals_by_role={role: totals([j for j in jobs if j.role == role]) for role in _ROLE_ORDER},
        comparisons=comparisons,
        carried_model=CarriedModel(comparisons=len(comparisons), saved_usd=saved),
        warnings=warnings,
    )
