"""One function, one event, no Docker: run a function of template.yaml in this process, as Lambda would, against the
running local endpoint (`make local`), and print the handler's result.

    python -m local.invoke <FunctionLogicalId> <event.json> [--config .gtchain/local.json] [--as-is]
    make invoke FUNCTION=StartFunction EVENT=events/s3-object-created-manifest.json

The function runs with its template environment (the local stack's names), fake credentials and AWS_ENDPOINT_URL
set to the endpoint, a Lambda-like context, and the endpoint's emulated time (held while it runs, so the function
and the stack agree on "now"). Its logs go to stderr, framed by START/END/REPORT lines as Lambda writes them,
and to CloudWatch Logs on the endpoint (/aws/lambda/<function-name>); its result goes to stdout as JSON.
Sample events from events/ are first lined up with the local stack (local/lineup.py: the local bucket, the local
job, staged objects); --as-is delivers the event exactly as written.

Entry point for other tools (the `gtchain invoke` command): `invoke(function_logical_id, event_path, config)`
returns the handler's result. `config` is the endpoint's local.json, parsed (`load_config()` reads it). It raises
`InvokeError` with a one-line message and an `exit_code`; `FunctionError` (exit code 1) when the handler raised,
with Lambda's error document in `.payload`. `main(argv, prog) -> exit code` is the whole command line.

Exit codes: 0 the handler returned; 1 the handler raised (Lambda's error JSON on stdout); 2 bad arguments;
3 unknown function, or the event file is not a JSON object; 4 the endpoint is not running; 5 the sample could not
be lined up (a staging wait ran out).
"""

import argparse
import contextlib
import importlib
import io
import json
import os
import resource
import sys
import time
import traceback
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import time_machine
from botocore.exceptions import BotoCoreError, ClientError

from local.lambdas import captured_output, function_environment
from local.lineup import EndpointUnavailableError, Local, StagingError, line_up

if TYPE_CHECKING:
    from local.template import FunctionPlan

ROOT = Path(__file__).resolve().parent.parent

DEFAULT_CONFIG = Path(".gtchain") / "local.json"
EXIT_OK, EXIT_FUNCTION, EXIT_USAGE, EXIT_INPUT, EXIT_NO_ENDPOINT, EXIT_STAGING = 0, 1, 2, 3, 4, 5
_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing"}


@dataclass
class LambdaContext:
    """What Lambda passes as `context` (the attributes Powertools reads), as in local/lambdas.py."""

    function_name: str
    memory_limit_in_mb: int
    invoked_function_arn: str
    aws_request_id: str
    log_group_name: str
    log_stream_name: str
    deadline: float  # time.monotonic() when the function times out
    function_version: str = "$LATEST"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - time.monotonic()) * 1000))


class InvokeError(Exception):
    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class FunctionError(InvokeError):
    """The handler raised: `payload` is what Lambda returns for it (errorMessage, errorType, stackTrace)."""

    def __init__(self, message: str, payload: dict[str, Any]) -> None:
        super().__init__(message, EXIT_FUNCTION)
        self.payload = payload


def load_config(path: Path = DEFAULT_CONFIG) -> dict[str, Any]:
    """The running endpoint's local.json."""
    try:
        config: dict[str, Any] = json.loads(path.read_text())
    except FileNotFoundError:
        raise InvokeError(f"no {path}: the local endpoint is not running (start it with `make local`)",
                          EXIT_NO_ENDPOINT) from None  # fmt: skip
    except (OSError, ValueError) as exc:
        raise InvokeError(f"cannot read {path}: {exc}", EXIT_NO_ENDPOINT) from None
    return config


