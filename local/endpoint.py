"""`make local`: the embedded stack served on one HTTP endpoint that any AWS client can use, until Ctrl-C.

    python -m local.endpoint [--port 4566] [--host 127.0.0.1] [--speed 2400] [--seed 7] [--state-dir .gtchain]

The stack is the one `make demo` runs (local/cloud.py's LocalCloud): moto provisioned from template.yaml, the
real handlers run by the template's EventBridge rules, the reconcile schedule, the emulated Ground Truth, one
emulated clock. Here the clock runs `--speed` times faster than wall time instead of jumping, and moto's
server app (local/server.py) answers S3, SageMaker, DynamoDB, SNS, SQS, EventBridge, CloudWatch Logs (and STS,
IAM) on 127.0.0.1:4566, so an upload with the AWS CLI produces the same S3 event, reaches the same function and
starts the same chain as in the demo. When it accepts requests it prints the endpoint, region, data bucket,
table and function names, writes them to <state-dir>/local.json (keys endpoint, region, dataBucket, table,
functions; plus account, stack, speed, pid) and <state-dir>/sam-env.json (`sam local invoke --env-vars`),
prints `ready`, then one line per round and job iteration (emulated time in brackets).

Entry point for other tools (the `gtchain local` command): `main(argv, prog) -> exit code`, from the main thread.

Exit codes: 0 stopped by Ctrl-C or SIGTERM; 1 the stack could not start (e.g. template.yaml does not
translate); 2 bad arguments; 3 the address cannot be bound (the port is in use, or not allowed).
"""

import argparse
import contextlib
import errno
import ipaddress
import json
import logging
import os
import signal
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, TextIO

from local.server import Control, Gateway, listen, serve

if TYPE_CHECKING:
    from local.cloud import LocalCloud

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 4566
# Emulated seconds per wall second (40 emulated minutes a second). The seed chain (2,500 objects, 2 rounds, baseline)
# spans 18 emulated hours of the emulated Ground Truth's workers (measured; docs/local.md), 27 s of wall time here;
# what the stack computes meanwhile (chiefly the reconciler, every 10 emulated minutes) took 20 s of CPU.
DEFAULT_SPEED = 2400.0
DEFAULT_STATE_DIR = Path(".gtchain")
CONFIG_FILE = "local.json"
SAM_ENV_FILE = "sam-env.json"
# The emulator's loop: how often it wakes at most and at least, how long it may keep the lock while catching up on
# due timers, and the most wall time one step may count.
TICK_SECONDS = 0.02
BUDGET_SECONDS = 0.1
IDLE_SECONDS = 0.1
MAX_STEP_SECONDS = 1.0
# A hold left by a `local.invoke` that died is released after this long (wall time) unless it says otherwise.
DEFAULT_HOLD_SECONDS = 120.0
HOLDS = ("schedules", "clock")

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_BIND = 0, 1, 2, 3


