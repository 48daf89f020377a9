"""Synthetic chain reports, rendered by the real code path (build_summary, build_chain_summary, the figures, the
HTML page): 1, 4 and 20 rounds, each task type, baselines on, "once" and off, a chain too small to auto-label.
A sample's rounds may be audited (made-up audit results). The figure tests and `make report-check`
(tools/report_check.py) render these.

Counts follow Ground Truth's schedule (a probe of 10, a training batch, the validation set, then active-learning
iterations of up to maxConcurrentTasks human labels) with machine-labeled shares like the emulator's; they are
made up, not measured."""

from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from gtchain.domain.audit import Judged, score
from gtchain.domain.forecast import (
    BaselinePolicy,
    Observed,
    PlannedRound,
    Terms,
    forecast_round,
    runs_baseline,
    schedule,
)
from gtchain.domain.labeling_job import TAG_CHAIN, TAG_ROLE, TAG_ROUND, ChainContext, LabelingJob
from gtchain.domain.pricing import JobPricing
from gtchain.domain.records import AuditJob, LabelCounts
from gtchain.domain.report.chain import Recorded, build_chain_summary
from gtchain.domain.report.models import ChainSummary, JobSettings, JobSummary, TrainingCurve
from gtchain.domain.report.parse import ClassCounts, IterationCounts, JobDetail
from gtchain.domain.report.summary import ResolvedPricing, audit_summary, build_summary
from gtchain.rendering.figures import chain_figure, comparison_figures, job_figure
from gtchain.rendering.html import render_chain_html

LABELS = {
    "bounding-box": ("Bird",),
    "image-classification": ("Sparrow", "Pigeon", "Gull"),
    "text-classification": ("Praise", "Complaint", "Question"),
    "semantic-segmentation": ("Bird",),
}
PRICES = {"semantic-segmentation": Decimal("0.840")}
GENERATED = "2026-11-24T12:00:00.000Z"


@dataclass
class Sample:
    name: str
    summary: ChainSummary
    jobs: list[JobSummary]
    job_pngs: dict[str, bytes] = field(default_factory=dict)
    chain_png: bytes = b""
    comparison_pngs: dict[int, bytes] = field(default_factory=dict)
    html: str = ""


def _share(task: str, number: int, with_model: bool, baseline: bool, objects: int, terms: Terms) -> float:
    plan = schedule(terms, objects, with_model=with_model)
    if not plan.auto_labeling:
        return 0.0
    wobble = ((number * 37 + (11 if baseline else 0)) % 7 - 3) / 100
    share = (0.60 + 0.02 * min(number - 2, 6) if with_model else 0.46) + wobble
    if task == "text-classification":
        share += 0.03
    return max(0.0, min(share, float(plan.machine_ceiling_share) - 0.02))


def _detail(task: str, terms: Terms, objects: int, human: int, machine: int, with_model: bool) -> JobDetail:
    detail = JobDetail()
    plan = schedule(terms, objects, with_model=with_model)
    batch = terms.max_concurrent_tasks
    number = 0
    if plan.auto_labeling:
        steps = [plan.probe, plan.training] + [
            min(batch, plan.validation - s) for s in range(0, plan.validation, batch)
        ]
    else:
        steps = [min(batch, objects - s) for s in range(0, objects, batch)]
    left_human = human
    for size in (s for s in steps if s):
        number += 1
        take = min(size, left_human)
        detail.iterations[number] = IterationCounts(human=take)
        left_human -= take
    left_machine = machine
    while left_human or left_machine:
        number += 1
        auto = left_machine if number > 6 else min(left_machine, max(1, int(machine * 0.7)) if machine else 0)
        take = min(batch, left_human)
        detail.iterations[number] = IterationCounts(human=take, machine=auto)
        left_human -= take
        left_machine -= auto
    if task == "bounding-box":
        for counts in detail.iterations.values():
            counts.human_boxes, counts.machine_boxes = 2 * counts.human, 2 * counts.machine - counts.machine // 5
        detail.classes["Bird"] = ClassCounts(human=detail.total("human_boxes"), machine=detail.total("machine_boxes"))
    elif task != "semantic-segmentation":
        labels = LABELS[task]
        weights = [0.5, 0.3, 0.2][: len(labels)]
        for index, (label, weight) in enumerate(zip(labels, weights, strict=True)):
            machine_share = machine * (weight + (0.08 if index == 0 else -0.04))
            detail.classes[label] = ClassCounts(human=round(human * weight), machine=max(0, round(machine_share)))
    return detail


