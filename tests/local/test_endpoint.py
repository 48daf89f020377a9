"""The local endpoint as a user drives it (docs/local.md): `python -m local.endpoint` in a subprocess on a free port,
the real AWS CLI (.venvs/awscli, created by `make test`) as the client, and `python -m local.invoke` with every
sample in events/, each against a fresh endpoint. Every endpoint is stopped by a signal and must leave no process,
listening port or config file behind.
"""

import io
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from local.dataset import chain_spec, manifest
from local.invoke import invoke

ROOT = Path(__file__).resolve().parents[2]
AWS = ROOT / ".venvs" / "awscli" / "bin" / "aws"
# Emulated seconds per wall second. The seed chain spans about 35 emulated hours: at this speed its run is bound by
# the work done (about as long as `make demo`), not by emulated time; the loop still fires every timer in order.
CHAIN_SPEED = 20000
# A staged sample job ends within an emulated hour or so: under 2 s here.
SAMPLE_SPEED = 3000
OBJECTS = 2500

if not AWS.exists():
    reason = f"the AWS CLI is not installed in {AWS.parent.parent.relative_to(ROOT)}: run `make test` (it creates it)"
    if os.environ.get("CI"):
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason, allow_module_level=True)


def _environment() -> dict[str, str]:
    """No AWS configuration of the machine's may leak in: fake credentials, no profile, no config files."""
    keep = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
    return keep | {
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull, "AWS_PAGER": "",
    }  # fmt: skip


