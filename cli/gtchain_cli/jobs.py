"""Running jobs as Ground Truth reports them now (DescribeLabelingJob's LabelCounters), beside status.json's
last known counters (which the reconciler refreshes once a period)."""

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from gtchain.adapters.errors import error_code

if TYPE_CHECKING:
    from mypy_boto3_sagemaker import SageMakerClient


@dataclass(frozen=True)
class LiveJob:
    round: int
    role: str  # round | baseline
    name: str
    status: str  # Ground Truth's LabelingJobStatus (or status.json's, when it could not be described)
    objects: int  # what the job labels
    labeled: int = 0
    human: int = 0
    machine: int = 0
    failed: int = 0
    live: bool = True  # False: the counters are status.json's last known ones

    @property
    def done(self) -> int:
        return self.labeled + self.failed

    def as_dict(self) -> dict[str, Any]:
        return {
            "round": self.round, "role": self.role, "name": self.name, "status": self.status,
            "objects": self.objects, "labeled": self.labeled, "human": self.human, "machine": self.machine,
            "failed": self.failed, "live": self.live,
        }  # fmt: skip


def running_jobs(status: dict[str, Any]) -> list[tuple[int, str, dict[str, Any], int]]:
    """(round, role, job view, objects) for every job status.json shows as starting or running."""
    found = []
    running = status.get("running")
    if running:
        for role in ("job", "baseline"):
            job = running.get(role)
            if job and job.get("status") in ("starting", "running"):
                found.append((int(running["round"]), "round" if role == "job" else "baseline", job,
                              int(running.get("objects") or 0)))  # fmt: skip
    for entry in status.get("runningBaselines", []):
        job = entry.get("baseline")
        if job and job.get("status") in ("starting", "running"):
            found.append((int(entry["round"]), "baseline", job, _objects_of(status, int(entry["round"]))))
    return found


def _objects_of(status: dict[str, Any], number: int) -> int:
    for manifest in status.get("manifests", []):
        if number in manifest.get("rounds", []):
            rounds = list(manifest["rounds"])
            sizes = _split(int(manifest.get("objects") or 0), len(rounds))
            return sizes[rounds.index(number)]
    return 0


def _split(objects: int, parts: int) -> list[int]:
    base, extra = divmod(objects, max(parts, 1))
    return [base + 1 if i < extra else base for i in range(max(parts, 1))]


def describe(sagemaker: "SageMakerClient", status: dict[str, Any]) -> list[LiveJob]:
    jobs = []
    for number, role, view, objects in running_jobs(status):
        counters: dict[str, Any] = {}
        state = str(view.get("status", "running"))
        live = False
        try:
            description = sagemaker.describe_labeling_job(LabelingJobName=str(view["name"]))
        except ClientError as exc:
            if error_code(exc) not in ("ResourceNotFound", "ValidationException"):
                raise
        else:
            counters, state, live = dict(description.get("LabelCounters", {})), description["LabelingJobStatus"], True
        if not live:
            known = view.get("labelCounters") or {}
            counters = {"TotalLabeled": known.get("total_labeled", 0), "HumanLabeled": known.get("human_labeled", 0),
                        "MachineLabeled": known.get("machine_labeled", 0),
                        "FailedNonRetryableError": known.get("failed", 0)}  # fmt: skip
        jobs.append(LiveJob(
            number, role, str(view["name"]), state, objects,
            labeled=int(counters.get("TotalLabeled", 0)), human=int(counters.get("HumanLabeled", 0)),
            machine=int(counters.get("MachineLabeled", 0)), failed=int(counters.get("FailedNonRetryableError", 0)),
            live=live,
        ))  # fmt: skip
    return jobs