def _curves(detail: JobDetail, number: int, metric: str) -> list[TrainingCurve]:
    curves: list[TrainingCurve] = []
    for iteration, counts in detail.iterations.items():
        if counts.machine:
            top = min(0.97, 0.78 + 0.01 * number + 0.02 * len(curves))
            values = [round(top - (top - 0.35) * 0.6**epoch, 4) for epoch in range(10)]
            curves.append(TrainingCurve(iteration=iteration, training_job_name=f"t-{number}-{iteration}",
                                        samples=200 * (len(curves) + 1), metric=metric, values=values))  # fmt: skip
    return curves


def chain_sample(
    name: str,
    *,
    task: str = "bounding-box",
    rounds: int = 4,
    objects: int = 1250,
    baseline: BaselinePolicy = True,
    max_concurrent: int = 200,
    chain_id: str = "birds",
    audit: int = 0,
) -> Sample:
    """With `audit`, each round with machine labels is audited on that many of them (the bar 0.9; made-up results
    whose accuracy falls as the rounds go on, so later rounds fall below the bar)."""
    price = PRICES.get(task, Decimal("0.036"))
    pricing = JobPricing(Decimal("0.08"), 3, price)
    terms = Terms(task, pricing, True, max_concurrent)
    settings = JobSettings(task=task, auto_labeling=True, max_concurrent_tasks=max_concurrent)
    metric = "validation mAP" if task == "bounding-box" else "validation accuracy"
    recorded: list[Recorded] = []
    has_model = baselined = False
    for number in range(1, rounds + 1):
        with_model = has_model
        roles = ["round"]
        if runs_baseline(baseline, auto_labeling=True, with_model=with_model, baseline_before=baselined):
            roles.append("baseline")
            baselined = True
        for role in roles:
            warm = with_model and role == "round"
            share = _share(task, number, warm, role == "baseline", objects, terms)
            machine = round(objects * share)
            human = objects - machine
            job_name = f"gtchain-{chain_id}-3f9c2a-r{number}{'b' if role == 'baseline' else ''}-a1"
            detail = _detail(task, terms, objects, human, machine, warm)
            arn = "arn:aws:sagemaker:us-east-1:123456789012"
            job = LabelingJob(
                name=job_name, status="Completed", arn=f"{arn}:labeling-job/{job_name}",
                tags={TAG_CHAIN: chain_id, TAG_ROUND: str(number), TAG_ROLE: role},
                counters=LabelCounts(total_labeled=objects, human_labeled=human, machine_labeled=machine),
                initial_model_arn=f"{arn}:model/{chain_id}-r{number - 1}" if warm else None,
                final_model_arn=f"{arn}:model/{chain_id}-r{number}" if machine else None,
                workers_per_object=3, task_price_usd=price,
            )  # fmt: skip
            summary = build_summary(
                job=job, detail=detail, curves=_curves(detail, number, metric), curve_warnings=[],
                resolved=ResolvedPricing(pricing, "PublicWorkforceTaskPrice"),
                context=ChainContext(chain_id, number, "baseline" if role == "baseline" else "round"),
                generated_at=GENERATED, settings=settings,
            )  # fmt: skip
            prefix = f"s3://data/chains/{chain_id}/reports/{job_name}/"
            if audit and role == "round" and machine:
                audited = _audit(chain_id, number, job_name, task, min(audit, machine), machine)
                summary = summary.model_copy(update={"audit": audited.summary.audit})
                recorded.append(audited)
            recorded.append(Recorded(summary, prefix + "summary.json", prefix + "report.png"))
        has_model = has_model or schedule(terms, objects, with_model=with_model).auto_labeling
    history = [
        Observed(r.summary.round or 0, r.summary.role or "round", r.summary.initial_model_arn is not None,
                 r.summary.objects.human, r.summary.objects.machine)
        for r in recorded
    ]  # fmt: skip
    next_baseline = runs_baseline(baseline, auto_labeling=True, with_model=has_model, baseline_before=baselined)
    upcoming = PlannedRound(rounds + 1, objects, has_model, next_baseline, "next.manifest", "1/1")
    forecast = forecast_round(terms, upcoming, history=history)
    chain = build_chain_summary(chain_id, recorded, [], GENERATED, next_round=forecast)
    return Sample(name, chain, [r.summary for r in recorded])


