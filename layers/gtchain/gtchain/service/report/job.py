"""Report one labeling job: the one function behind both the report Lambda and the report command line."""

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Protocol

from gtchain.domain import events, names
from gtchain.domain.labeling_job import ChainContext, LabelingJob
from gtchain.domain.names import REPORT_FIGURE, REPORT_SUMMARY, job_report_prefix
from gtchain.domain.records import RoundRecord, utc_now
from gtchain.domain.report.models import AuditSummary, JobSummary
from gtchain.domain.report.summary import (
    NO_OVERRIDES,
    PriceOverrides,
    audit_summary,
    build_summary,
    resolve_pricing,
    settings_of,
)
from gtchain.observability import logger
from gtchain.service.job_output import output_manifest_location
from gtchain.service.outcome import Outcome
from gtchain.service.ports import (
    ChainStore,
    LabelingService,
    Publisher,
    StreamingObjectStore,
    TrainingLogs,
)
from gtchain.service.report.chain import rebuild_chain_report
from gtchain.service.report.output import Deferred, JobOutput, collect_curves, training_curve


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
        return names.s3_uri(self.bucket, self.prefix + name)


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


@dataclass(frozen=True)
class ReportOutcome:
    summary: JobSummary
    uris: dict[str, str]


def _output_prefix(job: LabelingJob) -> tuple[str, str]:
    """Ground Truth writes a job's output under <S3OutputPath>/<job-name>/."""
    location = names.parse_s3_uri(job.output_path, key_required=False)
    if location is None:
        raise JobNotReportableError(f"labeling job {job.name}: S3OutputPath {job.output_path!r} is not an s3:// URI")
    bucket, path = location
    path = path.strip("/")
    return bucket, f"{path}/{job.name}/" if path else f"{job.name}/"


def _round(ports: ReportPorts, context: ChainContext | None) -> RoundRecord | None:
    """The job's round in the chain table: its spec snapshot, and its audit."""
    if context is None or ports.store is None:
        return None
    return ports.store.get_round(context.chain_id, context.round)


def _audit(record: RoundRecord | None, job_name: str) -> AuditSummary | None:
    """The round's scored audit, in the audit job's report and in the report of the round job it audited."""
    audit = record.audit if record is not None else None
    if audit is None or job_name not in (audit.name, audit.audited_job):
        return None
    return audit_summary(audit)


def build_job_summary(
    ports: ReportPorts, job: LabelingJob, overrides: PriceOverrides, now: Callable[[], str] = utc_now
) -> JobSummary:
    if job.status == "Completed":
        output_manifest_location(ports.objects, job.name, job.output_manifest_uri)
    context = job.chain_context
    bucket, prefix = _output_prefix(job)
    output = JobOutput(ports.objects, bucket, prefix, job.label_attribute)
    record = _round(ports, context)
    # The training logs are read while the output files are parsed, by the thread that fetches those files when
    # the parsing has enough of them: the log calls wait on the network, the parsing on the CPU. The first is read
    # here, so that the logs client is made on this thread, as every other client is (a client made on the other
    # thread would hold its memory apart, and boto3's default session is not made to create clients concurrently).
    curves_read = [Deferred(partial(training_curve, ports.logs, ref)) for ref in output.training_jobs]
    for first in curves_read[:1]:
        first.run()
    detail = output.parse(meanwhile=curves_read[1:])
    curves, curve_warnings = collect_curves([read.result() for read in curves_read])
    spec = record.spec if record is not None else None
    settings = settings_of(spec)
    if settings is not None and context is not None and context.role == "audit":
        settings = settings.model_copy(update={"auto_labeling": False})  # an audit never auto-labels
    return build_summary(
        job=job, detail=detail, curves=curves, curve_warnings=curve_warnings,
        resolved=resolve_pricing(job, spec, overrides), context=context, generated_at=now(),
        settings=settings, audit=_audit(record, job.name),
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

    job = ports.labeling.describe_job(job_name)
    if job is None:
        raise JobNotReportableError(f"no labeling job named {job_name}")
    context = job.chain_context
    chain: tuple[ChainContext, str] | None = None  # the chain whose report this job joins, and its bucket
    if out is None:
        if context is None or ports.reports_bucket is None:
            raise JobNotReportableError(f"labeling job {job_name} is not a gtchain round or baseline")
        chain = (context, ports.reports_bucket)
        prefix = job_report_prefix(context.chain_id, job.name)
        out = S3Sink(ports.objects, ports.reports_bucket, prefix)
    summary = build_job_summary(ports, job, overrides, now)
    # The figure first: a summary.json that exists always has its figure beside it.
    uris = {"reportUri": out.write(REPORT_FIGURE, job_figure(summary), "image/png")}
    uris["summaryUri"] = out.write(REPORT_SUMMARY, summary.to_json(), "application/json")
    if chain is not None and summary.audit is not None and context is not None and context.role == "audit":
        _report_audited_job(ports, chain[0].chain_id, chain[1], summary.audit.audited_job, overrides, now)
    if chain is not None:
        uris |= rebuild_chain_report(ports.objects, chain[1], chain[0].chain_id, now, store=ports.store)
        _announce(ports, chain[0], summary, uris)
    return ReportOutcome(summary, uris)


def _report_audited_job(
    ports: ReportPorts, chain_id: str, bucket: str, job_name: str, overrides: PriceOverrides, now: Callable[[], str]
) -> None:
    """Write the audited round job's report again: it now carries its audit (the round's report)."""
    from gtchain.rendering.figures import job_figure

    audited = ports.labeling.describe_job(job_name)
    if audited is None:
        return
    summary = build_job_summary(ports, audited, overrides, now)
    out = S3Sink(ports.objects, bucket, job_report_prefix(chain_id, audited.name))
    out.write(REPORT_FIGURE, job_figure(summary), "image/png")
    out.write(REPORT_SUMMARY, summary.to_json(), "application/json")


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


def handle_round_completed(ports: ReportPorts, job_name: str) -> Outcome:
    """The report Lambda: a job that will never be reportable is logged and dropped, not retried."""
    try:
        outcome = report_job(ports, job_name)
    except JobNotReportableError as exc:
        logger.warning("report skipped", extra={"job": job_name, "reason": str(exc)})
        return Outcome("ignored", str(exc))
    for warning in outcome.summary.warnings:
        logger.warning("report warning", extra={"job": job_name, "warning": warning})
    return Outcome("reported", job_name, outcome.uris)
