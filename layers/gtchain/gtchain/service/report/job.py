"""Report one labeling job: the one function behind both the report Lambda and the report command line."""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from gtchain.domain import events
from gtchain.domain.labeling_request import TAG_CHAIN, TAG_ROLE, TAG_ROUND, tags_of
from gtchain.domain.names import REPORT_FIGURE, REPORT_SUMMARY, job_report_prefix
from gtchain.domain.records import utc_now
from gtchain.domain.report.models import JobSummary
from gtchain.domain.report.summary import NO_OVERRIDES, ChainContext, PriceOverrides, build_summary, resolve_pricing
from gtchain.domain.spec import ChainSpec
from gtchain.observability import logger
from gtchain.service.ports import (
    ChainStore,
    LabelingService,
    Publisher,
    StreamingObjectStore,
    TrainingLogs,
    TransientError,
)
from gtchain.service.report.chain import rebuild_chain_report
from gtchain.service.report.output import parse_job_output, training_curves


@dataclass(frozen=True)
class ReportPorts:
    objects: StreamingObjectStore
    labeling: LabelingService
    logs: TrainingLogs
    store: ChainStore | None = None  # for a chain's spec snapshot (a vendor's task price)
    publisher: Publisher | None = None
    reports_bucket: str | None = None  # the data bucket: where chain reports go


class ReportSink(Protocol):
    def write(self, name: str, body: bytes, content_type: str) -> str: ...


@dataclass(frozen=True)
class S3Sink:
    objects: StreamingObjectStore
    bucket: str
    prefix: str  # "" or ending in "/"

    def write(self, name: str, body: bytes, content_type: str) -> str:
        self.objects.put(self.bucket, self.prefix + name, body, content_type)
        return f"s3://{self.bucket}/{self.prefix}{name}"


@dataclass(frozen=True)
class DirSink:
    directory: Path

    def write(self, name: str, body: bytes, content_type: str) -> str:
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / name
        path.write_bytes(body)
        return str(path)


class JobNotReportableError(Exception):
    """The job does not exist, or (for the chain's reports) is not a gtchain round or baseline."""


class OutputNotReadyError(TransientError):
    """Ground Truth writes a job's output minutes after Completed: retry later."""


@dataclass(frozen=True)
class ReportOutcome:
    summary: JobSummary
    uris: dict[str, str]


def chain_context(description: dict[str, Any]) -> ChainContext | None:
    tags = tags_of(description)
    role = tags.get(TAG_ROLE)
    if TAG_CHAIN not in tags or not tags.get(TAG_ROUND, "").isdecimal() or role not in ("round", "baseline"):
        return None
    return ChainContext(tags[TAG_CHAIN], int(tags[TAG_ROUND]), "baseline" if role == "baseline" else "round")


def split_s3_uri(uri: str) -> tuple[str, str]:
    if not uri.startswith("s3://"):
        raise ValueError(f"{uri!r} is not an s3:// URI")
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


def _output_prefix(description: dict[str, Any]) -> tuple[str, str]:
    """Ground Truth writes a job's output under <S3OutputPath>/<job-name>/."""
    bucket, path = split_s3_uri(description["OutputConfig"]["S3OutputPath"])
    path = path.strip("/")
    return bucket, f"{path}/{description['LabelingJobName']}/" if path else f"{description['LabelingJobName']}/"


def _check_output(ports: ReportPorts, description: dict[str, Any]) -> None:
    if description["LabelingJobStatus"] != "Completed":
        return
    uri = (description.get("LabelingJobOutput") or {}).get("OutputDatasetS3Uri")
    if uri is None or ports.objects.head(*split_s3_uri(uri)) is None:
        raise OutputNotReadyError(f"labeling job {description['LabelingJobName']} completed but its output "
                                  f"({uri or 'no OutputDatasetS3Uri yet'}) is not in S3 yet")  # fmt: skip


def _spec(ports: ReportPorts, context: ChainContext | None) -> ChainSpec | None:
    if context is None or ports.store is None:
        return None
    record = ports.store.get_round(context.chain_id, context.round)
    return record.spec if record else None


