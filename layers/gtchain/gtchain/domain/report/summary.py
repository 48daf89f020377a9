"""A job's summary.json: LabelCounters for totals, the output files for the per-iteration detail, and
the chain service's cost function for every amount."""

from dataclasses import dataclass
from decimal import Decimal

from gtchain.domain.forecast import Terms, eligibility
from gtchain.domain.labeling_job import ChainContext, LabelingJob
from gtchain.domain.manifest import AUTO_LABELING_MIN_OBJECTS
from gtchain.domain.pricing import JobPricing, cents_or_none, to_cents
from gtchain.domain.records import AuditJob, LabelCounts
from gtchain.domain.report.models import (
    AuditClass,
    AuditSummary,
    ClassShare,
    Cost,
    Detail,
    Iteration,
    JobSettings,
    JobSummary,
    Objects,
    TrainingCurve,
    average_usd,
    fraction,
)
from gtchain.domain.report.parse import JobDetail
from gtchain.domain.spec import ChainSpec

DEFAULT_FEE_USD = Decimal("0.08")
_PRIVATE_WORKTEAM = ":workteam/private-crowd/"


@dataclass(frozen=True)
class PriceOverrides:
    """What a caller knows that the job does not say: the fee tier, or a vendor's task price."""

    fee_usd: Decimal | None = None
    task_price_usd: Decimal | None = None  # used only when the job has no PublicWorkforceTaskPrice


NO_OVERRIDES = PriceOverrides()


@dataclass(frozen=True)
class ResolvedPricing:
    pricing: JobPricing
    task_price_source: str


def resolve_pricing(job: LabelingJob, spec: ChainSpec | None, overrides: PriceOverrides) -> ResolvedPricing:
    """Workers from the job itself; the task price from the job (public), the chain's spec snapshot
    (vendor, private) or the caller; otherwise unknown, never zero."""
    workers = job.workers_per_object or (spec.workers_per_object if spec else 1)
    fee = overrides.fee_usd
    if fee is None:
        fee = spec.pricing.per_object_usd if spec else DEFAULT_FEE_USD
    price: Decimal | None
    if (price := job.task_price_usd) is not None:
        source = "PublicWorkforceTaskPrice"
    elif overrides.task_price_usd is not None:
        price, source = overrides.task_price_usd, "given"
    elif spec is not None and (price := spec.task_price_usd()) is not None:
        source = "private workforce" if spec.workforce.type == "private" else "chain.json pricePerTaskUsd"
    elif _PRIVATE_WORKTEAM in job.workteam_arn:
        price, source = Decimal(0), "private workforce"
    else:
        price, source = None, "unknown"
    return ResolvedPricing(JobPricing(fee, workers, price), source)


def job_cost(resolved: ResolvedPricing, counters: LabelCounts) -> Cost:
    pricing = resolved.pricing
    cost = pricing.cost(counters.human_labeled, counters.machine_labeled)
    return Cost(
        human_usd=cents_or_none(cost.human_usd),
        machine_usd=to_cents(cost.machine_usd),
        total_usd=cents_or_none(cost.total_usd),
        known_usd=to_cents(cost.known_usd),
        fee_per_object_usd=pricing.fee_per_object_usd,
        workers_per_object=pricing.workers_per_object,
        task_price_usd=pricing.task_price_usd,
        task_price_source=resolved.task_price_source,
        human_object_usd=pricing.human_object_usd,
        average_per_object_usd=average_usd(cost.total_usd, cost.labeled),
        all_human_usd=cents_or_none(cost.all_human_usd),
        savings_usd=cents_or_none(cost.savings_usd),
    )


def _iterations(detail: JobDetail, pricing: JobPricing) -> list[Iteration]:
    rows = []
    for number, counts in detail.iterations.items():
        cost = pricing.cost(counts.human, counts.machine)
        rows.append(
            Iteration(
                iteration=number, human=counts.human, machine=counts.machine, human_boxes=counts.human_boxes,
                machine_boxes=counts.machine_boxes, human_usd=cents_or_none(cost.human_usd),
                machine_usd=to_cents(cost.machine_usd),
            )
        )  # fmt: skip
    return rows


def _pricing_warning(resolved: ResolvedPricing, cost: Cost) -> list[str]:
    if resolved.task_price_source != "unknown":
        return []
    return [
        "the workforce's task price is unknown (a vendor workforce without pricePerTaskUsd): the human worker "
        f"cost is reported as unknown (null), not 0; the fees alone come to ${cost.known_usd}"
    ]


def _disagreement(counters: LabelCounts, detail: JobDetail) -> list[str]:
    human, machine = detail.total("human"), detail.total("machine")
    if (human, machine) == (counters.human_labeled, counters.machine_labeled):
        return []
    return [
        f"LabelCounters say {counters.human_labeled} human-labeled and {counters.machine_labeled} machine-labeled "
        f"objects, the output files show {human} and {machine}: objects and cost follow the counters, "
        "iterations follow the files"
    ]


