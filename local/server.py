"""The HTTP side of the local endpoint: moto's server app behind one gate.

`Gateway` is a WSGI app. It serves:
- the AWS APIs the local stack uses (`SERVED`), through moto's own server app, so any AWS client (the AWS CLI,
  boto3 with AWS_ENDPOINT_URL, any SDK) works with fake credentials; each request runs under the endpoint's
  lock, so requests and the emulator's loop take turns on moto's (not thread-safe) backends;
- `/_gtchain/status` and `/_gtchain/control`: the endpoint's own small JSON API, used by `python -m local.invoke`
  (see `local.invoke` and `local.lineup`);
- everything else gets one clear error in the protocol the client speaks (so the AWS CLI prints one line):
  a service the endpoint does not serve, an operation moto does not implement, moto's own admin API.
"""

import io
import json
import socket
import threading
import uuid
from collections.abc import Callable, Iterable
from functools import cache
from typing import Any
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

import botocore.session
from botocore.exceptions import UnknownServiceError
from werkzeug.serving import BaseWSGIServer, make_server

# The request signing names the endpoint serves: the stack's services, plus STS and IAM (SDKs ask STS who
# they are; the stack has IAM roles). Everything else is refused with NOT_EMULATED.
SERVED = ("s3", "sagemaker", "dynamodb", "sns", "sqs", "events", "logs", "sts", "iam")
SIGNING_ALIASES = {"eventbridge": "events"}
NOT_EMULATED = "NotImplemented"
CONTROL_PREFIX = "/_gtchain/"

StartResponse = Callable[..., Any]
Environ = dict[str, Any]
Say = Callable[[str], None]


def signing_service(environ: Environ) -> str | None:
    """The service a request is signed for (SigV4 Authorization header or presigned query), or None if unsigned."""
    credential = ""
    auth = str(environ.get("HTTP_AUTHORIZATION", ""))
    if auth.startswith("AWS4-HMAC-SHA256") and "Credential=" in auth:
        credential = auth.split("Credential=", 1)[1].split(",", 1)[0]
    else:
        query = parse_qs(str(environ.get("QUERY_STRING", "")))
        credential = query.get("X-Amz-Credential", [""])[0]
    parts = credential.strip().split("/")
    if len(parts) != 5:  # key/date/region/service/aws4_request
        return None
    service = parts[3].lower()
    return SIGNING_ALIASES.get(service, service)


def operation_name(environ: Environ) -> str:
    """The API operation a request calls, as far as it can be told without the service model."""
    target = str(environ.get("HTTP_X_AMZ_TARGET", ""))
    if target:
        return target.rsplit(".", 1)[-1]
    action = parse_qs(str(environ.get("QUERY_STRING", ""))).get("Action")
    if action:
        return action[0]
    action = parse_qs(_form_body(environ)).get("Action")
    if action:
        return action[0]
    return f"{environ.get('REQUEST_METHOD', 'GET')} {environ.get('PATH_INFO', '/')}"


def _form_body(environ: Environ) -> str:
    """A query-protocol request's form body, read and put back for whoever reads it next."""
    if "x-www-form-urlencoded" not in str(environ.get("CONTENT_TYPE", "")):
        return ""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return ""
    data = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(data)
    return data.decode("utf-8", "replace")


@cache
def _protocol(service: str) -> str | None:
    try:
        return str(botocore.session.get_session().get_service_model(service).metadata["protocol"])
    except (UnknownServiceError, KeyError):
        return None


def error_response(environ: Environ, status: int, code: str, message: str) -> tuple[str, list[tuple[str, str]], bytes]:
    """An error the client's SDK parses into (code, message): JSON for the JSON protocols, XML for the others."""
    service = signing_service(environ)
    protocol = _protocol(service) if service else None
    content_type = str(environ.get("CONTENT_TYPE", ""))
    if protocol is None:
        if environ.get("HTTP_X_AMZ_TARGET") or "json" in content_type:
            protocol = "json"
        elif "x-www-form-urlencoded" in content_type:
            protocol = "query"
        else:
            protocol = "rest-xml"
    request_id = str(uuid.uuid4())
    reason = {400: "Bad Request", 404: "Not Found", 500: "Internal Server Error", 501: "Not Implemented"}
    status_line = f"{status} {reason.get(status, 'Error')}"
    if protocol in ("json", "rest-json"):
        body = json.dumps({"__type": code, "message": message}).encode()
        headers = [
            ("Content-Type", "application/x-amz-json-1.1"),
            ("x-amzn-ErrorType", code),
            ("x-amzn-RequestId", request_id),
        ]
    else:
        body = (
            f"<ErrorResponse><Error><Type>Sender</Type><Code>{escape(code)}</Code>"
            f"<Message>{escape(message)}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>"
        ).encode()
        headers = [("Content-Type", "text/xml"), ("x-amz-request-id", request_id)]
    headers.append(("Content-Length", str(len(body))))
    return status_line, headers, body


