"""Report: Round Completed -> the job's report, then the chain's, then Report Ready; Manifest Completed -> the
manifest's exports (chain.json `exports`), then Export Ready. Both from source gtchain."""

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from gtchain.adapters.report import aws_report_ports
from gtchain.config import Settings
from gtchain.domain.events import ManifestCompletedEvent, ReportTrigger, RoundCompletedEvent
from gtchain.observability import logger, metrics, tracer
from gtchain.service.exports import handle_manifest_completed
from gtchain.service.report.job import handle_round_completed


@logger.inject_lambda_context(correlation_id_path="id")
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
@event_parser(model=ReportTrigger)
def lambda_handler(event: RoundCompletedEvent | ManifestCompletedEvent, context: LambdaContext) -> dict[str, Any]:
    ports = aws_report_ports(Settings.from_env())
    if isinstance(event, RoundCompletedEvent):
        outcome = handle_round_completed(ports, event.detail.job_name)
        name = "Report"
    else:
        outcome = handle_manifest_completed(ports, event.detail)
        name = "Export"
    logger.info(f"{name.lower()} done", extra=outcome.as_result())
    metrics.add_metric(name=f"{name}.{outcome.action}", unit=MetricUnit.Count, value=1)
    return outcome.as_result()
