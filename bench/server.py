"""moto as a server in its own process, so a measured client's peak RSS does not include moto's storage.

`python -m bench.server <module:function> [args...]` starts moto on 127.0.0.1 (with local.moto_labeling's
labeling jobs), points this process's boto3 at it, runs the setup function (which may also move labeling
jobs along with moto_labeling.update_job, as only the server's process can), prints one JSON line
{"endpoint": ..., "info": <what setup returned>} and serves until its stdin closes.
"""

import importlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from bench.proc import PYTHON, ROOT, WORK

REGION = "us-east-1"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing"}


@dataclass(frozen=True)
class Server:
    endpoint: str
    info: dict[str, Any]

    def client_environment(self, **extra: str) -> dict[str, str]:
        """A client process's environment: every boto3 client goes to this server."""
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION, **CREDENTIALS, **extra,
        }  # fmt: skip


@contextmanager
def moto_server(setup: str, *args: str) -> Iterator[Server]:
    WORK.mkdir(parents=True, exist_ok=True)
    with (WORK / f"server-{setup.rpartition(':')[2]}.log").open("w") as log:
        process = subprocess.Popen(  # noqa: S603 (our own interpreter and module)
            [str(PYTHON), "-m", "bench.server", setup, *args], cwd=ROOT, stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=log, text=True,
        )  # fmt: skip
        assert process.stdin is not None and process.stdout is not None
        try:
            line = process.stdout.readline()
            if not line:
                raise RuntimeError(f"moto server did not start; see {log.name}")
            ready = json.loads(line)
            yield Server(ready["endpoint"], ready["info"])
        finally:
            process.stdin.close()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def main() -> None:
    from moto.server import ThreadedMotoServer

    from local import moto_labeling

    setup, *args = sys.argv[1:]
    moto_labeling.install()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    os.environ.update({"AWS_ENDPOINT_URL": endpoint, "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION,
                       "POWERTOOLS_TRACE_DISABLED": "1", **CREDENTIALS})  # fmt: skip
    # stdout carries the ready line alone: whatever setup prints (handlers log to stdout) goes to the log.
    channel, sys.stdout = sys.stdout, sys.stderr
    module, _, function = setup.partition(":")
    info = getattr(importlib.import_module(module), function)(args)
    print(json.dumps({"endpoint": endpoint, "info": info}), file=channel, flush=True)
    sys.stdin.read()  # serve until the parent closes our stdin
    server.stop()


if __name__ == "__main__":
    main()
