"""The stack's functions, run in-process the way Lambda runs them for EventBridge.

Each invocation imports the handler module the template names (functions.<name>.app), runs it with the
function's template environment (and Powertools tracing off: there is no X-Ray daemon), and captures what
it logs into CloudWatch Logs under /aws/lambda/<function-name>, as Lambda does. EventBridge invokes
asynchronously: an error is retried after one and then two more emulated minutes (MaximumRetryAttempts
from EventInvokeConfig), then the event goes to the on-failure destination in Lambda's record format.
"""

import contextlib
import importlib
import io
import json
import logging
import os
import sys
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, TextIO

import boto3
from moto.logs.models import logs_backends

from local.clock import Clock, Timers
from local.template import FunctionPlan

RETRY_DELAYS = (timedelta(minutes=1), timedelta(minutes=2))


@dataclass
class LambdaContext:
    function_name: str
    memory_limit_in_mb: int
    invoked_function_arn: str
    aws_request_id: str
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = ""
    deadline_ms: int = 0

    def get_remaining_time_in_millis(self) -> int:
        return self.deadline_ms


@dataclass
class Invocation:
    function: str  # logical id
    request_id: str
    attempt: int
    event: dict[str, Any]
    error: str | None = None
    result: Any = None


@dataclass
class Runtime:
    functions: dict[str, FunctionPlan]
    clock: Clock
    timers: Timers
    session: boto3.Session
    account: str
    region: str
    new_id: Callable[[], str]
    history: list[Invocation] = field(default_factory=list)
    # The invocation whose handler is running (None between invocations): AWS call faults apply to it alone.
    current: Invocation | None = None

    def invoke_async(self, logical_id: str, event: dict[str, Any], attempt: int = 1) -> Invocation:
        """Run the function now; on error, schedule Lambda's retries, then the on-failure destination."""
        plan = self.functions[logical_id]
        invocation = Invocation(logical_id, self.new_id(), attempt, event)
        self.history.append(invocation)
        try:
            with self._running(invocation):
                invocation.result = self._run(plan, event, invocation.request_id)
        except Exception as exc:
            invocation.error = f"{type(exc).__name__}: {exc}"
            if attempt <= min(plan.maximum_retry_attempts, len(RETRY_DELAYS)):

                def retry() -> None:
                    self.invoke_async(logical_id, event, attempt + 1)

                self.timers.after(RETRY_DELAYS[attempt - 1], f"{plan.logical_id}: retry {attempt}", retry)
            else:
                self._on_failure(plan, invocation, exc)
        return invocation

    @contextlib.contextmanager
    def _running(self, invocation: Invocation) -> Iterator[None]:
        outer, self.current = self.current, invocation
        try:
            yield
        finally:
            self.current = outer

    def _on_failure(self, plan: FunctionPlan, invocation: Invocation, exc: Exception) -> None:
        if plan.on_failure is None:
            return
        record = {
            "version": "1.0",
            "timestamp": self.clock.now().isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "requestContext": {
                "requestId": invocation.request_id,
                "functionArn": f"{plan.arn}:$LATEST",
                "condition": "RetriesExhausted",
                "approximateInvokeCount": invocation.attempt,
            },
            "requestPayload": invocation.event,
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
            "responsePayload": {
                "errorMessage": str(exc),
                "errorType": type(exc).__name__,
                "stackTrace": traceback.format_exception(exc)[-3:],
            },
        }
        queue_name = plan.on_failure.rsplit(":", 1)[1]
        sqs = self.session.client("sqs", region_name=self.region)
        sqs.send_message(QueueUrl=sqs.get_queue_url(QueueName=queue_name)["QueueUrl"], MessageBody=json.dumps(record))

    def _run(self, plan: FunctionPlan, event: dict[str, Any], request_id: str) -> Any:
        handler = getattr(importlib.import_module(plan.module), plan.handler)
        log_stream = f"{self.clock.now():%Y/%m/%d}/[$LATEST]{request_id.replace('-', '')}"
        context = LambdaContext(
            function_name=plan.name,
            memory_limit_in_mb=plan.memory,
            invoked_function_arn=plan.arn,
            aws_request_id=request_id,
            log_group_name=f"/aws/lambda/{plan.name}",
            log_stream_name=log_stream,
            deadline_ms=plan.timeout * 1000,
        )
        environment = {
            **plan.environment,
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_LAMBDA_FUNCTION_NAME": plan.name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(plan.memory),
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_LOG_GROUP_NAME": context.log_group_name,
            "AWS_LAMBDA_LOG_STREAM_NAME": log_stream,
            "POWERTOOLS_TRACE_DISABLED": "1",
        }
        captured = io.StringIO()
        try:
            with function_environment(environment), captured_output(captured):
                print(f"START RequestId: {request_id} Version: $LATEST")
                try:
                    return handler(event, context)
                except Exception:
                    print(traceback.format_exc())
                    raise
                finally:
                    print(f"END RequestId: {request_id}")
        finally:
            self._write_logs(context.log_group_name, log_stream, captured.getvalue())

    def _write_logs(self, group: str, stream: str, text: str) -> None:
        backend = logs_backends[self.account][self.region]
        if group not in backend.groups:
            backend.create_log_group(group, {})
        log_group = backend.groups[group]
        if stream not in log_group.streams:
            log_group.create_log_stream(stream)
        moment = int(self.clock.now().timestamp() * 1000)
        lines = [line for line in text.splitlines() if line.strip()]
        log_group.put_log_events(stream, [{"timestamp": moment, "message": line} for line in lines])


@contextlib.contextmanager
def function_environment(values: dict[str, str], unset: Sequence[str] = ()) -> Iterator[None]:
    """The function's environment variables (and none of `unset`) while it runs; the caller's again after."""
    saved = {name: os.environ.get(name) for name in [*values, *unset]}
    for name in unset:
        os.environ.pop(name, None)
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextlib.contextmanager
def captured_output(stream: TextIO | io.TextIOBase) -> Iterator[None]:
    """stdout, stderr and every console handler of a logger go to `stream` (Lambda's log stream). Powertools'
    Logger keeps the stdout it found at import, which under pytest may be an earlier test's capture, no longer
    sys.stdout: so every plain StreamHandler is swapped (not its subclasses: files, pytest's log capture)."""
    swapped: list[tuple[logging.StreamHandler[Any], Any]] = []
    loggers = [logging.getLogger()]
    loggers += [logger for logger in logging.Logger.manager.loggerDict.values() if isinstance(logger, logging.Logger)]
    for logger in loggers:
        for handler in logger.handlers:
            if type(handler) is logging.StreamHandler and handler.stream is not stream:
                swapped.append((handler, handler.setStream(stream)))
    try:
        with contextlib.redirect_stdout(stream), contextlib.redirect_stderr(stream):
            yield
    finally:
        for handler, previous in swapped:
            handler.setStream(previous)
        # A logger the function created while it ran (at import) found `stream` as its console: give it the real one.
        everyone: list[Any] = [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]
        for logger in everyone:
            for handler in getattr(logger, "handlers", []):
                if isinstance(handler, logging.StreamHandler) and handler.stream is stream:
                    handler.setStream(sys.stdout)
