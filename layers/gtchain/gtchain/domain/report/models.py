"""What the reporter writes: a job's summary.json and the chain's summary.json (schemas in README.md).

Money is a Decimal written as a string ("170.20"), rounded half-up to cents (averages to 4 places);
None (null) means unknown, never zero.
"""

from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

from gtchain.domain.events import AuditClassDetail
from gtchain.domain.forecast import RoundForecast

SCHEMA_VERSION = 1
FOUR_PLACES = Decimal("0.0001")


def fraction(part: int, whole: int) -> float | None:
    """part / whole to 4 places (half-up); None when whole is 0."""
    if whole == 0:
        return None
    return float((Decimal(part) / Decimal(whole)).quantize(FOUR_PLACES, rounding=ROUND_HALF_UP))


def average_usd(total: Decimal | None, count: int) -> Decimal | None:
    if total is None or count == 0:
        return None
    return (total / count).quantize(FOUR_PLACES, rounding=ROUND_HALF_UP)


class _Model(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore", frozen=True)

    def to_json(self) -> bytes:
        return (self.model_dump_json(by_alias=True, indent=2) + "\n").encode()


class Objects(_Model):
    """From LabelCounters: total = TotalLabeled + FailedNonRetryableError + Unlabeled."""

    total: int
    human: int
    machine: int
    failed: int
    unlabeled: int


class Detail(_Model):
    """Totals of the per-iteration detail read from the output files (compared with the counters)."""

    human: int
    machine: int
    human_boxes: int
    machine_boxes: int
    repeated_entries: int  # entries for an object already counted (kept out of the counts)
    in_both: int  # objects in the human and the machine output, counted as human


class Iteration(_Model):
    iteration: int
    human: int
    machine: int
    human_boxes: int
    machine_boxes: int
    human_usd: Decimal | None
    machine_usd: Decimal


class Cost(_Model):
    human_usd: Decimal | None
    machine_usd: Decimal
    total_usd: Decimal | None
    known_usd: Decimal  # the total, or only the fees when the worker price is unknown
    fee_per_object_usd: Decimal
    workers_per_object: int
    task_price_usd: Decimal | None
    task_price_source: str
    human_object_usd: Decimal | None  # fee + workers x task price
    average_per_object_usd: Decimal | None
    all_human_usd: Decimal | None
    savings_usd: Decimal | None


class TrainingCurve(_Model):
    iteration: int
    training_job_name: str
    samples: int | None
    metric: str | None
    values: list[float]


class JobSettings(_Model):
    """What the job ran with, from its round's chain.json snapshot (null for a job no chain started)."""

    task: str
    auto_labeling: bool
    max_concurrent_tasks: int


class ClassShare(_Model):
    """One class's labels by who made them: objects (classification) or boxes (bounding boxes)."""

    name: str
    human: int
    machine: int
    machine_fraction: float | None


# A class's row of an audit: the same in Audit Completed and in the reports.
AuditClass = AuditClassDetail


class AuditSummary(_Model):
    """An audit of a round's machine labels (gtchain.domain.audit): in the audit job's summary and in the audited
    round job's."""

    job_name: str  # the audit job
    audited_job: str
    kind: Literal["verification", "relabel"]
    sampled: int
    machine_labeled: int
    audited: int
    agreed: int
    accuracy: float | None  # agreed / audited
    lower: float | None  # the 95% Wilson interval
    upper: float | None
    min_accuracy: float | None
    below_bar: bool
    classes: list[AuditClass] = []  # classes with at least 10 audited objects


class JobSummary(_Model):
    schema_version: int = SCHEMA_VERSION
    generated_at: str
    job_name: str
    job_arn: str | None
    chain_id: str | None
    round: int | None
    role: Literal["round", "baseline", "audit"] | None
    status: str
    initial_model_arn: str | None
    final_model_arn: str | None
    objects: Objects
    machine_fraction: float | None
    detail: Detail
    iterations: list[Iteration]
    cost: Cost
    training_curves: list[TrainingCurve]
    warnings: list[str]
    # Added with the forecast (issue 17); defaults keep older summary.json files readable.
    settings: JobSettings | None = None
    eligibility: list[str] = []  # why auto-labeling could not run in this job, or was unlikely to pay
    class_unit: Literal["objects", "boxes"] | None = None  # what `classes` counts
    classes: list[ClassShare] = []
    audit: AuditSummary | None = None  # added with audits (issue 16): a round's audit, or the audit job's own


class _Costs(_Model):
    """The money columns shared by each job's line and the chain's totals."""

    machine_fraction: float | None
    human_usd: Decimal | None
    machine_usd: Decimal
    total_usd: Decimal | None
    known_usd: Decimal
    average_per_object_usd: Decimal | None
    all_human_usd: Decimal | None
    savings_usd: Decimal | None


class ChainJob(_Costs):
    """One round, baseline or audit in the chain summary, taken from its job summary."""

    round: int
    role: Literal["round", "baseline", "audit"]
    job_name: str
    status: str
    initial_model_arn: str | None
    final_model_arn: str | None
    objects: Objects
    warnings: int
    summary_uri: str
    report_uri: str
    task: str | None = None
    eligibility: list[str] = []


class Side(_Model):
    job_name: str
    machine_fraction: float | None
    total_usd: Decimal | None
    average_per_object_usd: Decimal | None


class Comparison(_Model):
    """A baseline (same objects, no model) beside the round it mirrors (with the carried model)."""

    round: int
    with_model: Side
    without_model: Side
    machine_fraction_gain: float | None  # with - without
    saved_usd: Decimal | None  # without.total - with.total


class Totals(_Costs):
    jobs: int
    objects: Objects


class CarriedModel(_Model):
    comparisons: int
    saved_usd: Decimal | None  # the sum of the comparisons' saved_usd; null if any is unknown or none ran


class ForecastCheck(_Model):
    """A job's forecast, as it stood before its round (recomputed from the rounds before it), against what it cost."""

    round: int
    role: Literal["round", "baseline"]
    job_name: str
    worst_case_usd: Decimal
    floor_usd: Decimal
    expected_usd: Decimal | None  # none for the chain's first round: no history yet
    expected_low_usd: Decimal | None
    expected_high_usd: Decimal | None
    basis: str | None
    actual_usd: Decimal  # the total, or the fees when the task price is unknown
    within_band: bool | None


class BaselineValue(_Model):
    """What the baselines cost against what they measured."""

    baselines: int
    cost_usd: Decimal | None  # every baseline's cost (null if a task price is unknown)
    measured_saved_usd: Decimal | None  # what the carried model saved in the compared rounds
    net_usd: Decimal | None  # measured_saved - cost: negative while the measurement costs more than it found
    saved_per_object_usd: Decimal | None  # measured_saved / the compared rounds' objects
    uncompared_rounds: int  # rounds with a carried model and no baseline
    uncompared_objects: int
    estimated_saved_usd: Decimal | None  # saved_per_object x uncompared_objects: an estimate, not a measurement


class AuditRound(_Model):
    """One round's audit in the chain summary."""

    round: int
    job_name: str
    audited_job: str
    kind: Literal["verification", "relabel"]
    sampled: int
    machine_labeled: int
    audited: int
    agreed: int
    accuracy: float | None
    lower: float | None
    upper: float | None
    min_accuracy: float | None
    below_bar: bool
    classes: list[AuditClass] = []
    total_usd: Decimal | None  # what the audit job cost
    known_usd: Decimal
    summary_uri: str
    report_uri: str


class Audits(_Model):
    """Audits of machine labels: what they cost and the accuracy they found (agreed / checked over every audit,
    with its 95% Wilson interval; each round's in `rounds`)."""

    jobs: int = 0
    spent_usd: Decimal = Decimal("0.00")
    checked_objects: int = 0
    machine_label_accuracy: float | None = None
    agreed_objects: int = 0
    lower: float | None = None
    upper: float | None = None
    below_bar_rounds: list[int] = []
    rounds: list[AuditRound] = []


class ChainSummary(_Model):
    schema_version: int = SCHEMA_VERSION
    generated_at: str
    chain_id: str
    rounds: list[ChainJob]
    totals: Totals
    totals_by_role: dict[str, Totals]
    comparisons: list[Comparison]
    carried_model: CarriedModel
    warnings: list[str]
    # Added with the forecast (issue 17); defaults keep older summary.json files readable.
    headline: list[str] = []  # two or three sentences: spent, what the model saved net of baselines, the next round
    baselines: BaselineValue | None = None
    audits: Audits = Audits()
    forecast_vs_actual: list[ForecastCheck] = []
    next_round: RoundForecast | None = None
