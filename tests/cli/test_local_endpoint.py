"""The CLI against the real local endpoint (`python -m local.endpoint`, what `make local` runs) in a subprocess,
with `--local`: the same commands, over HTTP, on wall time (the endpoint's emulated time runs 3,000x)."""

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from gtchain_cli import app
from local.dataset import chain_spec, manifest
from tests.cli.conftest import RUNNER_ENV, in_order
from tests.support import ROOT

READY_SECONDS = 90


@pytest.fixture
def endpoint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, object]]:
    """A fresh local endpoint on a free port; its local.json in tmp_path/.gtchain, where the CLI finds it."""
    log = (tmp_path / "endpoint.log").open("w")
    process = subprocess.Popen(  # noqa: S603 (our own interpreter, our own module)
        [sys.executable, "-m", "local.endpoint", "--port", "0", "--speed", "3000", "--quiet",
         "--state-dir", str(tmp_path / ".gtchain")],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    try:
        deadline = time.monotonic() + READY_SECONDS
        while "ready" not in (tmp_path / "endpoint.log").read_text().split():
            assert process.poll() is None, (tmp_path / "endpoint.log").read_text()
            assert time.monotonic() < deadline, "the local endpoint did not start"
            time.sleep(0.2)
        monkeypatch.chdir(tmp_path)
        yield json.loads((tmp_path / ".gtchain" / "local.json").read_text())
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
    assert not (tmp_path / ".gtchain" / "local.json").exists()  # the endpoint removed it: nothing left behind


def gtchain(*args: str) -> Result:
    return CliRunner().invoke(app, list(args), env={**RUNNER_ENV, "GTCHAIN_LOCAL": "1"})


def test_submit_watch_status_results_pause_resume_and_invoke_through_the_local_endpoint(
    endpoint: dict[str, object], tmp_path: Path
) -> None:
    bucket = str(endpoint["dataBucket"])
    (tmp_path / "chain.json").write_text(json.dumps(chain_spec("bounding-box", rounds=2, baseline=False), indent=2))
    (tmp_path / "birds.manifest").write_text(manifest("bounding-box", bucket, 200, 3))

    submitted = gtchain("submit", "birds", "--spec", "chain.json", "birds.manifest", "--interval", "0.5")
    assert submitted.exit_code == 0, submitted.output
    assert "birds.manifest: queued as round(s) 1, 2" in submitted.stdout

    watched = gtchain("watch", "birds", "--interval", "0.5", "--timeout", "180")
    assert watched.exit_code == 0, watched.output
    assert in_order(
        watched.stdout,
        [
            "chain created",
            "manifest queued",
            "job running",
            "job completed",
            "job running",
            "job completed",
            "manifest completed",
            "chain birds is idle",
        ],
    )

    status = json.loads(gtchain("status", "birds", "--json").stdout)
    assert (status["state"], status["roundsCompleted"], status["liveJobs"]) == ("idle", 2, [])
    assert [(m["name"], m["status"], m["objectsDone"]) for m in status["manifests"]] == [
        ("birds.manifest", "completed", 200)]  # fmt: skip

    fetched = gtchain("results", "birds", "--out", "out")
    assert fetched.exit_code == 0, fetched.output
    rows = [json.loads(line) for line in (tmp_path / "out" / "birds.manifest").read_text().splitlines()]
    inputs = [json.loads(line) for line in (tmp_path / "birds.manifest").read_text().splitlines()]
    assert [r["source-ref"] for r in rows] == [i["source-ref"] for i in inputs]

    paused = gtchain("pause", "birds", "--interval", "0.5")
    assert paused.exit_code == 0, paused.output
    assert "chain birds is paused: chain.json says paused" in paused.stdout
    resumed = gtchain("resume", "birds", "--interval", "0.5")
    assert resumed.exit_code == 0, resumed.output
    assert "chain birds is idle" in resumed.stdout

    invoked = gtchain("invoke", "ReconcileFunction", str(ROOT / "events" / "scheduled-reconcile.json"))
    assert invoked.exit_code == 0, invoked.output
    reconciled = json.loads(invoked.stdout)
    # the tick reads the chain unless one of the endpoint's own scheduled ticks has taken it out as idle already
    assert reconciled["chains"] in (0, 1) and reconciled["failed"] == []
