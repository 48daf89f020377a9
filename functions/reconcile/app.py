"""Reconcile: scheduled; repairs what lost events would leave behind. The tick's schedule sends a Scheduled Event;
the sweep's sends its constant input (template.yaml)."""

from dataclasses import asdict
from typing import Any, Literal

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict

from gtchain.adapters import aws_ports
from gtchain.config import Settings
from gtchain.observability import logger, metrics, tracer
from gtchain.service.reconcile import reconcile_all, sweep


class SweepEvent(BaseModel):
    """The Input of the function's Sweep schedule, which EventBridge sends in place of a Scheduled Event."""

    model_config = ConfigDict(extra="forbid")
    reconcile: Literal["sweep"]


@logger.inject_lambda_context(correlation_id_path="id")
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
@event_parser(model=EventBridgeModel | SweepEvent)
def lambda_handler(event: EventBridgeModel | SweepEvent, context: LambdaContext) -> dict[str, Any]:
    ports = aws_ports(Settings.from_env())
    sweeping = isinstance(event, SweepEvent)
    run = "Sweep" if sweeping else "Reconcile"
    summary = asdict(sweep(ports) if sweeping else reconcile_all(ports))
    for name, repaired in summary.items():
        if isinstance(repaired, list):  # one metric per kind of repair, e.g. Reconcile.outcomes_applied
            metrics.add_metric(name=f"{run}.{name}", unit=MetricUnit.Count, value=len(repaired))
    logger.info("swept" if sweeping else "reconciled", extra=summary)
    return summary