def audit_summary(audit: AuditJob | None) -> AuditSummary | None:
    """A scored audit as the reports show it (the audit job's and the audited round job's summary)."""
    result = audit.result if audit is not None else None
    if audit is None or result is None:
        return None

    def number(value: Decimal | None) -> float | None:
        return None if value is None else float(value)

    return AuditSummary(
        job_name=audit.name, audited_job=audit.audited_job, kind=audit.kind, sampled=audit.objects,
        machine_labeled=audit.machine_labeled, audited=result.audited, agreed=result.agreed,
        accuracy=number(result.accuracy), lower=number(result.lower), upper=number(result.upper),
        min_accuracy=number(audit.min_accuracy), below_bar=result.below_bar,
        classes=[AuditClass(name=c.name, audited=c.audited, agreed=c.agreed, accuracy=float(c.accuracy),
                            lower=float(c.lower), upper=float(c.upper)) for c in result.classes],
    )  # fmt: skip


def settings_of(spec: ChainSpec | None) -> JobSettings | None:
    if spec is None:
        return None
    return JobSettings(task=spec.task.value, auto_labeling=spec.auto_labeling,
                       max_concurrent_tasks=spec.max_concurrent_tasks)  # fmt: skip


def job_eligibility(
    job: LabelingJob, settings: JobSettings | None, resolved: ResolvedPricing, context: ChainContext | None
) -> list[str]:
    """Why the job could not auto-label, or was unlikely to pay (domain.forecast.eligibility), from the settings it
    ran with; a job no chain started says only what its size alone tells."""
    counters = job.counters
    objects = counters.total_labeled + counters.failed + counters.unlabeled
    if settings is None:
        if 0 < objects < AUTO_LABELING_MIN_OBJECTS and counters.machine_labeled == 0:
            return [
                f"this job has {objects:,} objects: Ground Truth auto-labels only jobs of at least "
                f"{AUTO_LABELING_MIN_OBJECTS:,} objects (https://docs.aws.amazon.com/sagemaker/latest/dg/"
                "sms-automated-labeling.html), so humans labeled every object"
            ]
        return []
    terms = Terms(settings.task, resolved.pricing, settings.auto_labeling, settings.max_concurrent_tasks)
    number = context.round if context else 0
    found = eligibility(terms, number, objects, with_model=job.initial_model_arn is not None)
    return found if context else [w.replace("round 0", "this job", 1) for w in found]


def _classes(detail: JobDetail) -> list[ClassShare]:
    return [
        ClassShare(
            name=name, human=c.human, machine=c.machine, machine_fraction=fraction(c.machine, c.human + c.machine)
        )
        for name, c in sorted(detail.classes.items())
    ]


def build_summary(
    *,
    job: LabelingJob,
    detail: JobDetail,
    curves: list[TrainingCurve],
    curve_warnings: list[str],
    resolved: ResolvedPricing,
    context: ChainContext | None,
    generated_at: str,
    settings: JobSettings | None = None,
    audit: AuditSummary | None = None,
) -> JobSummary:
    counters = job.counters
    status = job.status
    cost = job_cost(resolved, counters)
    warnings = []
    if status != "Completed":
        warnings.append(f"the job is {status}: this report covers the output written so far")
    warnings += _pricing_warning(resolved, cost) + detail.warnings + _disagreement(counters, detail) + curve_warnings
    return JobSummary(
        generated_at=generated_at,
        job_name=job.name,
        job_arn=job.arn,
        chain_id=context.chain_id if context else None,
        round=context.round if context else None,
        role=context.role if context else None,
        status=status,
        initial_model_arn=job.initial_model_arn,
        final_model_arn=job.final_model_arn,
        objects=Objects(
            total=counters.total_labeled + counters.failed + counters.unlabeled,
            human=counters.human_labeled,
            machine=counters.machine_labeled,
            failed=counters.failed,
            unlabeled=counters.unlabeled,
        ),
        machine_fraction=fraction(counters.machine_labeled, counters.total_labeled),
        detail=Detail(
            human=detail.total("human"),
            machine=detail.total("machine"),
            human_boxes=detail.total("human_boxes"),
            machine_boxes=detail.total("machine_boxes"),
            repeated_entries=detail.repeated_entries,
            in_both=detail.in_both,
        ),
        iterations=_iterations(detail, resolved.pricing),
        cost=cost,
        training_curves=curves,
        warnings=warnings,
        settings=settings,
        eligibility=job_eligibility(job, settings, resolved, context),
        class_unit=("boxes" if detail.total("human_boxes") + detail.total("machine_boxes") else "objects")
        if detail.classes
        else None,
        classes=_classes(detail),
        audit=audit,
    )
