"""Shared fixtures: a fresh embedded AWS per test, with the handlers' environment as template.yaml sets it."""

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest
from moto import mock_aws

from gtchain.adapters import forget_clients
from local import moto_labeling
from tests import groundtruth
from tests.support import REGION, ROOT, Stack, create_stack


@pytest.fixture(autouse=True)
def _aws_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION, "POWERTOOLS_TRACE_DISABLED": "1",
        "POWERTOOLS_METRICS_NAMESPACE": "gtchain", "POWERTOOLS_SERVICE_NAME": "gtchain",
    }.items():  # fmt: skip
        monkeypatch.setenv(name, value)


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    """A fresh embedded AWS per test, with the handlers' environment set as template.yaml sets it."""
    moto_labeling.install()
    with mock_aws():
        forget_clients()
        created = create_stack()
        groundtruth.use(created)
        for name, value in created.settings.model_dump(by_alias=True).items():
            monkeypatch.setenv(name, str(value))
        yield created
    forget_clients()


@pytest.fixture
def spec_document() -> dict[str, Any]:
    return copy.deepcopy(json.loads((ROOT / "tests" / "data" / "chain.json").read_text()))