class Endpoint:
    def __init__(self, workdir: Path, speed: int) -> None:
        self.state = workdir / "state"
        self.output = workdir / "endpoint.out"
        command = ["--port", "0", "--speed", str(speed), "--state-dir", str(self.state)]
        with self.output.open("w") as out:
            self.process = subprocess.Popen(  # noqa: S603
                [sys.executable, "-m", "local.endpoint", *command],
                cwd=ROOT, env=_environment(), stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + 30
        while "\nready\n" not in self.text():
            assert self.process.poll() is None, f"the endpoint exited: {self.text()}"
            assert time.monotonic() < deadline, f"the endpoint did not get ready: {self.text()}"
            time.sleep(0.05)
        self.config: dict[str, Any] = json.loads((self.state / "local.json").read_text())
        self.url = str(self.config["endpoint"])
        self.port = int(self.url.rsplit(":", 1)[1])
        self.bucket = str(self.config["dataBucket"])

    def text(self) -> str:
        return self.output.read_text()

    def aws(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(  # noqa: S603
            [str(AWS), "--endpoint-url", self.url, *args], env=_environment(), capture_output=True, text=True,
            timeout=60, check=False,
        )  # fmt: skip
        if check:
            assert done.returncode == 0, f"aws {' '.join(args)}: {done.stderr}"
        return done

    def aws_json(self, *args: str) -> Any:
        return json.loads(self.aws(*args, "--output", "json").stdout)

    def invoke(self, function: str, event: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(  # noqa: S603
            [sys.executable, "-m", "local.invoke", function, str(event), "--config", str(self.state / "local.json")],
            cwd=ROOT, env=_environment(), capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip

    def client(self, service: str) -> Any:
        """A boto3 client of the endpoint, for checks that need not pay for starting the AWS CLI."""
        return boto3.client(
            service, endpoint_url=self.url, region_name="us-east-1", aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )  # fmt: skip

    def jobs(self, listed: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
        """The labeling jobs by the end of their names (r1-a1, r2-a1, r2b-a1, ...)."""
        listed = listed or self.client("sagemaker").list_labeling_jobs(SortBy="CreationTime")
        return {job["LabelingJobName"].split("-", 3)[3]: job for job in listed["LabelingJobSummaryList"]}

    def stop(self, signum: int = signal.SIGTERM) -> None:
        """Stop it as Ctrl-C or a service manager would; nothing may stay behind."""
        self.process.send_signal(signum)
        assert self.process.wait(timeout=30) == 0, self.text()
        assert self.text().rstrip().endswith("stopped")
        with pytest.raises(ProcessLookupError):
            os.killpg(self.process.pid, 0)  # no process left in its group
        with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", self.port), timeout=5):
            pass
        with socket.socket() as probe:  # nobody listens: the port can be taken again
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(("127.0.0.1", self.port))
        assert not (self.state / "local.json").exists()


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Callable[[int], Endpoint]]:
    started: list[Endpoint] = []

    def start(speed: int) -> Endpoint:
        started.append(Endpoint(tmp_path, speed))
        return started[-1]

    try:
        yield start
    finally:
        for running in started:
            if running.process.poll() is None:
                os.killpg(running.process.pid, signal.SIGKILL)
                running.process.wait(timeout=10)


def _wait_for(endpoint: Endpoint, key: str, seconds: float) -> None:
    s3 = endpoint.client("s3")
    deadline = time.monotonic() + seconds
    while s3.list_objects_v2(Bucket=endpoint.bucket, Prefix=key).get("KeyCount", 0) == 0:
        assert endpoint.process.poll() is None, endpoint.text()
        assert time.monotonic() < deadline, f"no {key} after {seconds} s:\n{endpoint.text()}"
        time.sleep(0.5)


def _one_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1, text
    assert "Traceback" not in text
    return lines[0]


def test_the_seed_chain_runs_through_the_aws_cli(start: Callable[[int], Endpoint], tmp_path: Path) -> None:
    endpoint = start(CHAIN_SPEED)
    chain, inbox = tmp_path / "chain.json", tmp_path / "birds.manifest"
    chain.write_text(json.dumps(chain_spec(rounds=2, baseline=True), indent=2))
    inbox.write_text(manifest("bounding-box", endpoint.bucket, OBJECTS, seed=7))
    endpoint.aws("s3", "cp", str(chain), f"s3://{endpoint.bucket}/chains/birds/chain.json")
    endpoint.aws("s3", "cp", str(inbox), f"s3://{endpoint.bucket}/chains/birds/inbox/")

    # Unserved services and operations: one line from the CLI, while the chain runs.
    refused = endpoint.aws("lambda", "list-functions", check=False)
    assert refused.returncode == 255
    assert "service lambda is not emulated by the gtchain local endpoint" in _one_line(refused.stderr)
    refused = endpoint.aws("sagemaker", "list-workteams", check=False)
    assert refused.returncode == 255
    assert "sagemaker ListWorkteams is not emulated" in _one_line(refused.stderr)

    _wait_for(endpoint, "chains/birds/results/birds.manifest", seconds=180)
    results = tmp_path / "results.manifest"
    endpoint.aws("s3", "cp", f"s3://{endpoint.bucket}/chains/birds/results/birds.manifest", str(results))
    sent = [json.loads(line)["source-ref"] for line in inbox.read_text().splitlines()]
    labeled = [json.loads(line) for line in results.read_text().splitlines()]
    assert [line["source-ref"] for line in labeled] == sent  # 2,500 lines, in input order
    assert all("category-metadata" in line for line in labeled)

    jobs = endpoint.jobs(endpoint.aws_json("sagemaker", "list-labeling-jobs", "--sort-by", "CreationTime"))
    assert {"r1-a1", "r2-a1", "r2b-a1"} <= set(jobs), jobs
    round1, round2, baseline = (
        endpoint.aws_json("sagemaker", "describe-labeling-job", "--labeling-job-name", jobs[tail]["LabelingJobName"])
        for tail in ("r1-a1", "r2-a1", "r2b-a1")
    )
    assert round1["LabelingJobStatus"] == round2["LabelingJobStatus"] == "Completed"
    for job in (round1, round2):  # every object labeled, or failed (its workers' tasks expired)
        counters = job["LabelCounters"]
        assert counters["TotalLabeled"] + counters["FailedNonRetryableError"] == OBJECTS // 2, counters
        assert counters["MachineLabeled"] > 0
    model = round1["LabelingJobOutput"]["FinalActiveLearningModelArn"]
    assert round2["LabelingJobAlgorithmsConfig"]["InitialActiveLearningModelArn"] == model
    assert "InitialActiveLearningModelArn" not in baseline["LabelingJobAlgorithmsConfig"]
    assert re.search(r"round 2 started: \S+-r2-a1, 1,250 objects, with the carried model", endpoint.text())
    reports = endpoint.client("s3").list_objects_v2(Bucket=endpoint.bucket, Prefix="chains/birds/reports/")
    assert f"chains/birds/reports/{round1['LabelingJobName']}/summary.json" in {o["Key"] for o in reports["Contents"]}

    endpoint.stop(signal.SIGINT)


# What each sample in events/ does when `python -m local.invoke` delivers it to a fresh endpoint (docs/local.md).
SAMPLES: dict[str, tuple[str, dict[str, Any]]] = {
    "s3-object-created-chain-json.json": (
        "StartFunction", {"action": "spec-applied", "detail": "0 waiting manifest(s) picked up"},
    ),
    "s3-object-created-manifest.json": ("StartFunction", {"action": "queued", "detail": "rounds [1, 2]"}),
    "labeling-job-state-change-completed.json": (
        "AdvanceFunction", {"action": "applied", "detail": "birds round 1 round Completed"},
    ),
    "labeling-job-state-change-failed.json": (
        "AdvanceFunction", {"action": "applied", "detail": "birds round 1 round Failed"},
    ),
    "round-completed.json": ("ReportFunction", {"action": "reported"}),
    "scheduled-reconcile.json": ("ReconcileFunction", {"chains": 0, "failed": []}),
    "scheduled-reconcile-sweep.json": ("ReconcileFunction", {"chains": 0, "failed": []}),
}  # fmt: skip
# What else must hold afterwards: jobs of chain birds (by the end of their names) that exist, with their status
# when it is settled (a started job may already have ended at the test's speed).
ANY = ("Initializing", "InProgress", "Completed")
JOBS_AFTER = {
    "s3-object-created-manifest.json": {"r1-a1": ANY},  # round 1 started
    "labeling-job-state-change-completed.json": {"r1-a1": ("Completed",), "r2-a1": ANY},  # round 2 started
    "labeling-job-state-change-failed.json": {"r1-a1": ("Failed",)},
    "round-completed.json": {"r1-a1": ("Completed",)},
}


def test_every_sample_has_a_documented_outcome() -> None:
    assert sorted(SAMPLES) == sorted(path.name for path in (ROOT / "events").glob("*.json"))
    documented = (ROOT / "docs" / "local.md").read_text()
    for name in SAMPLES:
        assert f"events/{name}" in documented


@pytest.mark.parametrize("sample", sorted(SAMPLES))
def test_each_sample_does_what_its_name_says(start: Callable[[int], Endpoint], sample: str) -> None:
    endpoint = start(SAMPLE_SPEED)
    function, expected = SAMPLES[sample]
    done = endpoint.invoke(function, ROOT / "events" / sample)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert {key: result.get(key) for key in expected} == expected, done.stderr
    assert "START RequestId:" in done.stderr and "REPORT RequestId:" in done.stderr
    if sample == "round-completed.json":
        assert result["chainHtmlUri"] == f"s3://{endpoint.bucket}/chains/birds/reports/chain/report.html"
    if sample in JOBS_AFTER:
        jobs = endpoint.jobs()
        for tail, statuses in JOBS_AFTER[sample].items():
            assert jobs[tail]["LabelingJobStatus"] in statuses, jobs
    if sample == "scheduled-reconcile.json":  # the entry point `gtchain invoke` calls, in this process
        log = io.StringIO()
        again = invoke(function, ROOT / "events" / sample, endpoint.config, log=log)
        assert {key: again.get(key) for key in expected} == expected, log.getvalue()
        assert "REPORT RequestId:" in log.getvalue()
    # Its logs are in CloudWatch Logs on the endpoint, as Lambda would have written them.
    group = f"/aws/lambda/{endpoint.config['functions'][function]}"
    logged = endpoint.client("logs").filter_log_events(logGroupName=group, filterPattern="REPORT")
    assert logged["events"], group
    endpoint.stop()


def test_faults_are_one_line_with_their_exit_code(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(  # noqa: S603
            [sys.executable, "-m", "local.endpoint", "--port", str(port), "--state-dir", str(tmp_path / "state")],
            cwd=ROOT, env=_environment(), capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
    assert done.returncode == 3
    assert f"cannot listen on 127.0.0.1:{port}: the port is in use" in _one_line(done.stderr)
    assert not (tmp_path / "state" / "local.json").exists()

    with socket.socket() as closed:  # a port nobody listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    config = tmp_path / "local.json"
    bucket = "gtchain-local-databucket-67f2adb241cd"  # the local stack's, as template.yaml names it
    config.write_text(json.dumps({
        "endpoint": f"http://127.0.0.1:{port}", "region": "us-east-1", "dataBucket": bucket, "table": "t",
        "functions": {}, "account": "123456789012", "stack": "gtchain-local",
    }))  # fmt: skip
    event = ROOT / "events" / "scheduled-reconcile.json"
    cases = [
        (["ReconcileFunction", str(event), "--config", str(config)], 4, "no local endpoint answers at"),
        (["ReconcileFunction", str(event), "--config", str(tmp_path / "none.json")], 4, "is not running"),
        (["NoSuchFunction", str(event), "--config", str(config)], 3, "template.yaml has no function NoSuchFunction"),
        (["ReconcileFunction", str(tmp_path / "none.json"), "--config", str(config)], 3, "cannot read the event"),
    ]
    for args, code, message in cases:
        done = subprocess.run(  # noqa: S603
            [sys.executable, "-m", "local.invoke", *args], cwd=ROOT, env=_environment(), capture_output=True,
            text=True, timeout=60, check=False,
        )  # fmt: skip
        assert done.returncode == code, (args, done.stderr)
        assert message in _one_line(done.stderr), done.stderr
        assert done.stdout == ""
