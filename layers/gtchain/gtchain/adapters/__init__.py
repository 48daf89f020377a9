"""Adapters: the only modules that talk to AWS (boto3)."""

from functools import cache

from gtchain.config import Settings
from gtchain.service.ports import Ports


@cache
def aws_ports(settings: Settings) -> Ports:
    """The production wiring, built once per container and settings."""
    from gtchain.adapters.dynamo import DynamoChainStore
    from gtchain.adapters.publisher import AwsPublisher
    from gtchain.adapters.s3 import S3ObjectStore
    from gtchain.adapters.sagemaker import SageMakerLabeling

    return Ports(
        settings=settings,
        store=DynamoChainStore(settings.table_name),
        objects=S3ObjectStore(),
        labeling=SageMakerLabeling(),
        publisher=AwsPublisher(settings.event_bus_name, settings.topic_arn),
    )


def forget_clients() -> None:
    """Drop every cached client and wiring: tests and the emulator switch endpoints and credentials."""
    from gtchain.adapters import clients
    from gtchain.adapters.report import aws_report_ports

    clients.reset()
    aws_ports.cache_clear()
    aws_report_ports.cache_clear()
