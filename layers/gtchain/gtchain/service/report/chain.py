"""The chain report, rebuilt from the job summaries recorded under chains/<chain-id>/reports/.

Convergence when reporters run at once (a round and its baseline finishing together): each reporter
writes its job summary first, then builds the chain report from every summary listed, writes it, and
lists again; if the set of summaries changed meanwhile it builds again. The last chain report written
is therefore built from a listing that no later summary escaped: whoever writes a summary after that
listing writes a chain report after it too.
"""

import base64
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from pydantic import ValidationError

from gtchain.domain.names import (
    REPORT_FIGURE,
    REPORT_HTML,
    REPORT_SUMMARY,
    chain_report_prefix,
    job_of_summary_key,
    job_report_prefix,
    reports_prefix,
)
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
from gtchain.service.ports import StreamingObjectStore, TransientError

MAX_PASSES = 5
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
    assert s.round is not None and s.role is not None
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


_templates = Environment(
    loader=PackageLoader("gtchain.rendering", "templates"),
    autoescape=select_autoescape(default=True),
    undefined=StrictUndefined,
    keep_trailing_newline=True,
)
_templates.filters["usd"] = lambda amount: "unknown" if amount is None else f"${amount:,.2f}"
_templates.filters["usd4"] = lambda amount: "unknown" if amount is None else f"${amount:,.4f}"
_templates.filters["pct"] = lambda value: "n/a" if value is None else f"{100 * value:.1f}%"
_templates.filters["pts"] = lambda value: "n/a" if value is None else f"{100 * value:+.1f} points"


def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode()


def render_chain_html(summary: ChainSummary, chain_png: bytes, job_pngs: dict[str, bytes]) -> str:
    """A self-contained page: the figures travel inside it as data URIs."""
    return _templates.get_template("chain-report.html.j2").render(
        summary=summary,
        chain_figure=_data_uri(chain_png),
        job_figures={name: _data_uri(png) for name, png in job_pngs.items()},
    )


def _list_summaries(objects: StreamingObjectStore, bucket: str, chain_id: str) -> dict[str, str]:
    """Job summary key -> ETag: what a chain report is built from."""
    return {
        info.key: info.etag
        for info in objects.list_objects(bucket, reports_prefix(chain_id))
        if job_of_summary_key(chain_id, info.key) is not None
    }


def _load(
    objects: StreamingObjectStore, bucket: str, chain_id: str, keys: list[str]
) -> tuple[list[Recorded], list[str]]:
    recorded, warnings = [], []
    for key in sorted(keys):
        try:
            summary = JobSummary.model_validate_json(objects.get_bytes(bucket, key))
        except ValidationError as exc:
            warnings.append(f"s3://{bucket}/{key} is not a readable job summary ({exc.error_count()} errors); left out")
            continue
        if summary.chain_id != chain_id or summary.round is None or summary.role is None:
            warnings.append(f"s3://{bucket}/{key} is not a report of this chain's rounds; left out")
            continue
        prefix = job_report_prefix(chain_id, summary.job_name)
        recorded.append(Recorded(summary, f"s3://{bucket}/{key}", f"s3://{bucket}/{prefix}{REPORT_FIGURE}"))
    return recorded, warnings


def rebuild_chain_report(
    objects: StreamingObjectStore, bucket: str, chain_id: str, now: Callable[[], str]
) -> dict[str, str]:
    """Write the chain's summary.json, report.png and report.html; returns their URIs."""
    from gtchain.rendering.figures import chain_figure

    prefix = chain_report_prefix(chain_id)
    listed = _list_summaries(objects, bucket, chain_id)
    for _ in range(MAX_PASSES):
        recorded, warnings = _load(objects, bucket, chain_id, list(listed))
        summary = build_chain_summary(chain_id, recorded, warnings, now())
        png = chain_figure(summary)
        job_pngs = {}
        for r in recorded:
            key = job_report_prefix(chain_id, r.summary.job_name) + REPORT_FIGURE
            if objects.head(bucket, key) is not None:
                job_pngs[r.summary.job_name] = objects.get_bytes(bucket, key)
        objects.put(bucket, prefix + REPORT_FIGURE, png, "image/png")
        objects.put(bucket, prefix + REPORT_HTML, render_chain_html(summary, png, job_pngs).encode(), "text/html")
        objects.put(bucket, prefix + REPORT_SUMMARY, summary.to_json(), "application/json")
        again = _list_summaries(objects, bucket, chain_id)
        if again == listed:
            uri = f"s3://{bucket}/{prefix}"
            return {
                "chainSummaryUri": uri + REPORT_SUMMARY,
                "chainReportUri": uri + REPORT_FIGURE,
                "chainHtmlUri": uri + REPORT_HTML,
            }
        listed = again
    raise TransientError(f"chain {chain_id}: job summaries kept changing over {MAX_PASSES} rebuilds")
