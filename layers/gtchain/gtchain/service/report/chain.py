"""The chain report, rebuilt from the job summaries recorded under chains/<chain-id>/reports/.

Convergence when reporters run at once (a round and its baseline finishing together): each reporter
writes its job summary first, then builds the chain report from every summary listed, writes it, and
lists again; if the set of summaries changed meanwhile it builds again. The last chain report written
is therefore built from a listing that no later summary escaped: whoever writes a summary after that
listing writes a chain report after it too.
"""

from collections.abc import Callable

from pydantic import ValidationError

from gtchain.domain.forecast import RoundForecast
from gtchain.domain.names import (
    REPORT_FIGURE,
    REPORT_HTML,
    REPORT_SUMMARY,
    chain_report_prefix,
    job_of_summary_key,
    job_report_prefix,
    reports_prefix,
)
from gtchain.domain.report.chain import Recorded, build_chain_summary
from gtchain.domain.report.models import JobSummary
from gtchain.service.forecast import RoundReader, observed_from_summaries, upcoming_round_forecast
from gtchain.service.ports import StreamingObjectStore, TransientError

MAX_PASSES = 5


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


def _next_round(store: RoundReader | None, chain_id: str, recorded: list[Recorded]) -> RoundForecast | None:
    if store is None:
        return None
    summaries = [r.summary for r in recorded]
    reported = [s.round for s in summaries if s.round is not None]
    return upcoming_round_forecast(store, chain_id, observed_from_summaries(summaries), reported)


def rebuild_chain_report(
    objects: StreamingObjectStore,
    bucket: str,
    chain_id: str,
    now: Callable[[], str],
    *,
    store: RoundReader | None = None,
) -> dict[str, str]:
    """Write the chain's summary.json, report.png and report.html; returns their URIs. With the chain table
    (`store`: two GetItems), the report forecasts the chain's next round. The renderers (matplotlib, jinja2) are
    imported here, when needed: after the job's figure is drawn and freed, not before."""
    from gtchain.rendering.figures import chain_figure, comparison_figures
    from gtchain.rendering.html import render_chain_html

    prefix = chain_report_prefix(chain_id)
    listed = _list_summaries(objects, bucket, chain_id)
    for _ in range(MAX_PASSES):
        recorded, warnings = _load(objects, bucket, chain_id, list(listed))
        summary = build_chain_summary(
            chain_id, recorded, warnings, now(), next_round=_next_round(store, chain_id, recorded)
        )
        png = chain_figure(summary)
        job_pngs = {}
        for r in recorded:
            key = job_report_prefix(chain_id, r.summary.job_name) + REPORT_FIGURE
            if objects.head(bucket, key) is not None:
                job_pngs[r.summary.job_name] = objects.get_bytes(bucket, key)
        compared = comparison_figures(summary, [r.summary for r in recorded])
        objects.put(bucket, prefix + REPORT_FIGURE, png, "image/png")
        html = render_chain_html(summary, png, job_pngs, compared)
        objects.put(bucket, prefix + REPORT_HTML, html.encode(), "text/html")
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
