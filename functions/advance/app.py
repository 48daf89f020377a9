"""Advance: SageMaker Ground Truth Labeling Job State Change (the job is named only by resources[0])."""

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from gtchain.adapters import aws_ports
from gtchain.config import Settings
from gtchain.domain.events import LabelingJobStateChangeEvent
from gtchain.observability import logger, metrics, tracer
from gtchain.service.advance import handle_job_state_change


@logger.inject_lambda_context(correlation_id_path="id")
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
@event_parser(model=LabelingJobStateChangeEvent)
def lambda_handler(event: LabelingJobStateChangeEvent, context: LambdaContext) -> dict[str, Any]:
    outcome = handle_job_state_change(aws_ports(Settings.from_env()), event.resources[0])
    logger.info("advance done", extra={"action": outcome.action, "detail": outcome.detail,
                                       "reported_status": event.detail.labeling_job_status})  # fmt: skip
    metrics.add_metric(name=f"Advance.{outcome.action}", unit=MetricUnit.Count, value=1)
    return outcome.as_result()
