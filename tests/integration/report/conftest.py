"""The report function's tests run on the embedded stack, with the training log group in place."""

from collections.abc import Iterator

import boto3
import pytest

from gtchain.adapters.logs import TRAINING_LOG_GROUP
from gtchain.adapters.report import aws_report_ports
from tests.support import REGION, Stack


@pytest.fixture
def report_stack(stack: Stack) -> Iterator[Stack]:
    aws_report_ports.cache_clear()
    boto3.client("logs", region_name=REGION).create_log_group(logGroupName=TRAINING_LOG_GROUP)
    yield stack
    aws_report_ports.cache_clear()
