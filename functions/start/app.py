"""Start: S3 Object Created for chains/*/chain.json or chains/*/inbox/*.manifest (via EventBridge)."""

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.parser.models import S3EventNotificationEventBridgeModel
from aws_lambda_powertools.utilities.typing import LambdaContext

from gtchain.adapters import aws_ports
from gtchain.config import Settings
from gtchain.observability import logger, metrics, tracer
from gtchain.service.start import handle_object_created


@logger.inject_lambda_context(correlation_id_path="id")
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
@event_parser(model=S3EventNotificationEventBridgeModel)
def lambda_handler(event: S3EventNotificationEventBridgeModel, context: LambdaContext) -> dict[str, Any]:
    detail = event.detail
    outcome = handle_object_created(
        aws_ports(Settings.from_env()), detail.bucket.name, detail.object.key, detail.object.version_id
    )
    logger.info("start done", extra={"action": outcome.action, "detail": outcome.detail})
    metrics.add_metric(name=f"Start.{outcome.action}", unit=MetricUnit.Count, value=1)
    return outcome.as_result()
