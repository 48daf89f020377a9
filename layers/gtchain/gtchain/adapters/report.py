"""The reporter's production wiring."""

from functools import cache

from gtchain.config import Settings
from gtchain.service.report.job import ReportPorts


@cache
def aws_report_ports(settings: Settings | None = None, table_name: str | None = None) -> ReportPorts:
    """With settings: the report Lambda (chain reports, events, notifications). Without: the CLI, which
    only reads the job (and, given a table, the chain's spec snapshot) and writes where it is told."""
    from gtchain.adapters.dynamo import DynamoChainStore
    from gtchain.adapters.logs import CloudWatchTrainingLogs
    from gtchain.adapters.publisher import AwsPublisher
    from gtchain.adapters.s3_streaming import S3StreamingObjectStore
    from gtchain.adapters.sagemaker import SageMakerLabeling

    table = settings.table_name if settings else table_name
    return ReportPorts(
        objects=S3StreamingObjectStore(),
        labeling=SageMakerLabeling(),
        logs=CloudWatchTrainingLogs(),
        store=DynamoChainStore(table) if table else None,
        publisher=AwsPublisher(settings.event_bus_name, settings.topic_arn) if settings else None,
        reports_bucket=settings.data_bucket if settings else None,
    )
