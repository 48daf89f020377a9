"""The emulated Ground Truth service: labeling jobs created through moto run here, in emulated time.

A created job is Initializing, then InProgress: it reads its input manifest and label categories (and its
InitialActiveLearningModelArn's model.tar.gz), then runs the active-learning loop one iteration at a time.
Each iteration takes emulated time (workers label, models train) and, when it ends, writes what AWS
writes (https://docs.aws.amazon.com/sagemaker/latest/dg/sms-data-output.html) and updates LabelCounters.
An object whose tasks expired is failed: its output line carries `<attr>-metadata` with `failure-reason`
and `retry-count` and no `<attr>`, and it counts in FailedNonRetryableError. The intermediate and final
output manifests hold one line per input line: the label where there is one, the failure where the
object failed, the input line unchanged otherwise (a stopped job's too).
At the end the job writes its output manifest,
registers its final model as a SageMaker model, becomes Completed and emits the state-change event.
StopLabelingJob makes it Stopping, then Stopped; the fault knobs fail it, lose or repeat its event, or
hold its output back.
"""

import json
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
from local.groundtruth import artifacts, verification
from local.groundtruth.formats import ALGORITHMS, JobTask, MaskLabel, creation_date, dumps, file_stamp, worker_time
from local.groundtruth.learner import Classifier, Detector, Segmenter
from local.groundtruth.loop import ALGORITHM_KITS, ActiveLearningRun, Iteration, ProbeFailedError, RunConfig
from local.groundtruth.workers import Crowd, crowd_for
from local.groundtruth.world import FEATURE_DIM, IMAGE_SIZES, PATCH_FEATURES, stable_seed

if TYPE_CHECKING:
    from mypy_boto3_logs.type_defs import InputLogEventTypeDef
    from mypy_boto3_sagemaker import SageMakerClient