def _audit(chain_id: str, number: int, audited: str, task: str, sampled: int, machine: int) -> Recorded:
    """A made-up audit of a round's machine labels: its job's summary (role audit) with its result."""
    name = audited.replace(f"-r{number}-", f"-r{number}a-")
    labels = LABELS[task]
    judgements = [Judged(i % 100 >= 3 * number - 2, (labels[i % len(labels)],)) for i in range(sampled)]
    job = AuditJob(
        name=name, kind="verification" if task == "bounding-box" else "relabel", audited_job=audited,
        label_attribute="category-audit", objects=sampled, machine_labeled=machine, input_uri="s3://data/audit.manifest",
        min_accuracy=Decimal("0.9"), status="completed", scored=True, result=score(judgements, Decimal("0.9")),
    )  # fmt: skip
    pricing = JobPricing(Decimal("0.08"), 3, PRICES.get(task, Decimal("0.036")))
    counters = LabelCounts(total_labeled=sampled, human_labeled=sampled)
    described = LabelingJob(
        name=name, status="Completed", arn=f"arn:aws:sagemaker:us-east-1:123456789012:labeling-job/{name}",
        tags={TAG_CHAIN: chain_id, TAG_ROUND: str(number), TAG_ROLE: "audit"}, counters=counters,
        workers_per_object=3, task_price_usd=pricing.task_price_usd,
    )  # fmt: skip
    summary = build_summary(
        job=described, detail=JobDetail(), curves=[], curve_warnings=[],
        resolved=ResolvedPricing(pricing, "PublicWorkforceTaskPrice"), context=ChainContext(chain_id, number, "audit"),
        generated_at=GENERATED, settings=JobSettings(task=task, auto_labeling=False, max_concurrent_tasks=200),
        audit=audit_summary(job),
    )  # fmt: skip
    prefix = f"s3://data/chains/{chain_id}/reports/{name}/"
    return Recorded(summary, prefix + "summary.json", prefix + "report.png")


def render(sample: Sample) -> Sample:
    sample.job_pngs = {job.job_name: job_figure(job) for job in sample.jobs}
    sample.chain_png = chain_figure(sample.summary)
    sample.comparison_pngs = comparison_figures(sample.summary, sample.jobs)
    sample.html = render_chain_html(sample.summary, sample.chain_png, sample.job_pngs, sample.comparison_pngs)
    return sample


def samples() -> list[Sample]:
    """The reports `make report-check` opens in Chromium."""
    return [
        chain_sample("one-round", rounds=1),
        chain_sample("four-rounds-baselines", rounds=4, baseline=True),
        chain_sample("four-rounds-audited", rounds=4, baseline="once", objects=2500, audit=100),
        chain_sample("twenty-rounds-once", rounds=20, baseline="once"),
        chain_sample(
            "text-classification-no-baseline", task="text-classification", rounds=4, baseline=False, chain_id="messages"
        ),
        chain_sample(
            "image-classification-once", task="image-classification", rounds=3, baseline="once", chain_id="gulls"
        ),
        chain_sample("five-hundred-objects", rounds=2, objects=500, baseline=True),
    ]


def write(sample: Sample, directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{sample.name}.html"
    path.write_text(sample.html)
    return path
