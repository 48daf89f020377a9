"""End-to-end runs through the embedded emulator: the real handlers, the template's rules, emulated Ground Truth."""

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from local.cloud import LocalCloud
from local.dataset import chain_spec, manifest
from local.groundtruth.loop import Iteration

START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
CHAIN = "birds"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.e2e)


@dataclass
class Recorder:
    """Everything the emulator reports while a chain runs."""

    service_events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    finished: list[tuple[str, str]] = field(default_factory=list)
    iterations: list[tuple[str, Iteration]] = field(default_factory=list)

    def job_iteration(self, job: str, iteration: Iteration, counters: dict[str, int]) -> None:
        self.iterations.append((job, iteration))

    def job_finished(self, job: str, status: str, counters: dict[str, int]) -> None:
        self.finished.append((job, status))

    def service_event(self, detail_type: str, detail: dict[str, Any]) -> None:
        self.service_events.append((detail_type, detail))

    def of_type(self, detail_type: str) -> list[dict[str, Any]]:
        return [detail for kind, detail in self.service_events if kind == detail_type]


@dataclass
class Chain:
    cloud: LocalCloud
    recorder: Recorder

    def upload_spec(self, **overrides: Any) -> str:
        task = overrides.pop("task", "bounding-box")
        return self.cloud.put(f"chains/{CHAIN}/chain.json", json.dumps(chain_spec(task, **overrides)))

    def drop_manifest(self, name: str, objects: int, task: str = "bounding-box", seed: int = 0) -> str:
        body = manifest(task, self.cloud.bucket, objects, seed, name=name)
        return self.cloud.put(f"chains/{CHAIN}/inbox/{name}.manifest", body)

    def jobs(self) -> list[dict[str, Any]]:
        """Every labeling job, oldest first, as DescribeLabelingJob returns it."""
        return [self.cloud.describe_job(name) for name in self.cloud.job_names()]

    def job(self, suffix: str) -> dict[str, Any]:
        matches = [job for job in self.jobs() if job["LabelingJobName"].endswith(suffix)]
        assert len(matches) == 1, [job["LabelingJobName"] for job in self.jobs()]
        return matches[0]

    def status(self) -> dict[str, Any]:
        return dict(json.loads(self.cloud.get(f"chains/{CHAIN}/status.json")))

    def results(self, name: str) -> list[dict[str, Any]]:
        body = self.cloud.get(f"chains/{CHAIN}/results/{name}.manifest").decode()
        return [json.loads(line) for line in body.splitlines() if line.strip()]


def tags(job: dict[str, Any]) -> dict[str, str]:
    return {tag["Key"]: tag["Value"] for tag in job.get("Tags", [])}


def machine_share(job: dict[str, Any]) -> float:
    counters = job["LabelCounters"]
    return 100.0 * counters["MachineLabeled"] / counters["TotalLabeled"]


@pytest.fixture
def chain() -> Iterator[Chain]:
    recorder = Recorder()
    with LocalCloud(seed=3, start=START, observer=recorder) as cloud:
        yield Chain(cloud, recorder)
