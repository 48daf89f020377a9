"""The emulated Ground Truth service: labeling jobs created through moto run here, in emulated time.

A created job is Initializing, then InProgress: it reads its input manifest and label categories (and its
InitialActiveLearningModelArn's model.tar.gz), then runs the active-learning loop one iteration at a time.
Each iteration takes emulated time (workers label, models train) and, when it ends, writes what AWS
writes (https://docs.aws.amazon.com/sagemaker/latest/dg/sms-data-output.html) and updates LabelCounters.
At the end the job writes its output manifest,
registers its final model as a SageMaker model, becomes Completed and emits the state-change event.
StopLabelingJob makes it Stopping, then Stopped; the fault knobs fail it, lose or repeat its event, or
hold its output back.
"""

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

import boto3
from botocore.exceptions import ClientError
from moto.s3.models import s3_backends

from local import moto_labeling
from local.clock import Clock, Timer, Timers
from local.faults import Faults
from local.groundtruth import artifacts
from local.groundtruth.formats import ALGORITHMS, JobTask, file_stamp
from local.groundtruth.learner import Classifier, Detector
from local.groundtruth.loop import ALGORITHM_KITS, ActiveLearningRun, Iteration, RunConfig
from local.groundtruth.workers import BoxAnswers, ClassAnswers
from local.groundtruth.world import FEATURE_DIM, IMAGE_SIZES, stable_seed

if TYPE_CHECKING:
    from mypy_boto3_logs.type_defs import InputLogEventTypeDef
    from mypy_boto3_sagemaker import SageMakerClient

INITIALIZING = timedelta(minutes=3)
STOPPING = timedelta(minutes=2)
# A worker spends about this long on a task, and this many workers pick up the job's tasks at once.
SECONDS_PER_TASK = 30
CONCURRENT_WORKERS = 20
TASK_PICKUP = timedelta(minutes=10)
TRAINING = timedelta(minutes=15)
SECONDS_PER_TRAINING_SAMPLE = 0.5
INFERENCE = timedelta(minutes=5)
TRAINING_LOG_GROUP = "/aws/sagemaker/TrainingJobs"
STATE_CHANGE = "SageMaker Ground Truth Labeling Job State Change"
_ALGORITHM_IMAGE_ACCOUNT = "027400017018"


class Observer(Protocol):
    """Told about every job's progress (the demo prints it; tests record it)."""

    def job_iteration(self, job: str, iteration: Iteration, counters: dict[str, int]) -> None: ...

    def job_finished(self, job: str, status: str, counters: dict[str, int]) -> None: ...