class EndpointError(Exception):
    def __init__(self, message: str, exit_code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _client_host(host: str) -> str:
    return "127.0.0.1" if host in ("0.0.0.0", "", "::") else host  # noqa: S104 (the address clients connect to)


def _write_json(path: Path, document: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    temporary.write_text(json.dumps(document, indent=2) + "\n")
    temporary.replace(path)


class Endpoint(Control):
    """The embedded stack, a server thread for HTTP, and the loop that runs emulated time on the main thread."""

    def __init__(
        self,
        *,
        host: str = DEFAULT_HOST,
        port: int = DEFAULT_PORT,
        speed: float = DEFAULT_SPEED,
        seed: int = 7,
        state_dir: Path = DEFAULT_STATE_DIR,
        progress: bool = True,
        verbose: bool = False,
        out: TextIO | None = None,
    ) -> None:
        self.host, self.port, self.speed, self.seed = host, port, speed, seed
        self.state_dir = state_dir
        self.progress = progress
        self.verbose = verbose
        self.out = out or sys.stdout
        self.lock = threading.RLock()
        self.stopping = threading.Event()
        self.hold: str | None = None
        self._hold_until = 0.0
        self._cloud: LocalCloud | None = None
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._written: list[Path] = []

    # ---- output ------------------------------------------------------------------------------------

    def say(self, text: str) -> None:
        with self.lock, contextlib.suppress(OSError, ValueError):
            print(text, file=self.out, flush=True)

    @property
    def cloud(self) -> "LocalCloud":
        if self._cloud is None:
            raise RuntimeError("the endpoint has not started")
        return self._cloud

    @property
    def url(self) -> str:
        port = self._server.port if self._server is not None else self.port
        return f"http://{_client_host(self.host)}:{port}"

    # ---- start and stop ----------------------------------------------------------------------------

    def start(self) -> None:
        try:
            listening = listen(self.host, self.port)
        except OSError as exc:
            raise EndpointError(self._bind_failure(exc), EXIT_BIND) from None
        with listening:
            self._server = serve(listening, Gateway(self.lock, self, self.say, verbose=self.verbose),
                                 verbose=self.verbose)  # fmt: skip
        if not _is_loopback(self.host):
            self.say(f"warning: listening on {self.host}: anyone who can reach this address can use the endpoint")
        from local.cloud import LocalCloud

        observer = None
        if self.progress:
            from local.demo import Progress

            observer = Progress()
        cloud = LocalCloud(seed=self.seed, observer=observer)
        try:
            with self.lock:
                cloud.__enter__()
        except Exception as exc:
            raise EndpointError(f"the local stack could not start from template.yaml: {exc}") from None
        self._cloud = cloud
        if observer is not None:
            observer.cloud = cloud
        self._thread = threading.Thread(target=self._server.serve_forever, name="local-endpoint", daemon=True)
        self._thread.start()
        self._write_state()
        names = self.names()
        self.say(f"gtchain local endpoint: the stack from template.yaml; emulated time runs {self.speed:g}x wall time")
        self.say(f"endpoint    {names['endpoint']}")
        self.say(f"region      {names['region']}")
        self.say(f"dataBucket  {names['dataBucket']}")
        self.say(f"table       {names['table']}")
        for logical_id, name in names["functions"].items():
            self.say(f"function    {logical_id}: {name}")
        self.say(f"config      {self.state_dir / CONFIG_FILE}")
        self.say("ready")

    def _bind_failure(self, exc: OSError) -> str:
        where = f"{self.host}:{self.port}"
        if exc.errno == errno.EADDRINUSE:
            return f"cannot listen on {where}: the port is in use (another `make local`?); choose one with --port"
        if exc.errno == errno.EACCES:
            return f"cannot listen on {where}: permission denied; choose a port above 1023 with --port"
        return f"cannot listen on {where}: {exc.strerror or exc}"

    def names(self) -> dict[str, Any]:
        from local.cloud import ACCOUNT, REGION, STACK_NAME

        stack = self.cloud.stack
        return {
            "endpoint": self.url,
            "region": REGION,
            "dataBucket": self.cloud.bucket,
            "table": str(stack.output("ChainTableName")),
            "functions": {logical_id: plan.name for logical_id, plan in stack.plan.functions.items()},
            "account": ACCOUNT,
            "stack": STACK_NAME,
            "speed": self.speed,
            "pid": os.getpid(),
        }

    def _write_state(self) -> None:
        names = self.names()
        config = self.state_dir / CONFIG_FILE
        _write_json(config, names)
        # `sam local invoke --env-vars`: each function's template variables (SAM applies only those the template
        # declares), with the endpoint as a container sees the host.
        docker_endpoint = f"http://host.docker.internal:{self._server.port}"
        sam_env = {
            logical_id: {**plan.environment, "AWS_ENDPOINT_URL": docker_endpoint}
            for logical_id, plan in self.cloud.stack.plan.functions.items()
        }
        _write_json(self.state_dir / SAM_ENV_FILE, sam_env)
        self._written = [config, self.state_dir / SAM_ENV_FILE]

    def stop(self) -> None:
        if self._server is not None:
            if self._thread is not None:
                self._server.shutdown()
                self._thread.join(timeout=10)
            self._server.server_close()
        if self._cloud is not None:
            with self.lock:
                self._cloud.__exit__(None, None, None)
            self._cloud = None
        # The files describe a running endpoint: remove them, unless another endpoint has written them since.
        with contextlib.suppress(OSError, ValueError):
            config = self.state_dir / CONFIG_FILE
            if self._written and json.loads(config.read_text()).get("pid") == os.getpid():
                for path in self._written:
                    path.unlink(missing_ok=True)

    # ---- emulated time -----------------------------------------------------------------------------

    def run(self) -> None:
        """Run emulated time until `stopping` is set: deliver events, fire due timers, keep the clock at speed."""
        cloud = self.cloud
        target = cloud.clock.now()
        last = time.monotonic()
        while not self.stopping.is_set():
            now = time.monotonic()
            # A stall (a suspended laptop, a debugger) counts as at most MAX_STEP_SECONDS: no jump of emulated days.
            elapsed, last = min(now - last, MAX_STEP_SECONDS), now
            pause = TICK_SECONDS
            with self.lock:
                self._expire_hold(now)
                try:
                    if self.hold == "clock":
                        cloud.pump()
                        target = cloud.clock.now()  # held: time passes at wall speed and nothing fires
                    else:
                        target = max(target + timedelta(seconds=elapsed * self.speed), cloud.clock.now())
                        if self._catch_up(target) and (due := cloud.timers.next_due()) is not None:
                            # Caught up: sleep until the next timer is due (uploads are delivered within IDLE_SECONDS).
                            until_due = (due - target).total_seconds() / self.speed
                            pause = min(max(until_due, TICK_SECONDS), IDLE_SECONDS)
                except Exception as exc:  # a fault in the emulator must not take the endpoint down
                    self.say(f"emulator error (the endpoint keeps running): {type(exc).__name__}: {exc}")
            self.stopping.wait(pause)

    def _catch_up(self, target: Any) -> bool:
        """Fire every timer due by `target`, delivering the events each one causes; False if it ran out of time
        (the lock is let go after BUDGET_SECONDS so that requests get in; the clock stays at the last timer)."""
        cloud = self.cloud
        cloud.pump()
        started = time.monotonic()
        while (due := cloud.timers.next_due()) is not None and due <= target:
            if time.monotonic() - started > BUDGET_SECONDS:
                return False
            cloud.timers.fire_next()
            cloud.pump()
        cloud.clock.advance_to(target)
        return True

    def _expire_hold(self, now: float) -> None:
        if self.hold is not None and now >= self._hold_until:
            self.say(f"hold on {self.hold} expired")
            self._set_hold(None, 0.0)

    def _set_hold(self, hold: str | None, seconds: float) -> None:
        self.hold = hold
        self._hold_until = time.monotonic() + seconds
        self.cloud.schedules_held = hold is not None

    # ---- /_gtchain/ (local/server.py) --------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        from moto.sqs.models import sqs_backends

        from local.cloud import ACCOUNT, REGION

        with self.lock:
            cloud = self.cloud
            queues = sqs_backends[ACCOUNT][REGION].queues
            pending = sum(len(queues[route.queue_url.rsplit("/", 1)[1]].messages) for route in cloud.stack.routes)
            history = cloud.runtime.history
            return {
                **self.names(),
                "now": cloud.clock.now().isoformat(),
                "hold": self.hold,
                "pendingEvents": pending,
                "invocations": len(history),
                "failedInvocations": sum(1 for invocation in history if invocation.error),
            }

    def control(self, request: dict[str, Any]) -> dict[str, Any]:
        """Knobs for staging a sample event (local/lineup.py): lose one S3 event or one job state-change event,
        fail a job, hold the schedules (the reconciler) or the whole clock for a while."""
        known = {"dropS3Event", "dropJobEvent", "failJob", "hold", "holdSeconds"}
        if unknown := set(request) - known:
            raise ValueError(f"unknown control field(s): {', '.join(sorted(unknown))}")
        with self.lock:
            faults = self.cloud.faults
            if "dropS3Event" in request:
                faults.drop_s3_event(str(request["dropS3Event"]))
            if "dropJobEvent" in request:
                faults.drop_job_event(str(request["dropJobEvent"]))
            if "failJob" in request:
                spec = request["failJob"]
                faults.fail_job(str(spec["job"]), str(spec["reason"]), int(spec.get("afterIterations", 1)))
            if "hold" in request:
                hold = request["hold"]
                if hold is not None and hold not in HOLDS:
                    raise ValueError(f"hold must be one of {', '.join(HOLDS)} or null")
                self._set_hold(hold, float(request.get("holdSeconds", DEFAULT_HOLD_SECONDS)))
                if self.verbose:
                    self.say(f"hold: {hold or 'released'}")
            return self.status()


def _speed(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError("must be a positive number (emulated seconds per wall second)")
    return value


def _parser(prog: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Serve the embedded gtchain stack (template.yaml on moto, the real handlers, the emulated "
        "Ground Truth) on one endpoint for any AWS client, until Ctrl-C.",
    )
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0: any free)")
    parser.add_argument(
        "--host", default=DEFAULT_HOST,
        help=f"address to listen on (default {DEFAULT_HOST}: this machine only; 0.0.0.0 exposes the endpoint, "
        "without authentication, to anyone who can reach it)",
    )  # fmt: skip
    parser.add_argument(
        "--speed", type=_speed, default=DEFAULT_SPEED,
        help=f"emulated seconds per wall second (default {DEFAULT_SPEED:g}: the seed chain takes about a minute)",
    )  # fmt: skip
    parser.add_argument("--seed", type=int, default=7, help="fixes the emulated workers and learner (default 7)")
    parser.add_argument(
        "--state-dir", type=Path, default=DEFAULT_STATE_DIR,
        help=f"where {CONFIG_FILE} and {SAM_ENV_FILE} are written (default {DEFAULT_STATE_DIR}/)",
    )  # fmt: skip
    parser.add_argument("--quiet", action="store_true", help="do not print rounds and job iterations")
    parser.add_argument("--verbose", action="store_true", help="also print every request")
    return parser


def main(argv: list[str] | None = None, prog: str = "python -m local.endpoint") -> int:
    """Run the endpoint until Ctrl-C or SIGTERM; returns the exit code (see the module docstring). Call it from the
    main thread (it installs the SIGINT and SIGTERM handlers); `prog` names the command in usage messages."""
    args = _parser(prog).parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s", stream=sys.stdout)
    logging.getLogger("local").setLevel(logging.INFO)
    endpoint = Endpoint(
        host=args.host, port=args.port, speed=args.speed, seed=args.seed, state_dir=args.state_dir,
        progress=not args.quiet, verbose=args.verbose,
    )  # fmt: skip

    def stop(signum: int, frame: FrameType | None) -> None:
        endpoint.stopping.set()

    previous = {signum: signal.signal(signum, stop) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        endpoint.start()
        endpoint.run()
    except EndpointError as exc:
        print(f"local endpoint: {exc}", file=sys.stderr, flush=True)
        return exc.exit_code
    finally:
        endpoint.stop()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    endpoint.say("stopped")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