def _plan(function_logical_id: str, config: dict[str, Any]) -> tuple["FunctionPlan", str | None]:
    """The function as template.yaml defines it for the endpoint's stack, and the ARN of its schedule rule that
    sends Scheduled Events, if any."""
    from local.template import Template, TemplateError

    try:
        template = Template(ROOT / "template.yaml", stack_name=str(config.get("stack", "gtchain-local")),
                            account=str(config["account"]), region=str(config["region"]))  # fmt: skip
        plan = template.plan()
    except (TemplateError, KeyError) as exc:
        raise InvokeError(f"cannot read the local stack from template.yaml: {exc}", EXIT_INPUT) from None
    function = plan.functions.get(function_logical_id)
    if function is None:
        known = ", ".join(sorted(plan.functions))
        raise InvokeError(f"template.yaml has no function {function_logical_id} (it has {known})", EXIT_INPUT)
    if plan.outputs.get("DataBucketName") != config.get("dataBucket"):
        raise InvokeError(f"the endpoint at {config.get('endpoint')} serves another stack than template.yaml "
                          f"(data bucket {config.get('dataBucket')}); restart `make local`", EXIT_INPUT)  # fmt: skip
    schedule = next((rule.arn for rule in function.rules if rule.schedule and rule.input is None), None)
    return function, schedule


def _event(path: Path) -> dict[str, Any]:
    try:
        event = json.loads(path.read_text())
    except OSError as exc:
        raise InvokeError(f"cannot read the event {path}: {exc.strerror or exc}", EXIT_INPUT) from None
    except ValueError as exc:
        raise InvokeError(f"the event {path} is not JSON: {exc}", EXIT_INPUT) from None
    if not isinstance(event, dict):
        raise InvokeError(f"the event {path} is not a JSON object", EXIT_INPUT)
    return event


def invoke(
    function_logical_id: str,
    event_path: Path,
    config: dict[str, Any],
    *,
    as_is: bool = False,
    log: TextIO | None = None,
) -> Any:
    """Run `function_logical_id` (a function of template.yaml) with the event in `event_path`, in this process, as
    Lambda would, against the endpoint that `config` (its local.json) describes; return the handler's result.

    Unless `as_is`, the event is first lined up with the local stack (see local/lineup.py). What the function logs,
    and what lining up did, go to `log` (default stderr). Raises InvokeError (FunctionError if the handler raised).
    """
    log = log or sys.stderr
    function, schedule_arn = _plan(function_logical_id, config)
    event = _event(Path(event_path))
    local = Local(config)
    try:
        local.status()
        if not as_is:
            lined_up = line_up(local, event, Path(event_path).name, schedule_arn)
            for note in lined_up.notes:
                print(f"invoke: {note}", file=log, flush=True)
            event = lined_up.event
        return _run(function, event, local, log)
    except EndpointUnavailableError as exc:
        raise InvokeError(f"{exc}: start it with `make local`", EXIT_NO_ENDPOINT) from None
    except StagingError as exc:
        raise InvokeError(f"cannot line {Path(event_path).name} up with the local stack: {exc}", EXIT_STAGING) from None
    except (ClientError, BotoCoreError) as exc:
        raise InvokeError(f"the local endpoint refused a call while lining the event up: {exc}", EXIT_STAGING) from None
    finally:
        with contextlib.suppress(EndpointUnavailableError, StagingError):
            local.control(hold=None)