class Control:
    """What `/_gtchain/` answers: the endpoint's status (GET status) and its knobs (POST control)."""

    def status(self) -> dict[str, Any]:
        raise NotImplementedError

    def control(self, request: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError


class Gateway:
    def __init__(self, lock: threading.RLock, control: Control, say: Say, *, verbose: bool = False) -> None:
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

        self.lock = lock
        self.control = control
        self.say = say
        self.verbose = verbose
        self.moto = DomainDispatcherApplication(create_backend_app)

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        path = str(environ.get("PATH_INFO", ""))
        if path.startswith(CONTROL_PREFIX):
            return self._control(environ, start_response, path.removeprefix(CONTROL_PREFIX))
        if path.startswith("/moto-api"):
            message = "moto's admin API is not served: the local stack lives as long as the endpoint"
            return self._refuse(environ, start_response, 404, "NotFound", message)
        service = signing_service(environ)
        if service is not None and service not in SERVED:
            hint = " (to run a function: python -m local.invoke <Function> <event.json>)" if service == "lambda" else ""
            served = ", ".join(SERVED)
            message = f"service {service} is not emulated by the gtchain local endpoint (it serves {served}){hint}"
            return self._refuse(environ, start_response, 501, NOT_EMULATED, message)
        return self._aws(environ, start_response, service)

    def _aws(self, environ: Environ, start_response: StartResponse, service: str | None) -> Iterable[bytes]:
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], None]:
            captured["status"], captured["headers"] = status, headers
            return lambda _: None

        with self.lock:
            try:
                chunks = self.moto(environ, capture)
                try:
                    body = b"".join(chunks)
                finally:
                    close = getattr(chunks, "close", None)
                    if close is not None:
                        close()
            except NotImplementedError:
                operation = operation_name(environ)
                message = f"{service or 'this service'} {operation} is not emulated by the gtchain local endpoint"
                return self._refuse(environ, start_response, 501, NOT_EMULATED, message)
            except Exception as exc:  # one line for the client and the console, not a traceback
                what = f"{service or 'a'} {operation_name(environ)}"
                first = f"{type(exc).__name__}: {exc}".splitlines()[0]
                message = f"the local endpoint failed on {what}: {first}"
                return self._refuse(environ, start_response, 500, "InternalFailure", message)
        if self.verbose:
            self.say(f"{captured['status'].split(' ', 1)[0]} {service or '-'} {operation_name(environ)}")
        start_response(captured["status"], captured["headers"])
        return [body]

    def _refuse(
        self, environ: Environ, start_response: StartResponse, status: int, code: str, message: str
    ) -> Iterable[bytes]:
        self.say(f"refused: {message}")
        status_line, headers, body = error_response(environ, status, code, message)
        start_response(status_line, headers)
        return [body]

    def _control(self, environ: Environ, start_response: StartResponse, name: str) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        status = "200 OK"
        try:
            if name == "status" and method == "GET":
                answer = self.control.status()
            elif name == "control" and method == "POST":
                length = int(environ.get("CONTENT_LENGTH") or 0)
                request = json.loads(environ["wsgi.input"].read(length) or b"{}")
                if not isinstance(request, dict):
                    raise ValueError("the control request must be a JSON object")
                answer = self.control.control(request)
            else:
                status, answer = "404 Not Found", {"error": f"no {method} {CONTROL_PREFIX}{name}"}
        except (ValueError, KeyError, TypeError) as exc:
            status, answer = "400 Bad Request", {"error": f"{type(exc).__name__}: {exc}"}
        body = json.dumps(answer).encode()
        start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]


def listen(host: str, port: int) -> socket.socket:
    """The listening socket (OSError if the port is taken). Bound here, not by werkzeug, which prints its own
    message and exits when the port is in use; and before anything slow is imported, so that fails at once."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listening = socket.socket(family, socket.SOCK_STREAM)
    try:
        listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as werkzeug does: TIME_WAIT is no obstacle
        listening.bind((host, port))
        listening.listen(128)
    except OSError:
        listening.close()
        raise
    return listening


def serve(listening: socket.socket, app: Gateway, *, verbose: bool = False) -> BaseWSGIServer:
    """A threaded server for `app` on `listening` (werkzeug serves a duplicate of its descriptor: close it after)."""
    from moto.moto_server.werkzeug_app import MotoRequestHandler

    class Handler(MotoRequestHandler):
        def log(self, type: str, message: str, *args: Any) -> None:
            if verbose:
                super().log(type, message, *args)

    host, port = listening.getsockname()[:2]
    return make_server(host, port, app, threaded=True, request_handler=Handler, fd=listening.fileno())
