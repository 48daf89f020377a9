"""Which AWS errors are worth retrying."""

from botocore.exceptions import BotoCoreError, ClientError

_TRANSIENT_CODES = {
    "ThrottlingException", "Throttling", "ThrottledException", "TooManyRequestsException",
    "RequestLimitExceeded", "ProvisionedThroughputExceededException", "RequestThrottled",
    "SlowDown", "InternalServerError", "InternalFailure", "ServiceUnavailable", "InternalError",
    "TransactionConflictException",
}  # fmt: skip


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def is_transient(exc: Exception) -> bool:
    if isinstance(exc, ClientError):
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return error_code(exc) in _TRANSIENT_CODES or status >= 500
    return isinstance(exc, BotoCoreError)