def build_job_summary(
    ports: ReportPorts, description: dict[str, Any], overrides: PriceOverrides, now: Callable[[], str] = utc_now
) -> JobSummary:
    _check_output(ports, description)
    context = chain_context(description)
    bucket, prefix = _output_prefix(description)
    detail = parse_job_output(ports.objects, bucket, prefix, description["LabelAttributeName"])
    curves, curve_warnings = training_curves(ports.logs, detail.training_jobs)
    return build_summary(
        description=description, detail=detail, curves=curves, curve_warnings=curve_warnings,
        resolved=resolve_pricing(description, _spec(ports, context), overrides), context=context,
        generated_at=now(),
    )  # fmt: skip


def report_job(
    ports: ReportPorts,
    job_name: str,
    *,
    out: ReportSink | None = None,
    overrides: PriceOverrides = NO_OVERRIDES,
    now: Callable[[], str] = utc_now,
) -> ReportOutcome:
    """Write the job's summary.json and report.png to `out`; without `out`, into its chain's reports/,
    then rebuild the chain report and announce it (Report Ready and an SNS message)."""
    from gtchain.rendering.figures import job_figure

    description = ports.labeling.describe_job(job_name)
    if description is None:
        raise JobNotReportableError(f"no labeling job named {job_name}")
    context = chain_context(description)
    chain: tuple[ChainContext, str] | None = None  # the chain whose report this job joins, and its bucket
    if out is None:
        if context is None or ports.reports_bucket is None:
            raise JobNotReportableError(f"labeling job {job_name} is not a gtchain round or baseline")
        chain = (context, ports.reports_bucket)
        prefix = job_report_prefix(context.chain_id, description["LabelingJobName"])
        out = S3Sink(ports.objects, ports.reports_bucket, prefix)
    summary = build_job_summary(ports, description, overrides, now)
    # The figure first: a summary.json that exists always has its figure beside it.
    uris = {"reportUri": out.write(REPORT_FIGURE, job_figure(summary), "image/png")}
    uris["summaryUri"] = out.write(REPORT_SUMMARY, summary.to_json(), "application/json")
    if chain is not None:
        uris |= rebuild_chain_report(ports.objects, chain[1], chain[0].chain_id, now)
        _announce(ports, chain[0], summary, uris)
    return ReportOutcome(summary, uris)


def _announce(ports: ReportPorts, context: ChainContext, summary: JobSummary, uris: dict[str, str]) -> None:
    if ports.publisher is None:
        return
    detail = {"chainId": context.chain_id, "round": context.round, "role": context.role,
              "jobName": summary.job_name, **uris}  # fmt: skip
    ports.publisher.publish(events.REPORT_READY, detail)
    cost = summary.cost
    lines = [
        f"Chain {context.chain_id}, round {context.round} ({context.role}): labeling job {summary.job_name}.",
        f"Objects: {summary.objects.total} ({summary.objects.human} human, {summary.objects.machine} machine, "
        f"{summary.objects.failed} failed).",
        f"Cost: {'unknown' if cost.total_usd is None else '$' + str(cost.total_usd)} (fees known: ${cost.known_usd}).",
        *(f"Warning: {w}" for w in summary.warnings[:5]),
        "",
        *(f"{name}: {uri}" for name, uri in uris.items()),
    ]
    ports.publisher.notify(f"gtchain: report for chain {context.chain_id} round {context.round} {context.role}",
                           "\n".join(lines))  # fmt: skip


@dataclass(frozen=True)
class Handled:
    action: str  # reported | ignored
    detail: dict[str, str]


def handle_round_completed(ports: ReportPorts, job_name: str) -> Handled:
    """The report Lambda: a job that will never be reportable is logged and dropped, not retried."""
    try:
        outcome = report_job(ports, job_name)
    except JobNotReportableError as exc:
        logger.warning("report skipped", extra={"job": job_name, "reason": str(exc)})
        return Handled("ignored", {"reason": str(exc)})
    for warning in outcome.summary.warnings:
        logger.warning("report warning", extra={"job": job_name, "warning": warning})
    return Handled("reported", outcome.uris)