def _run(function: "FunctionPlan", event: dict[str, Any], local: Local, log: TextIO) -> Any:
    request_id = str(uuid.uuid4())
    # The endpoint's clock stands still (ticks at wall speed) while the function runs: both agree on "now".
    local.control(hold="clock", holdSeconds=function.timeout + 60)
    now = local.now()
    log_stream = f"{now:%Y/%m/%d}/[$LATEST]{request_id.replace('-', '')}"
    context = LambdaContext(
        function_name=function.name,
        memory_limit_in_mb=function.memory,
        invoked_function_arn=function.arn,
        aws_request_id=request_id,
        log_group_name=f"/aws/lambda/{function.name}",
        log_stream_name=log_stream,
        deadline=time.monotonic() + function.timeout,
    )
    environment = {
        **function.environment,
        **_CREDENTIALS,
        "AWS_ENDPOINT_URL": local.endpoint,
        "AWS_REGION": local.region,
        "AWS_DEFAULT_REGION": local.region,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_LAMBDA_FUNCTION_NAME": function.name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_GROUP_NAME": context.log_group_name,
        "AWS_LAMBDA_LOG_STREAM_NAME": log_stream,
        "POWERTOOLS_TRACE_DISABLED": "1",
    }
    # Nothing from the caller's AWS setup may point the function elsewhere.
    unset = [n for n in os.environ if n.startswith("AWS_ENDPOINT_URL_") or n in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE")]
    captured = io.StringIO()
    error: BaseException | None = None
    result: Any = None
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    with function_environment(environment, unset), time_machine.travel(now, tick=True):
        with captured_output(_Tee(log, captured)):
            _forget_clients()
            print(f"START RequestId: {request_id} Version: $LATEST")
            started = time.perf_counter()
            try:
                handler = getattr(importlib.import_module(function.module), function.handler)
                result = handler(event, context)
                json.dumps(result)  # Lambda returns JSON: a result it cannot serialize is an error
            except Exception as exc:
                error = exc
                print(traceback.format_exc().rstrip())
            finally:
                elapsed = (time.perf_counter() - started) * 1000
                memory = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
                print(f"END RequestId: {request_id}")
                report = (f"Duration: {elapsed:.2f} ms", f"Billed Duration: {int(elapsed) + 1} ms",
                          f"Memory Size: {function.memory} MB", f"Max Memory Used: {memory} MB")  # fmt: skip
                print("\t".join((f"REPORT RequestId: {request_id}", *report)))
                _forget_clients()
        _put_logs(local, context, captured.getvalue(), log)
    if error is not None:
        payload = {
            "errorMessage": str(error),
            "errorType": type(error).__name__,
            "requestId": request_id,
            "stackTrace": traceback.format_exception(error)[1:],
        }
        first = str(error).splitlines()[0] if str(error) else ""
        raise FunctionError(f"{function.logical_id} raised {type(error).__name__}: {first}", payload)
    return result


def _put_logs(local: Local, context: LambdaContext, text: str, log: TextIO) -> None:
    """What the function printed, into CloudWatch Logs on the endpoint, as Lambda would write it."""
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        return
    logs = local._client("logs")
    with contextlib.suppress(ClientError):
        logs.create_log_group(logGroupName=context.log_group_name)
    try:
        logs.create_log_stream(logGroupName=context.log_group_name, logStreamName=context.log_stream_name)
        moment = int(time.time() * 1000)  # the endpoint's emulated now (the caller travels to it)
        logs.put_log_events(logGroupName=context.log_group_name, logStreamName=context.log_stream_name,
                            logEvents=[{"timestamp": moment, "message": line} for line in lines])  # fmt: skip
    except (ClientError, BotoCoreError) as exc:
        print(f"invoke: the function's logs could not be written to CloudWatch Logs: {exc}", file=log)


def _forget_clients() -> None:
    """gtchain caches its boto3 clients per container: a run must build them in this environment."""
    from gtchain import adapters

    forget = getattr(adapters, "forget_clients", None)
    if forget is not None:
        forget()


class _Tee(io.TextIOBase):
    def __init__(self, *streams: TextIO) -> None:
        self.streams = streams

    def write(self, text: str) -> int:
        for stream in self.streams:
            stream.write(text)
        return len(text)

    def flush(self) -> None:
        for stream in self.streams:
            stream.flush()


def main(argv: list[str] | None = None, prog: str = "python -m local.invoke") -> int:
    """`python -m local.invoke`: print the handler's result; returns the exit code (see the module docstring).
    `prog` names the command in usage messages."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Run one function of template.yaml with one event, in this process, against `make local`.",
    )
    parser.add_argument("function", help="the function's logical id in template.yaml, e.g. StartFunction")
    parser.add_argument("event", type=Path, help="a JSON event, e.g. events/s3-object-created-manifest.json")
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG,
                        help=f"the endpoint's config (default {DEFAULT_CONFIG}, written by `make local`)")  # fmt: skip
    parser.add_argument("--as-is", action="store_true", help="deliver the event as written: no lining up")
    args = parser.parse_args(argv)
    try:
        result = invoke(args.function, args.event, load_config(args.config), as_is=args.as_is)
    except FunctionError as exc:
        print(json.dumps(exc.payload), flush=True)
        print(f"invoke: {exc}", file=sys.stderr, flush=True)
        return exc.exit_code
    except InvokeError as exc:
        print(f"invoke: {exc}", file=sys.stderr, flush=True)
        return exc.exit_code
    print(json.dumps(result), flush=True)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
