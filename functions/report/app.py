"""Report: Round Completed (source gtchain) -> the job's report, then the chain's, then Report Ready."""

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from gtchain.adapters.report import aws_report_ports
from gtchain.config import Settings
from gtchain.domain.events import RoundCompletedEvent
from gtchain.observability import logger, metrics, tracer
from gtchain.service.report.job import handle_round_completed


@logger.inject_lambda_context(correlation_id_path="id")
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
@event_parser(model=RoundCompletedEvent)
def lambda_handler(event: RoundCompletedEvent, context: LambdaContext) -> dict[str, Any]:
    outcome = handle_round_completed(aws_report_ports(Settings.from_env()), event.detail.job_name)
    logger.info("report done", extra={"job": event.detail.job_name, **outcome.as_result()})
    metrics.add_metric(name=f"Report.{outcome.action}", unit=MetricUnit.Count, value=1)
    return outcome.as_result()
