"""Count the AWS calls an invocation makes: every botocore client's API calls, by service and operation.
Counts are deterministic (unlike times), so tests assert budgets on them and `make bench` reports them."""

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

from botocore.client import BaseClient


class Calls(Counter[str]):
    """Calls made inside `counting()`, keyed "service.Operation" (e.g. "dynamodb.Query")."""

    @property
    def total(self) -> int:
        return sum(self.values())

    def __str__(self) -> str:
        return f"{self.total} calls: " + ", ".join(f"{name} {count}" for name, count in sorted(self.items()))


@contextmanager
def counting() -> Iterator[Calls]:
    calls = Calls()
    original = BaseClient._make_api_call

    def counted(client: BaseClient, operation: str, params: Any) -> Any:
        calls[f"{client.meta.service_model.service_name}.{operation}"] += 1
        return original(client, operation, params)

    with mock.patch.object(BaseClient, "_make_api_call", counted):
        yield calls
