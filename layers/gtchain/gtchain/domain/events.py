"""Events: the ones gtchain consumes (parser models) and the ones it publishes (source "gtchain")."""

from typing import Annotated, Any, Literal

from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

SOURCE = "gtchain"

ROUND_STARTED = "Round Started"
ROUND_COMPLETED = "Round Completed"
ROUND_FAILED = "Round Failed"
CHAIN_PAUSED = "Chain Paused"
CHAIN_RESUMED = "Chain Resumed"
MANIFEST_REJECTED = "Manifest Rejected"
MANIFEST_COMPLETED = "Manifest Completed"
REPORT_READY = "Report Ready"
EXPORT_READY = "Export Ready"
AUDIT_COMPLETED = "Audit Completed"

JOB_STATE_CHANGE = "SageMaker Ground Truth Labeling Job State Change"


class LabelingJobStateDetail(BaseModel):
    labeling_job_status: str = Field(alias="LabelingJobStatus")


class LabelingJobStateChangeEvent(EventBridgeModel):
    """AWS's event: the detail holds only the status; the job is named by its ARN in resources[0]."""

    detail_type: Literal["SageMaker Ground Truth Labeling Job State Change"] = Field(alias="detail-type")
    source: Literal["aws.sagemaker"]
    detail: LabelingJobStateDetail
    resources: list[str] = Field(min_length=1)


class RoundEventDetail(BaseModel):
    """The detail of Round Started, Round Completed and Round Failed: gtchain builds it with this model and the
    report function parses it with the same one."""

    model_config = ConfigDict(populate_by_name=True, extra="allow", alias_generator=to_camel)

    chain_id: str
    round: int
    role: Literal["round", "baseline", "audit"]
    job_name: str
    job_arn: str | None = None
    status: str
    objects: int | None = None
    skipped_objects: int | None = None
    manifest: str | None = None
    initial_model_arn: str | None = None
    label_counters: dict[str, int] | None = None
    final_model_arn: str | None = None
    cost_usd: str | None = None
    note: str | None = None
    reason: str | None = None
    # Round Started: why auto-labeling cannot run in this round, or is unlikely to pay (domain.forecast.eligibility)
    warnings: list[str] | None = None

    def to_detail(self) -> dict[str, Any]:
        """As published: the fields that were set, by their camelCase names."""
        return self.model_dump(by_alias=True, exclude_unset=True, mode="json")


class AuditClassDetail(BaseModel):
    model_config = ConfigDict(populate_by_name=True, alias_generator=to_camel)

    name: str
    audited: int
    agreed: int
    accuracy: float
    lower: float
    upper: float


class AuditCompletedDetail(BaseModel):
    """The detail of Audit Completed: an audit of a round's machine labels was scored (docs/s3-layout-and-events.md).
    accuracy = agreed / audited; lower and upper: its 95% Wilson interval; null when nothing was judged."""

    model_config = ConfigDict(populate_by_name=True, alias_generator=to_camel)

    chain_id: str
    round: int
    job_name: str  # the audit job
    audited_job: str  # the round's job whose machine labels were checked
    kind: Literal["verification", "relabel"]
    sampled: int  # objects sent to the audit
    machine_labeled: int  # the round's machine-labeled objects the sample was drawn from
    audited: int  # sampled objects a human judged
    agreed: int
    accuracy: float | None
    lower: float | None
    upper: float | None
    min_accuracy: float | None
    below_bar: bool
    classes: list[AuditClassDetail]  # classes with at least 10 audited objects

    def to_detail(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, mode="json")


class RoundCompletedEvent(EventBridgeModel):
    detail_type: Literal["Round Completed"] = Field(alias="detail-type")
    source: Literal["gtchain"]
    detail: RoundEventDetail


class ManifestCompletedDetail(BaseModel):
    """The detail of Manifest Completed: gtchain builds it with this model when a manifest's results are written,
    and the report function parses it with the same one to write the manifest's exports."""

    model_config = ConfigDict(populate_by_name=True, extra="allow", alias_generator=to_camel)

    chain_id: str
    manifest: str
    manifest_key: str
    version_id: str
    results_uri: str
    rounds: list[int]
    objects: int
    human: int
    machine: int
    skipped: int
    unlabeled: int
    failed: int
    cost_usd: str
    cost_complete: bool
    baseline_cost_usd: str

    def to_detail(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, mode="json")


class ManifestCompletedEvent(EventBridgeModel):
    detail_type: Literal["Manifest Completed"] = Field(alias="detail-type")
    source: Literal["gtchain"]
    detail: ManifestCompletedDetail


# What the report function is invoked with: a round's job to report, or a manifest whose labels to export.
ReportTrigger = Annotated[RoundCompletedEvent | ManifestCompletedEvent, Field(discriminator="detail_type")]


class _ExportModel(BaseModel):
    model_config = ConfigDict(populate_by_name=True, alias_generator=to_camel)


class FormatWritten(_ExportModel):
    """One format's folder of an export (docs/exports.md)."""

    format: str
    uri: str  # the folder: s3://<bucket>/chains/<id>/exports/<manifest-name or chain>/<format>/
    main_uri: str  # annotations.json, data.yaml, ImageSets/Main/default.txt, labels.csv or labels.jsonl
    skipped_uri: str  # skipped.jsonl: the objects left out, with the reason
    files: int
    objects: int  # images (or rows) written
    annotations: int  # boxes written (bounding boxes)
    skipped: int


class ExportWritten(_ExportModel):
    uri: str  # the export's folder
    objects: int  # labeled objects exported
    skipped: int  # objects left out (failed, unlabeled, unreadable)
    formats: list[FormatWritten]


class ExportReadyDetail(_ExportModel):
    """The detail of Export Ready: published after a manifest's results are written, when chain.json asks for
    exports; names the manifest's export and the chain's export of every manifest so far."""

    chain_id: str
    manifest: str
    results_uri: str
    formats: list[str]
    manifest_export: ExportWritten
    chain_export: ExportWritten

    def to_detail(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, mode="json")
