"""`gtchain report --job` (the report function's own code path, for any labeling job) and `gtchain invoke` on a
deployed stack (the Lambda API). Imported only by those commands: the report pulls in matplotlib when it draws."""

import base64
import json
from pathlib import Path
from typing import Any

import boto3
from rich.console import Console
from rich.text import Text

from gtchain.adapters.dynamo import DynamoChainStore
from gtchain.adapters.logs import CloudWatchTrainingLogs
from gtchain.adapters.s3_streaming import S3StreamingObjectStore
from gtchain.adapters.sagemaker import SageMakerLabeling
from gtchain.domain.names import parse_s3_uri
from gtchain.domain.report.summary import PriceOverrides
from gtchain.service.job_output import OutputNotReadyError
from gtchain.service.report.job import (
    DirSink,
    JobNotReportableError,
    ReportOutcome,
    ReportPorts,
    ReportSink,
    S3Sink,
    report_job,
)
from gtchain_cli.errors import CliError, Exit
from gtchain_cli.target import AWS_CONFIG, Target


def build_job_report(session: boto3.Session, target: Target | None, job: str, out: str, overrides: PriceOverrides,
                     table: str | None) -> ReportOutcome:  # fmt: skip
    endpoint = target.endpoint if target else None
    region = target.region if target else session.region_name

    def client(service: str) -> Any:
        return session.client(service, region_name=region, endpoint_url=endpoint, config=AWS_CONFIG)  # type: ignore[call-overload]

    dynamodb = session.resource("dynamodb", region_name=region, endpoint_url=endpoint, config=AWS_CONFIG)
    objects = S3StreamingObjectStore(client("s3"))
    ports = ReportPorts(
        objects=objects,
        labeling=SageMakerLabeling(client("sagemaker")),
        logs=CloudWatchTrainingLogs(client("logs")),
        store=DynamoChainStore(table, dynamodb.Table(table)) if table else None,
    )
    sink: ReportSink
    if out.startswith("s3://"):
        location = parse_s3_uri(out, key_required=False)
        if location is None:
            raise CliError(f"--out {out!r} names no bucket", Exit.USAGE)
        bucket, prefix = location
        sink = S3Sink(objects, bucket, prefix.strip("/") + "/" if prefix.strip("/") else "")
    else:
        sink = DirSink(Path(out))
    try:
        return report_job(ports, job, out=sink, overrides=overrides)
    except JobNotReportableError as exc:
        raise CliError(
            f"{exc}: check the name (aws sagemaker list-labeling-jobs) and the region", Exit.NOT_FOUND
        ) from None
    except OutputNotReadyError as exc:
        raise CliError(f"try again in a few minutes: {exc}", Exit.NOT_YET) from None


def invoke_deployed(target: Target, function: str, event: Path, err: Console) -> Any:
    """Invoke the stack's function synchronously with the event; print its log tail; return its result."""
    name = target.functions.get(function)
    if name is None:
        known = ", ".join(sorted(target.functions)) or "none"
        raise CliError(f"{target.label} has no function {function} (its functions: {known})", Exit.USAGE)
    try:
        payload = json.loads(event.read_text())
    except ValueError as exc:
        raise CliError(f"{event} is not JSON: {exc}", Exit.USAGE) from None
    response = target.client("lambda").invoke(FunctionName=name, Payload=json.dumps(payload).encode(),
                                               LogType="Tail")  # fmt: skip
    if log := response.get("LogResult"):
        err.print(Text(base64.b64decode(log).decode("utf-8", "replace"), style="dim"))
    body = response["Payload"].read()
    result = json.loads(body) if body else None
    if response.get("FunctionError"):
        message = result.get("errorMessage") if isinstance(result, dict) else result
        raise CliError(f"{function} failed: {message}", Exit.INVALID)
    return result