def _s3_parts(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


@dataclass
class _Output:
    """Writes a job's files straight into moto's S3 (Ground Truth is AWS-internal); holds them back
    while the job's output is delayed."""

    account: str
    bucket: str
    prefix: str  # <S3OutputPath>/<job-name>/ without the bucket
    held: list[tuple[str, bytes]] | None = None

    def put(self, key: str, body: bytes) -> None:
        if self.held is not None:
            self.held.append((key, body))
        else:
            s3_backends[self.account]["aws"].put_object(self.bucket, self.prefix + key, body)

    def release(self) -> None:
        held, self.held = self.held or [], None
        for key, body in held:
            self.put(key, body)

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{self.prefix}{key}"


@dataclass
class _Job:
    name: str
    arn: str
    request: dict[str, Any]
    output: _Output
    ordinal: int  # the order in which this emulator saw the job created
    task: JobTask | None = None
    lines: list[dict[str, Any]] = field(default_factory=list)
    run: ActiveLearningRun | None = None
    steps: Iterator[Iteration] | None = None  # the run's iterations(), one per emulated step
    pending: Timer | None = None
    completed_iterations: int = 0
    human: int = 0
    machine: int = 0
    # Per object once its iteration has ended: label, confidence, by a human?, iteration (0: not yet), when.
    labeled: list[tuple[Any, float, bool, int, datetime | None]] = field(default_factory=list)
    models: list[str] = field(default_factory=list)  # S3 URIs of every model.tar.gz, in order
    finished: bool = False

    def counters(self) -> dict[str, int]:
        total = len(self.lines)
        return {
            "TotalLabeled": self.human + self.machine,
            "HumanLabeled": self.human,
            "MachineLabeled": self.machine,
            "FailedNonRetryableError": 0,
            "Unlabeled": total - self.human - self.machine,
        }


class GroundTruth:
    def __init__(
        self,
        *,
        clock: Clock,
        timers: Timers,
        faults: Faults,
        session: boto3.Session,
        account: str,
        region: str,
        seed: int,
        observer: Observer | None = None,
    ) -> None:
        self.clock = clock
        self.timers = timers
        self.faults = faults
        self.session = session
        self.account = account
        self.region = region
        self.seed = seed
        self.observer = observer
        self.jobs: dict[str, _Job] = {}
        moto_labeling.install()
        moto_labeling.on_create(self._created)
        moto_labeling.on_stop(self._stop_requested)

    def close(self) -> None:
        moto_labeling.clear_hooks()

    @property
    def sagemaker(self) -> "SageMakerClient":
        return self.session.client("sagemaker", region_name=self.region)

    def _update(self, job: _Job, **changes: Any) -> None:
        moto_labeling.update_job(self.account, self.region, job.name, **changes)

    # ---- lifecycle ---------------------------------------------------------------------------------

    def _created(self, account: str, region: str, labeling_job: moto_labeling.LabelingJob) -> None:
        if (account, region) != (self.account, self.region):
            return
        request = labeling_job.request
        bucket, prefix = _s3_parts(request["OutputConfig"]["S3OutputPath"].rstrip("/"))
        output = _Output(account, bucket, f"{prefix}/{labeling_job.name}/")
        job = _Job(labeling_job.name, labeling_job.arn, request, output, ordinal=len(self.jobs))
        self.jobs[job.name] = job
        self._update(job, status="Initializing")
        job.pending = self.timers.after(INITIALIZING, f"{job.name}: initialize", lambda: self._begin(job))

    def _stop_requested(self, account: str, region: str, labeling_job: moto_labeling.LabelingJob) -> None:
        job = self.jobs.get(labeling_job.name)
        if job is None or job.finished:
            return
        if job.pending is not None:
            job.pending.cancel()
        job.pending = self.timers.after(STOPPING, f"{job.name}: stop", lambda: self._finish(job, "Stopped"))

    def _begin(self, job: _Job) -> None:
        try:
            self._prepare(job)
        except _JobFailure as failure:
            self._finish(job, "Failed", str(failure))
            return
        self._update(job, status="InProgress", label_counters=job.counters())
        self._next(job)

    def _prepare(self, job: _Job) -> None:
        request = job.request
        human = request["HumanTaskConfig"]
        suffix = human["PreHumanTaskLambdaArn"].rpartition(":function:")[2].removeprefix("PRE-")
        algorithm = ALGORITHMS.get(suffix)
        if algorithm is None:
            raise _JobFailure(f"ClientError: the local Ground Truth emulator does not run {suffix} tasks")
        labels = tuple(
            entry["label"] for entry in json.loads(self._read(request["LabelCategoryConfigS3Uri"]))["labels"]
        )
        job.task = JobTask(job.name, algorithm, request["LabelAttributeName"], labels)
        manifest_uri = request["InputConfig"]["DataSource"]["S3DataSource"]["ManifestS3Uri"]
        job.lines = [json.loads(line) for line in self._read(manifest_uri).splitlines() if line.strip()]
        if not job.lines:
            raise _JobFailure(f"ClientError: the input manifest {manifest_uri} has no objects")
        algorithms = request.get("LabelingJobAlgorithmsConfig")
        initial = None
        if algorithms and algorithms.get("InitialActiveLearningModelArn"):
            initial = self._load_model(algorithms["InitialActiveLearningModelArn"], job.task)
        kit = ALGORITHM_KITS[algorithm](labels)
        identities = [str(line.get("source-ref", line.get("source", ""))) for line in job.lines]
        config = RunConfig(
            workers=int(human["NumberOfHumanWorkersPerDataObject"]),
            max_concurrent=int(human.get("MaxConcurrentTaskCount", 1000)),
            auto_labeling=algorithms is not None,
            initial_model=initial,
            # Not the job's name: gtchain puts a random incarnation in it, and the seed must fix the outcome.
            seed=stable_seed(str(self.seed), str(job.ordinal)),
        )
        job.run = ActiveLearningRun(kit, identities, config)
        job.steps = job.run.iterations()
        job.labeled = [(None, 0.0, False, 0, None)] * len(job.lines)
        if self.faults.output_delay(job.name) > timedelta(0):
            job.output.held = []

    def _object(self, uri: str) -> bytes:
        """Read straight from moto's S3, as Ground Truth reads with its execution role."""
        bucket, key = _s3_parts(uri)
        try:
            found = s3_backends[self.account]["aws"].get_object(bucket, key)
        except Exception as exc:  # moto raises its own types for a missing bucket or key
            raise _JobFailure(f"ClientError: cannot read {uri}: {exc}") from exc
        if found is None:
            raise _JobFailure(f"ClientError: cannot read {uri}: no such key")
        return bytes(found.value)

    def _read(self, uri: str) -> str:
        return self._object(uri).decode()

    def _load_model(self, arn: str, task: JobTask) -> Classifier | Detector:
        name = arn.partition(":model/")[2]
        try:
            container = self.sagemaker.describe_model(ModelName=name)["PrimaryContainer"]
        except ClientError as exc:
            raise _JobFailure(f"ClientError: InitialActiveLearningModelArn {arn} cannot be used: {exc}") from exc
        data = self._object(container["ModelDataUrl"])
        try:
            model, _ = artifacts.unpack(data, algorithm=task.algorithm, labels=task.labels)
        except (artifacts.ModelMismatchError, KeyError, OSError) as exc:
            raise _JobFailure(f"ClientError: InitialActiveLearningModelArn {arn} cannot be used: {exc}") from exc
        return model

    def _next(self, job: _Job) -> None:
        assert job.steps is not None
        iteration = next(job.steps, None)
        if iteration is None:
            self._complete(job)
            return
        job.pending = self.timers.after(
            self._duration(job, iteration),
            f"{job.name}: iteration {iteration.number}",
            lambda: self._commit(job, iteration),
        )

    @staticmethod
    def _duration(job: _Job, iteration: Iteration) -> timedelta:
        """Emulated time an iteration takes: training and inference, then the workers' tasks."""
        duration = timedelta(0)
        if iteration.training is not None:
            duration += TRAINING + timedelta(seconds=iteration.training.samples * SECONDS_PER_TRAINING_SAMPLE)
            duration += INFERENCE
        if iteration.human is not None:
            workers = int(job.request["HumanTaskConfig"]["NumberOfHumanWorkersPerDataObject"])
            tasks = len(iteration.human.index) * workers
            duration += TASK_PICKUP + timedelta(seconds=math.ceil(tasks * SECONDS_PER_TASK / CONCURRENT_WORKERS))
        return duration

    def _commit(self, job: _Job, iteration: Iteration) -> None:
        job.pending = None
        self._write_iteration(job, iteration)
        job.completed_iterations += 1
        self._update(job, label_counters=job.counters())
        if self.observer is not None:
            self.observer.job_iteration(job.name, iteration, job.counters())
        reason = self.faults.failure(job.name, job.completed_iterations)
        if reason is not None:
            self._finish(job, "Failed", reason)
            return
        self._next(job)

    def _complete(self, job: _Job) -> None:
        self._write_output_manifest(job)
        output = {"OutputDatasetS3Uri": job.output.uri("manifests/output/output.manifest")}
        if job.models:
            output["FinalActiveLearningModelArn"] = self._register_model(job, job.models[-1])
        self._update(job, status="Completed", label_counters=job.counters(), output=output)
        job.finished = True
        delay = self.faults.output_delay(job.name)
        if job.output.held is not None:
            self.timers.after(delay, f"{job.name}: output appears", job.output.release)
        self._emit(job, "Completed")

    def _finish(self, job: _Job, status: str, reason: str | None = None) -> None:
        if job.finished:
            return
        job.pending = None
        job.finished = True
        changes: dict[str, Any] = {"status": status, "label_counters": job.counters()}
        if reason is not None:
            changes["failure_reason"] = reason
        if status == "Stopped" and job.task is not None:
            self._write_output_manifest(job)
            changes["output"] = {"OutputDatasetS3Uri": job.output.uri("manifests/output/output.manifest")}
        job.output.release()
        self._update(job, **changes)
        self._emit(job, status)

    def _emit(self, job: _Job, status: str) -> None:
        if self.observer is not None:
            self.observer.job_finished(job.name, status, job.counters())
        copies = self.faults.job_event_copies(job.name)
        events = self.session.client("events", region_name=self.region)
        for _ in range(copies):
            events.put_events(
                Entries=[{
                    "Source": "aws.sagemaker", "DetailType": STATE_CHANGE, "Resources": [job.arn],
                    "Detail": json.dumps({"LabelingJobStatus": status}), "Time": self.clock.now(),
                }]
            )  # fmt: skip

    # ---- output files ------------------------------------------------------------------------------

    def _size(self, job: _Job, index: int) -> tuple[int, int]:
        assert job.run is not None
        sizes = getattr(job.run.objects, "image_sizes", None)
        if sizes is None:
            return IMAGE_SIZES[0]
        return int(sizes[index][0]), int(sizes[index][1])

    def _data_object(self, job: _Job, index: int) -> dict[str, str]:
        line = job.lines[index]
        return {"s3Uri": line["source-ref"]} if "source-ref" in line else {"content": str(line.get("source", ""))}

    def _write_iteration(self, job: _Job, iteration: Iteration) -> None:
        assert job.task is not None
        now = self.clock.now()
        stamp = file_stamp(now)
        number = iteration.number
        intermediate: list[str] = []
        if iteration.training is not None and iteration.model is not None:
            self._write_training(job, iteration, now)
        if iteration.machine is not None and len(iteration.machine.index):
            lines = []
            for row, index in enumerate(iteration.machine.index):
                label, confidence = iteration.machine.labels[row], float(iteration.machine.confidence[row])
                entry = job.task.entry(label, confidence, human=False, created=now, size=self._size(job, index))
                lines.append(f"{index} {json.dumps(entry)}")
                job.labeled[index] = (label, confidence, False, number, now)
                intermediate.append(json.dumps({**job.lines[index], **entry}))
            job.machine += len(lines)
            job.output.put(
                f"activelearning/auto-annotation/{number}/inference-output/auto_annotator_output.txt",
                ("\n".join(lines) + "\n").encode(),
            )
        if iteration.human is not None and len(iteration.human.index):
            requests, responses = [], []
            for row, index in enumerate(iteration.human.index):
                object_id = str(index)
                size = self._size(job, index)
                submitted = self._worker_answers(job, number, index, self._answers(iteration, row), now)
                job.output.put(
                    f"annotations/worker-response/iteration-{number}/{object_id}/{stamp}.json",
                    json.dumps({"answers": submitted}).encode(),
                )
                annotations = [
                    {"workerId": a["workerId"], "annotationData": {"content": json.dumps(a["answerContent"])}}
                    for a in submitted
                ]
                requests.append(
                    {
                        "datasetObjectId": object_id,
                        "dataObject": self._data_object(job, index),
                        "annotations": annotations,
                    }
                )
                label, confidence = iteration.human.labels[row], float(iteration.human.confidence[row])
                entry = job.task.entry(label, confidence, human=True, created=now, size=size)
                responses.append({"datasetObjectId": object_id, "consolidatedAnnotation": {"content": entry}})
                job.labeled[index] = (label, confidence, True, number, now)
                intermediate.append(json.dumps({**job.lines[index], **entry}))
            job.human += len(iteration.human.index)
            consolidated = "annotations/consolidated-annotation"
            job.output.put(
                f"{consolidated}/consolidation-request/iteration-{number}/{stamp}.json", json.dumps(requests).encode()
            )
            job.output.put(
                f"{consolidated}/consolidation-response/iteration-{number}/{stamp}.json", json.dumps(responses).encode()
            )
        if intermediate:
            job.output.put(
                f"manifests/intermediate/{number}/output.manifest", ("\n".join(intermediate) + "\n").encode()
            )

    def _worker_answers(
        self, job: _Job, number: int, index: int, answers: list[Any], now: datetime
    ) -> list[dict[str, Any]]:
        """One object's worker-response entries, as the crowd element submits them."""
        assert job.task is not None
        size = self._size(job, index)
        accepted = (now - timedelta(seconds=SECONDS_PER_TASK)).isoformat(timespec="milliseconds")
        return [
            {
                "acceptanceTime": accepted,
                "answerContent": job.task.answer(answer, size),
                "submissionTime": now.isoformat(timespec="milliseconds"),
                "timeSpentInSeconds": float(SECONDS_PER_TASK),
                "workerId": self._worker_id(job, number, index, worker),
                "workerMetadata": None,
            }
            for worker, answer in enumerate(answers)
        ]

    @staticmethod
    def _answers(iteration: Iteration, row: int) -> list[Any]:
        assert iteration.human is not None
        answers = iteration.human.answers
        if isinstance(answers, ClassAnswers):
            return [int(a) for a in answers.answers[row]]
        assert isinstance(answers, BoxAnswers)
        return list(answers.answers[row])

    def _worker_id(self, job: _Job, iteration: int, index: int, worker: int) -> str:
        pool = stable_seed(str(self.seed), job.name, str(iteration), str(index), str(worker)) % 10**12
        return f"public.{self.region}.A{pool:012d}"

    def _training_job_name(self, job: _Job, iteration: int) -> str:
        tag = f"{stable_seed(job.name, str(iteration)) % 16**6:06x}"
        return f"{job.name[:44].rstrip('-')}-{tag}-it{iteration}"

    def _write_training(self, job: _Job, iteration: Iteration, now: datetime) -> None:
        assert job.task is not None and iteration.training is not None and iteration.model is not None
        training_job = self._training_job_name(job, iteration.number)
        info = artifacts.ModelInfo(
            job.task.algorithm, job.task.labels, iteration.training.samples, job.name, iteration.number
        )
        key = f"training/auto-annotation/{iteration.number}/training-output/{training_job}/output/model.tar.gz"
        job.output.put(key, artifacts.pack(iteration.model, info))
        job.models.append(job.output.uri(key))
        self._write_training_log(job, iteration, training_job, now)

    def _write_training_log(self, job: _Job, iteration: Iteration, training_job: str, now: datetime) -> None:
        """The lines the notebook parses: the sample count, then one validation metric per epoch."""
        assert job.task is not None and iteration.training is not None
        training = iteration.training
        start = now - TRAINING - timedelta(seconds=training.samples * SECONDS_PER_TRAINING_SAMPLE) - INFERENCE
        classes = len(job.task.labels)

        def line(moment: datetime, text: str) -> "InputLogEventTypeDef":
            stamp = moment.strftime("%m/%d/%Y %H:%M:%S")
            return {"timestamp": int(moment.timestamp() * 1000), "message": f"[{stamp} INFO 140291948] {text}"}

        configuration = {
            "num_training_samples": str(training.samples), "epochs": str(training.epochs),
            "mini_batch_size": "64", "feature_dim": str(FEATURE_DIM), "num_classes": str(classes),
        }  # fmt: skip
        rendered = ", ".join(f"'{k}': u'{v}'" for k, v in configuration.items())
        events = [line(start, f"Final configuration: {{{rendered}}}")]
        step = (TRAINING + timedelta(seconds=training.samples * SECONDS_PER_TRAINING_SAMPLE)) / max(training.epochs, 1)
        for epoch, value in enumerate(training.validation):
            moment = start + step * (epoch + 1)
            if job.task.boxes:
                events.append(
                    line(moment, f"#quality_metric: host=algo-1, epoch={epoch}, validation mAP <score>=({value:.6f})")
                )
            else:
                events.append(line(moment, f"Epoch[{epoch}] Validation-accuracy={value:.6f}"))
        logs = self.session.client("logs", region_name=self.region)
        if not logs.describe_log_groups(logGroupNamePrefix=TRAINING_LOG_GROUP)["logGroups"]:
            logs.create_log_group(logGroupName=TRAINING_LOG_GROUP)
        stream = f"{training_job}/algo-1-{int(start.timestamp())}"
        logs.create_log_stream(logGroupName=TRAINING_LOG_GROUP, logStreamName=stream)
        logs.put_log_events(logGroupName=TRAINING_LOG_GROUP, logStreamName=stream, logEvents=events)

    def _write_output_manifest(self, job: _Job) -> None:
        assert job.task is not None
        lines = []
        for index, (label, confidence, human, number, created) in enumerate(job.labeled):
            if number == 0 or created is None:
                continue
            entry = job.task.entry(label, confidence, human=human, created=created, size=self._size(job, index))
            lines.append(json.dumps({**job.lines[index], **entry}))
        job.output.put("manifests/output/output.manifest", ("\n".join(lines) + "\n").encode() if lines else b"")

    def _register_model(self, job: _Job, model_uri: str) -> str:
        assert job.task is not None
        name = f"{job.name[:48].rstrip('-')}-{stable_seed(job.name) % 16**8:08x}"
        image = f"{_ALGORITHM_IMAGE_ACCOUNT}.dkr.ecr.{self.region}.amazonaws.com/{job.task.algorithm}:1"
        response = self.sagemaker.create_model(
            ModelName=name,
            ExecutionRoleArn=job.request["RoleArn"],
            PrimaryContainer={"Image": image, "ModelDataUrl": model_uri},
            Tags=[{"Key": "labeling-job", "Value": job.name}],
        )
        return str(response["ModelArn"])


class _JobFailure(Exception):
    """The job fails with this FailureReason."""
