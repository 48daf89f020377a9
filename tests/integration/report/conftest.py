"""The report function's tests run on the embedded stack, with the training log group in place."""

import boto3
import pytest

from gtchain.adapters.logs import TRAINING_LOG_GROUP
from tests.support import REGION, Stack


@pytest.fixture
def report_stack(stack: Stack) -> Stack:
    boto3.client("logs", region_name=REGION).create_log_group(logGroupName=TRAINING_LOG_GROUP)
    return stack
