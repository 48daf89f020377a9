"""SageMaker Ground Truth's labeling jobs in memory, kept as the moto patch keeps them (local.moto_labeling's
LabelingJob, so DescribeLabelingJob reads the same), without moto.

What it models: CreateLabelingJob checks the request as botocore's client does before sending it (its
ParamValidationError, which the adapter turns into JobRejectedError), then against the service model's patterns and
limits (the moto patch's check: JobRejectedError), and refuses a name already used, case-insensitively,
forever (there is no delete); a job starts InProgress; StopLabelingJob moves a live job to Stopping and is
a no-op for a finished, stopping or unknown one (what the SageMaker adapter makes of the API's answers);
DescribeLabelingJob of an unknown name is None. Ground Truth's side (finishing a job, its counters) is
tests.support.finish_job(..., jobs=fake), the helper the moto tests use.
"""

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from botocore.exceptions import ParamValidationError
from botocore.validate import validate_parameters
from moto.core.utils import utcnow

from gtchain.domain.labeling_job import LabelingJob
from gtchain.service.ports import JobAlreadyExistsError, JobRejectedError
from local import moto_labeling
from tests.support import ACCOUNT, REGION, finish_job

Operation = Literal["create", "describe", "stop"]


@dataclass
class _Fault:
    operation: Operation
    error: Exception
    times: int | None
    when: Callable[[str], bool] | None


def _botocore_validates(request: dict[str, Any]) -> None:
    """What the SageMaker client checks before sending (required members, types, lengths; not patterns)."""
    shape = moto_labeling._service_model().operation_model("CreateLabelingJob").input_shape
    try:
        validate_parameters(request, shape)
    except ParamValidationError as exc:
        raise JobRejectedError(f"CreateLabelingJob refused {request.get('LabelingJobName')}: {exc}") from exc


class FakeLabeling:
    def __init__(self, account: str = ACCOUNT, region: str = REGION) -> None:
        self.account, self.region = account, region
        self.jobs: dict[str, moto_labeling.LabelingJob] = {}  # by lower-cased name, in creation order
        self.calls: list[tuple[Operation, str]] = []
        self._faults: list[_Fault] = []

    # ---- what a test injects or reads -------------------------------------------------------------------

    def fail(
        self, operation: Operation, error: Exception, *, times: int | None = None,
        when: Callable[[str], bool] | None = None,
    ) -> None:  # fmt: skip
        """Raise `error` from `operation` (for job names `when` accepts), `times` times or until cleared."""
        self._faults.append(_Fault(operation, error, times, when))

    def clear_faults(self) -> None:
        self._faults.clear()

    def _fault(self, operation: Operation, name: str) -> None:
        self.calls.append((operation, name))
        for fault in self._faults:
            if fault.operation == operation and (fault.when is None or fault.when(name)):
                if fault.times is not None:
                    fault.times -= 1
                    if fault.times == 0:
                        self._faults.remove(fault)
                raise fault.error

    def job(self, name: str) -> moto_labeling.LabelingJob:
        return self.jobs[name.lower()]

    def names(self) -> list[str]:
        """Every job's name, in creation order."""
        return [job.name for job in self.jobs.values()]

    def description(self, name: str) -> dict[str, Any]:
        return self.job(name).describe()

    def update_job(
        self, name: str, *, status: str | None = None, label_counters: Mapping[str, int] | None = None,
        output: Mapping[str, str] | None = None, failure_reason: str | None = None,
    ) -> None:  # fmt: skip
        """Move a job along as Ground Truth would (local.moto_labeling.update_job's rules)."""
        if status is not None and status not in moto_labeling.STATUSES:
            raise ValueError(f"unknown labeling job status {status!r}")
        job = self.job(name)
        if status is not None:
            job.status = status
        if label_counters is not None:
            job.label_counters.update(label_counters)
        if output is not None:
            job.output = dict(output)
        if failure_reason is not None:
            job.failure_reason = failure_reason
        job.last_modified_time = utcnow()

    def finish(self, name: str, status: str = "Completed", **kwargs: Any) -> None:
        finish_job(name, status, jobs=self, **kwargs)

    # ---- the port ---------------------------------------------------------------------------------------

    def create_job(self, request: dict[str, Any]) -> str:
        name = str(request.get("LabelingJobName", ""))
        self._fault("create", name)
        _botocore_validates(request)
        if errors := moto_labeling.validation_errors("CreateLabelingJob", request):
            raise JobRejectedError(f"CreateLabelingJob refused {name}: {'; '.join(errors)}")
        if name.lower() in self.jobs:
            raise JobAlreadyExistsError(name)
        now = utcnow()
        self.jobs[name.lower()] = moto_labeling.LabelingJob(
            request=copy.deepcopy(request),
            arn=f"arn:aws:sagemaker:{self.region}:{self.account}:labeling-job/{name.lower()}",
            creation_time=now,
            last_modified_time=now,
            tags=copy.deepcopy(request.get("Tags", [])),
        )
        return self.jobs[name.lower()].arn

    def describe_job(self, name: str) -> LabelingJob | None:
        self._fault("describe", name)
        job = self.jobs.get(name.lower())
        return None if job is None else LabelingJob.from_api(job.describe())

    def stop_job(self, name: str) -> None:
        self._fault("stop", name)
        job = self.jobs.get(name.lower())
        if job is not None and job.status in ("Initializing", "InProgress"):
            job.status = "Stopping"
            job.last_modified_time = utcnow()
