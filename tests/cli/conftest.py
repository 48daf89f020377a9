"""The `gtchain` CLI through typer's test runner, against the whole stack in-process (local.cloud.LocalCloud):
the real handlers behind the template's rules, emulated Ground Truth, one emulated clock.

The CLI finds the stack as it would on AWS, by its CloudFormation outputs (`--stack`): a stack holding the
emulated stack's outputs is created in moto. When the CLI waits (submit, pause, watch, ...), emulated time passes
instead of wall time: its clock's sleep advances the emulator, which delivers the events the CLI's uploads caused
and fires Ground Truth's iterations and the reconciler's schedule.
"""

import json
import re
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from gtchain_cli import app, control
from local.cloud import LocalCloud
from local.dataset import chain_spec, manifest

STACK = "gtchain-cli"
START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
# Wide enough that no table wraps a job name; not a terminal, so no colours and no live display.
RUNNER_ENV = {"COLUMNS": "240", "NO_COLOR": "1", "GTCHAIN_STACK": None, "GTCHAIN_LOCAL": None, "GTCHAIN_DEBUG": None}


@dataclass
class Cli:
    cloud: LocalCloud
    directory: Path
    runner: CliRunner

    def __call__(self, *args: str, env: dict[str, str | None] | None = None) -> Result:
        """`gtchain --stack <the emulated stack> ARGS...`."""
        return self.bare("--stack", STACK, *args, env=env)

    def bare(self, *args: str, env: dict[str, str | None] | None = None) -> Result:
        """`gtchain ARGS...`, with no target chosen."""
        return self.runner.invoke(app, list(args), env={**RUNNER_ENV, **(env or {})})

    # ---- files a user has ----------------------------------------------------------------------------------

    def spec_file(self, name: str = "chain.json", **overrides: Any) -> Path:
        path = self.directory / name
        path.write_text(json.dumps(chain_spec("bounding-box", **overrides), indent=2) + "\n")
        return path

    def manifest_file(self, name: str, objects: int, seed: int = 0) -> Path:
        path = self.directory / f"{name}.manifest"
        path.write_text(manifest("bounding-box", self.cloud.bucket, objects, seed, name=name))
        return path

    # ---- what is in the emulated AWS -----------------------------------------------------------------------

    def status(self, chain: str = "birds") -> dict[str, Any]:
        return dict(json.loads(self.cloud.get(f"chains/{chain}/status.json")))

    def spec_in_bucket(self, chain: str = "birds") -> dict[str, Any]:
        return dict(json.loads(self.cloud.get(f"chains/{chain}/chain.json")))

    def spec_versions(self, chain: str = "birds") -> list[dict[str, Any]]:
        """Every version of chain.json, oldest first, as uploaded."""
        listed = self.cloud.s3.list_object_versions(Bucket=self.cloud.bucket, Prefix=f"chains/{chain}/chain.json")
        versions = list(reversed(listed.get("Versions", [])))  # S3 lists a key's versions newest first
        return [
            json.loads(self.cloud.s3.get_object(Bucket=self.cloud.bucket, Key=v["Key"], VersionId=v["VersionId"])
                       ["Body"].read())
            for v in versions
        ]  # fmt: skip

    def jobs(self) -> list[dict[str, Any]]:
        return [self.cloud.describe_job(name) for name in self.cloud.job_names()]

    def run_until(self, condition: Any, limit: timedelta = timedelta(days=3)) -> None:
        self.cloud.run(until=condition, limit=limit)


def create_stack(cloud: LocalCloud, name: str = STACK, outputs: dict[str, Any] | None = None) -> None:
    """A CloudFormation stack in moto whose outputs are the emulated stack's (or the given ones)."""
    template = {
        "Parameters": {"AllowedSourceBuckets": {"Type": "String", "Default": ""}},
        "Resources": {"Handle": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
        "Outputs": {key: {"Value": str(value)} for key, value in (outputs or cloud.stack.plan.outputs).items()},
    }
    with warnings.catch_warnings():  # moto does not model WaitConditionHandle; the stack needs no resource
        warnings.simplefilter("ignore")
        cloud.session.client("cloudformation").create_stack(StackName=name, TemplateBody=json.dumps(template))


class EmulatedClock:
    """The CLI's clock on emulated time: sleeping lets the emulator run for that long."""

    def __init__(self, cloud: LocalCloud) -> None:
        self.cloud = cloud
        self.slept = 0.0

    def now(self) -> float:
        return self.cloud.clock.now().timestamp()

    def sleep(self, seconds: float) -> None:
        self.slept += seconds
        self.cloud.advance(timedelta(seconds=seconds))


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Cli]:
    monkeypatch.chdir(tmp_path)
    with LocalCloud(seed=5, start=START) as cloud:
        create_stack(cloud)
        clock = EmulatedClock(cloud)
        monkeypatch.setattr(control.CLOCK, "now", clock.now)
        monkeypatch.setattr(control.CLOCK, "sleep", clock.sleep)
        yield Cli(cloud, tmp_path, CliRunner())


def lines(result: Result) -> list[str]:
    return [line.rstrip() for line in result.stdout.splitlines() if line.strip()]


def cells(result: Result, first: str) -> list[list[str]]:
    """The rows of the tables printed whose first cell is `first`, as lists of cells (columns are at least two
    spaces apart; a cell's own words one)."""
    rows = []
    for line in lines(result):
        parts = re.split(r"\s{2,}", line.strip())
        if len(parts) > 1 and parts[0] == first:
            rows.append(parts)
    return rows


def one_line(result: Result) -> str:
    """The error a person reads: exactly one line on stderr, nothing on stdout."""
    errors = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(errors) == 1, result.stderr
    assert "Traceback" not in result.output
    return errors[0]


def in_order(text: str, parts: Sequence[str]) -> bool:
    position = 0
    for part in parts:
        found = text.find(part, position)
        if found < 0:
            return False
        position = found + len(part)
    return True
