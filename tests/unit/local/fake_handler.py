"""A handler for the runtime tests: fails while FAIL is set in its environment, else echoes what it saw."""

import os
from typing import Any

SEEN: list[dict[str, str | None]] = []


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    SEEN.append({"TABLE_NAME": os.environ.get("TABLE_NAME"), "trace": os.environ.get("POWERTOOLS_TRACE_DISABLED")})
    print(f"handling {event['id']}")
    if os.environ.get("FAIL"):
        raise RuntimeError("the table is throttling")
    return {"request": context.aws_request_id}