INITIALIZING = timedelta(minutes=3)
STOPPING = timedelta(minutes=2)
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
    started: datetime | None = None  # when the current iteration began
    completed_iterations: int = 0
    human: int = 0
    machine: int = 0
    failed: int = 0
    crowd: Crowd | None = None
    # Per object once its iteration has ended: what its output line adds (a label, or a failure), or None.
    outcome: list[dict[str, Any] | None] = field(default_factory=list)
    models: list[str] = field(default_factory=list)  # S3 URIs of every model.tar.gz, in order
    finished: bool = False

    def counters(self) -> dict[str, int]:
        total = len(self.lines)
        return {
            "TotalLabeled": self.human + self.machine,
            "HumanLabeled": self.human,
            "MachineLabeled": self.machine,
            "FailedNonRetryableError": self.failed,
            "Unlabeled": total - self.human - self.machine - self.failed,
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
        verifying = suffix == verification.VERIFICATION  # bounding box verification (local.groundtruth.verification)
        algorithm = verification.ALGORITHM if verifying else ALGORITHMS.get(suffix)
        if algorithm is None:
            raise _JobFailure(f"ClientError: the local Ground Truth emulator does not run {suffix} tasks")
        labels = tuple(
            entry["label"] for entry in json.loads(self._read(request["LabelCategoryConfigS3Uri"]))["labels"]
        )
        job.task = (verification.verification_task(job.name, request["LabelAttributeName"]) if verifying
                    else JobTask(job.name, algorithm, request["LabelAttributeName"], labels))  # fmt: skip
        manifest_uri = request["InputConfig"]["DataSource"]["S3DataSource"]["ManifestS3Uri"]
        job.lines = [json.loads(line) for line in self._read(manifest_uri).splitlines() if line.strip()]
        if not job.lines:
            raise _JobFailure(f"ClientError: the input manifest {manifest_uri} has no objects")
        algorithms = request.get("LabelingJobAlgorithmsConfig")
        initial = None
        if algorithms and algorithms.get("InitialActiveLearningModelArn"):
            initial = self._load_model(algorithms["InitialActiveLearningModelArn"], job.task)
        kit = verification.VerificationKit(labels, job.lines) if verifying else ALGORITHM_KITS[algorithm](labels)
        identities = [str(line.get("source-ref", line.get("source", ""))) for line in job.lines]
        job.crowd = crowd_for(human["WorkteamArn"], self.region)
        config = RunConfig(
            workers=int(human["NumberOfHumanWorkersPerDataObject"]),
            max_concurrent=int(human.get("MaxConcurrentTaskCount", 1000)),
            auto_labeling=algorithms is not None,
            initial_model=initial,
            # Not the job's name: gtchain puts a random incarnation in it, and the seed must fix the outcome.
            seed=stable_seed(str(self.seed), str(job.ordinal)),
            time_limit=float(human["TaskTimeLimitInSeconds"]),
            availability=float(human["TaskAvailabilityLifetimeInSeconds"]),
            crowd=job.crowd,
        )
        job.run = ActiveLearningRun(kit, identities, config)
        job.crowd = job.run.crowd
        job.steps = job.run.iterations()
        job.outcome = [None] * len(job.lines)
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

    def _load_model(self, arn: str, task: JobTask) -> Classifier | Detector | Segmenter:
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
        try:
            iteration = next(job.steps, None)
        except ProbeFailedError as failure:
            self._finish(job, "Failed", str(failure))
            return
        if iteration is None:
            self._complete(job)
            return
        job.started = self.clock.now()
        job.pending = self.timers.after(
            self._machine_time(iteration) + timedelta(seconds=iteration.human_seconds),
            f"{job.name}: iteration {iteration.number}",
            lambda: self._commit(job, iteration),
        )

    @staticmethod
    def _machine_time(iteration: Iteration) -> timedelta:
        """Emulated time an iteration spends training and running inference before its tasks are posted (the
        workers' part is the batch's own: until its last answer, or until its tasks expired)."""
        if iteration.training is None:
            return timedelta(0)
        return TRAINING + timedelta(seconds=iteration.training.samples * SECONDS_PER_TRAINING_SAMPLE) + INFERENCE

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
        assert job.task is not None and job.started is not None
        task = job.task
        now = self.clock.now()
        posted = job.started + self._machine_time(iteration)
        stamp = file_stamp(now)
        number = iteration.number
        if iteration.training is not None and iteration.model is not None:
            self._write_training(job, iteration, now)
        if iteration.machine is not None and len(iteration.machine.index):
            lines = []
            folder = f"activelearning/auto-annotation/{number}/inference-output"
            for row, index in enumerate(iteration.machine.index):
                entry = self._entry(job, iteration.machine.shown[row], int(index), False, now, folder)
                lines.append(f"{index} {dumps(entry)}")
                job.outcome[index] = entry
            job.machine += len(lines)
            job.output.put(f"{folder}/auto_annotator_output.txt", ("\n".join(lines) + "\n").encode())
        if iteration.human is not None and len(iteration.human.index):
            human = iteration.human
            requests, responses = [], []
            for row, index in enumerate(human.index):
                object_id = str(index)
                submitted = self._worker_answers(job, human.answers[row], human.assignments, row, int(index), posted)
                last = max(posted + timedelta(seconds=float(s)) for s in human.assignments.submitted[row])
                job.output.put(
                    f"annotations/worker-response/iteration-{number}/{object_id}/{file_stamp(last)}.json",
                    dumps({"answers": submitted}).encode(),
                )
                annotations = [
                    {"workerId": a["workerId"], "annotationData": {"content": dumps(a["answerContent"])}}
                    for a in submitted
                ]
                requests.append(
                    {
                        "datasetObjectId": object_id,
                        "dataObject": self._data_object(job, index),
                        "annotations": annotations,
                    }
                )
                entry = self._entry(
                    job, human.shown[row], int(index), True, now, "annotations/consolidated-annotation/output"
                )
                responses.append({"datasetObjectId": object_id, "consolidatedAnnotation": {"content": entry}})
                job.outcome[index] = entry
            job.human += len(human.index)
            consolidated = "annotations/consolidated-annotation"
            job.output.put(
                f"{consolidated}/consolidation-request/iteration-{number}/{stamp}.json", dumps(requests).encode()
            )
            job.output.put(
                f"{consolidated}/consolidation-response/iteration-{number}/{stamp}.json", dumps(responses).encode()
            )
        if iteration.failed is not None:
            for index, retries in zip(iteration.failed.index, iteration.failed.retries, strict=True):
                job.outcome[index] = task.failure(int(retries))
            job.failed += len(iteration.failed.index)
        job.output.put(f"manifests/intermediate/{number}/output.manifest", self._manifest(job))

    def _entry(self, job: _Job, shown: Any, index: int, human: bool, now: datetime, folder: str) -> dict[str, Any]:
        """An object's label attribute and metadata; a semantic segmentation label's mask goes to S3 first, as
        <datasetObjectId>_<creation date>.png (the name a real job gives it:
        annotations/consolidated-annotation/output/0_2020-04-21T13:48:00.091190.png). Where Ground Truth puts
        an auto-labeled mask is not documented: here, beside auto_annotator_output.txt."""
        assert job.task is not None
        uri = None
        if isinstance(shown, MaskLabel):
            key = f"{folder}/{index}_{creation_date(now)}.png"
            job.output.put(key, job.task.mask_png(shown.mask))
            uri = job.output.uri(key)
        return job.task.entry(shown, human=human, created=now, size=self._size(job, index), mask_uri=uri)

    def _worker_answers(
        self, job: _Job, answers: list[Any], assignments: Any, row: int, index: int, posted: datetime
    ) -> list[dict[str, Any]]:
        """One object's worker-response entries, as the crowd element submits them: the times the worker
        accepted and submitted the task, the seconds spent, the worker's id, and workerMetadata only for a
        private workforce (https://docs.aws.amazon.com/sagemaker/latest/dg/sms-data-output.html, "Worker
        Metadata")."""
        assert job.task is not None and job.crowd is not None
        crowd = job.crowd
        size = self._size(job, index)
        entries = []
        for slot, answer in enumerate(answers):
            worker = int(assignments.workers[row, slot])
            accepted = posted + timedelta(seconds=float(assignments.accepted[row, slot]))
            spent = float(assignments.spent[row, slot])
            entry: dict[str, Any] = {
                "answerContent": job.task.answer(answer, size),
                "submissionTime": worker_time(accepted + timedelta(seconds=spent)),
                "acceptanceTime": worker_time(accepted),
                "timeSpentInSeconds": spent,
                "workerId": crowd.ids[worker],
            }
            if crowd.metadata[worker] is not None:
                entry["workerMetadata"] = crowd.metadata[worker]
            entries.append(entry)
        # In submission order, as a real worker-response file lists them.
        return sorted(entries, key=lambda e: str(e["submissionTime"]))

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

        features = PATCH_FEATURES if job.task.masks else FEATURE_DIM
        configuration = {
            "num_training_samples": str(training.samples), "epochs": str(training.epochs),
            "mini_batch_size": "64", "feature_dim": str(features),
            "num_classes": str(classes + 1 if job.task.masks else classes),
        }  # fmt: skip
        # As the built-in algorithms print it (Python 2 reprs: u'key': u'value').
        rendered = ", ".join(f"u'{k}': u'{v}'" for k, v in configuration.items())
        events = [line(start, f"Final configuration: {{{rendered}}}")]
        step = (TRAINING + timedelta(seconds=training.samples * SECONDS_PER_TRAINING_SAMPLE)) / max(training.epochs, 1)
        for epoch, value in enumerate(training.validation):
            moment = start + step * (epoch + 1)
            if job.task.boxes:
                events.append(
                    line(moment, f"#quality_metric: host=algo-1, epoch={epoch}, validation mAP <score>=({value:.6f})")
                )
            elif job.task.masks:
                # The semantic segmentation algorithm's two validation metrics, validation:mIOU and
                # validation:pixel_accuracy (https://docs.aws.amazon.com/sagemaker/latest/dg/semantic-segmentation-tuning.html),
                # in the object detection algorithm's "#quality_metric" line shape.
                accuracy = training.pixel_accuracy[epoch]
                for name, metric in (("mIOU", value), ("pixel_accuracy", accuracy)):
                    events.append(line(moment, f"#quality_metric: host=algo-1, epoch={epoch}, "
                                               f"validation {name} <score>=({metric:.6f})"))  # fmt: skip
            else:
                events.append(line(moment, f"Epoch[{epoch}] Validation-accuracy={value:.6f}"))
        logs = self.session.client("logs", region_name=self.region)
        if not logs.describe_log_groups(logGroupNamePrefix=TRAINING_LOG_GROUP)["logGroups"]:
            logs.create_log_group(logGroupName=TRAINING_LOG_GROUP)
        stream = f"{training_job}/algo-1-{int(start.timestamp())}"
        logs.create_log_stream(logGroupName=TRAINING_LOG_GROUP, logStreamName=stream)
        logs.put_log_events(logGroupName=TRAINING_LOG_GROUP, logStreamName=stream, logEvents=events)

    def _manifest(self, job: _Job) -> bytes:
        """One line per input line: the input plus its label, or plus its failure (and without a label
        attribute it may have carried in), or the input unchanged."""
        assert job.task is not None
        attribute = job.task.label_attribute
        lines = []
        for line, outcome in zip(job.lines, job.outcome, strict=True):
            if outcome is None:
                lines.append(dumps(line))
            elif attribute in outcome:
                lines.append(dumps({**line, **outcome}))
            else:
                lines.append(dumps({**{k: v for k, v in line.items() if k != attribute}, **outcome}))
        return ("\n".join(lines) + "\n").encode()

    def _write_output_manifest(self, job: _Job) -> None:
        job.output.put("manifests/output/output.manifest", self._manifest(job))

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
