"""`python -m gtchain.entrypoints.report --job <labeling-job-name> --out <s3-uri-or-dir>`: the per-job report
(summary.json, report.png) of any labeling job, chained or not, by the report Lambda's code path."""

import argparse
import json
import os
import sys
from decimal import Decimal, InvalidOperation
from pathlib import Path

from gtchain.adapters.report import aws_report_ports
from gtchain.domain.names import parse_s3_uri
from gtchain.domain.report.summary import PriceOverrides
from gtchain.service.job_output import OutputNotReadyError
from gtchain.service.report.job import DirSink, JobNotReportableError, ReportSink, S3Sink, report_job

EXIT_NOT_FOUND = 1
EXIT_USAGE = 2
EXIT_TRY_LATER = 75  # EX_TEMPFAIL


def _usd(text: str) -> Decimal:
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"{text!r} is not an amount in USD") from None
    if not amount.is_finite() or amount < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not an amount in USD")
    return amount


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m gtchain.entrypoints.report",
        description="Write the report (summary.json, report.png) of a SageMaker Ground Truth labeling job.",
    )
    parser.add_argument("--job", required=True, help="the labeling job's name")
    parser.add_argument("--out", required=True, help="a local directory, or s3://bucket/prefix/")
    parser.add_argument(
        "--fee", type=_usd, help="Ground Truth's fee per labeled object, USD (default: the chain's "
        "pricing.perObjectUsd, else 0.08)",
    )  # fmt: skip
    parser.add_argument(
        "--task-price", type=_usd, help="what one worker is paid per task, USD, for a workforce whose price the "
        "job does not record (vendor); ignored when the job has a PublicWorkforceTaskPrice",
    )  # fmt: skip
    parser.add_argument(
        "--table", default=os.environ.get("TABLE_NAME"), help="gtchain's chain table, to read a chain's spec "
        "snapshot (default: $TABLE_NAME; optional)",
    )  # fmt: skip
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    ports = aws_report_ports(None, args.table)
    sink: ReportSink
    if args.out.startswith("s3://"):
        location = parse_s3_uri(args.out, key_required=False)
        if location is None:
            print(f"error: --out {args.out!r} names no bucket", file=sys.stderr)
            return EXIT_USAGE
        bucket, prefix = location
        sink = S3Sink(ports.objects, bucket, prefix.strip("/") + "/" if prefix.strip("/") else "")
    else:
        sink = DirSink(Path(args.out))
    try:
        outcome = report_job(ports, args.job, out=sink, overrides=PriceOverrides(args.fee, args.task_price))
    except JobNotReportableError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_NOT_FOUND
    except OutputNotReadyError as exc:
        print(f"try again in a few minutes: {exc}", file=sys.stderr)
        return EXIT_TRY_LATER
    for warning in outcome.summary.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print(json.dumps(outcome.uris, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
