"""Reconcile: scheduled; repairs what lost events would leave behind."""

from dataclasses import asdict
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from aws_lambda_powertools.utilities.typing import LambdaContext

from gtchain.adapters import aws_ports
from gtchain.config import Settings
from gtchain.observability import logger, metrics, tracer
from gtchain.service.reconcile import reconcile_all


@logger.inject_lambda_context(correlation_id_path="id")
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
@event_parser(model=EventBridgeModel)
def lambda_handler(event: EventBridgeModel, context: LambdaContext) -> dict[str, Any]:
    summary = asdict(reconcile_all(aws_ports(Settings.from_env())))
    for name, repaired in summary.items():
        if isinstance(repaired, list):  # one metric per kind of repair, e.g. Reconcile.outcomes_applied
            metrics.add_metric(name=f"Reconcile.{name}", unit=MetricUnit.Count, value=len(repaired))
    logger.info("reconciled", extra=summary)
    return summary
