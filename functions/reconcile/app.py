"""Reconcile: scheduled; repairs what lost events would leave behind."""

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from aws_lambda_powertools.utilities.typing import LambdaContext

from gtchain.adapters import aws_ports
from gtchain.config import Settings
from gtchain.logic.reconcile import reconcile_all
from gtchain.observability import logger, metrics, tracer


@logger.inject_lambda_context(correlation_id_path="id")
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
@event_parser(model=EventBridgeModel)
def lambda_handler(event: EventBridgeModel, context: LambdaContext) -> dict[str, Any]:
    repairs = reconcile_all(aws_ports(Settings.from_env()))
    metrics.add_metric(name="Reconcile.OutcomesApplied", unit=MetricUnit.Count, value=len(repairs.outcomes_applied))
    metrics.add_metric(name="Reconcile.Launched", unit=MetricUnit.Count, value=len(repairs.launched))
    logger.info("reconciled", extra={"chains": repairs.chains, "applied": repairs.outcomes_applied,
                                     "launched": repairs.launched})  # fmt: skip
    return {"chains": repairs.chains, "applied": repairs.outcomes_applied, "launched": repairs.launched}
