"""Exit codes, and the one-line messages for errors a person makes (docs/cli.md lists them)."""

from enum import IntEnum
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError as AwsClientError
from botocore.exceptions import (
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
    ReadTimeoutError,
    SSOTokenLoadError,
    TokenRetrievalError,
    UnauthorizedSSOTokenError,
)

from gtchain.adapters.errors import error_code

if TYPE_CHECKING:
    from gtchain_cli.target import Target


class Exit(IntEnum):
    OK = 0
    INVALID = 1  # the input is wrong (validate, submit), or chain.json was rejected
    USAGE = 2  # a bad flag or argument, or no target chosen
    NOT_FOUND = 3  # no such chain, manifest or labeling job
    AWS_CONFIG = 4  # no credentials, no region, an unknown profile, access denied
    NO_TARGET = 5  # no such stack (or not a gtchain stack), no .gtchain/local.json, no local endpoint code
    UNREACHABLE = 6  # the local endpoint is not running, or AWS cannot be reached
    CONFLICT = 7  # chain.json kept changing under a pause/stop/resume
    TIMEOUT = 8  # status.json did not show the change in time
    HALTED = 9  # watch (or resume) ended with the chain paused or stopped
    SOFTWARE = 70  # a bug: the message says so; --debug shows the traceback
    NOT_YET = 75  # results or a report are not written yet: try again later
    INTERRUPTED = 130  # Ctrl-C


class CliError(Exception):
    """An error a person can act on: one line, and the exit code that names its kind."""

    def __init__(self, message: str, code: Exit) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


_CREDENTIALS_REJECTED = {
    "ExpiredToken", "ExpiredTokenException", "InvalidClientTokenId", "UnrecognizedClientException",
    "SignatureDoesNotMatch", "InvalidAccessKeyId", "AuthFailure", "InvalidToken", "RequestExpired",
}  # fmt: skip
_DENIED = {"AccessDenied", "AccessDeniedException", "Forbidden", "403", "AllAccessDisabled"}


def translate(exc: BaseException, target: "Target | None") -> CliError | None:
    """The one line for an AWS error a person can fix; None for anything else (a bug, shown as one)."""
    where = f" ({target.label})" if target is not None else ""
    if isinstance(exc, NoRegionError):
        return CliError("no AWS region: pass --region, set AWS_REGION, or set a region in your AWS profile "
                        "(aws configure)", Exit.AWS_CONFIG)  # fmt: skip
    if isinstance(exc, (NoCredentialsError, PartialCredentialsError)):
        return CliError("no AWS credentials: run `aws configure` (or `aws sso login --profile NAME` and pass "
                        "--profile NAME), or set AWS_PROFILE", Exit.AWS_CONFIG)  # fmt: skip
    if isinstance(exc, ProfileNotFound):
        return CliError(f"{exc}: list your profiles with `aws configure list-profiles`", Exit.AWS_CONFIG)
    if isinstance(exc, (SSOTokenLoadError, UnauthorizedSSOTokenError, TokenRetrievalError)):
        return CliError("your AWS SSO session has expired: run `aws sso login` (with --profile if you use one)",
                        Exit.AWS_CONFIG)  # fmt: skip
    if isinstance(exc, (EndpointConnectionError, ConnectTimeoutError, ConnectionClosedError, ReadTimeoutError)):
        if target is not None and target.kind == "local":
            return CliError(f"the local endpoint at {target.endpoint} is not running: start it with `make local` "
                            "(or `gtchain local`) and try again", Exit.UNREACHABLE)  # fmt: skip
        return CliError(f"cannot reach AWS{where}: {exc}; check your network and --region", Exit.UNREACHABLE)
    if isinstance(exc, AwsClientError):
        code = error_code(exc)
        operation = exc.operation_name
        if code in _CREDENTIALS_REJECTED:
            return CliError(f"AWS rejected your credentials ({code}){where}: refresh them (aws sso login, or "
                            "aws configure) and try again", Exit.AWS_CONFIG)  # fmt: skip
        if code in _DENIED:
            return CliError(f"access denied: your AWS identity may not call {operation}{where}; ask for the "
                            "permission or use another --profile", Exit.AWS_CONFIG)  # fmt: skip
        if code == "NoSuchBucket":
            bucket = target.bucket if target is not None else "the data bucket"
            return CliError(f"the data bucket {bucket} does not exist{where}: was the stack deleted?", Exit.NO_TARGET)
    return None
