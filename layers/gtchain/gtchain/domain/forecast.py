"""What a round will cost, before it starts: the worst case, the floor Ground Truth's schedule imposes, and an
expected cost with a band. Pure: every number comes from the arguments (the emulator's runs included, which
service.forecast and local.forecast produce).

Ground Truth's automated data labeling, from the developer guide
(https://docs.aws.amazon.com/sagemaker/latest/dg/sms-automated-labeling.html):

- it runs only for the built-in task types that have an algorithm (bounding box, single-label image and text
  classification, semantic segmentation) and only on jobs of at least 1,250 objects ("The minimum number of
  objects allowed for automated data labeling is 1,250, but we strongly suggest providing a minimum of 5,000");
- it first sends a random sample of the objects to humans; their labels make the training set and the
  validation set, which is 20% of the objects below 5,000 objects and 10% above ("If there are fewer than
  5,000 objects to label, the validation set size is 20% of the whole dataset. If there are more than 5,000
  objects in your input dataset, the validation set size is 10%");
- then each iteration trains, auto-labels what clears the confidence threshold found on the validation set,
  and sends up to MaxConcurrentTaskCount of the rest to humans.

AWS's example notebooks (object_detection_tutorial, and the seed notebook this project automates) show the
sample's shape: a probe of 10 objects, then a training batch of MaxConcurrentTaskCount - 10, then the validation
set. A job started from a model (InitialActiveLearningModelArn) skips the training batch. So whatever the model
does, the probe, the first training batch and the validation set go to humans: that is the floor. The floor
assumes every other object is machine-labeled, which no real job reaches; it bounds the cost from below.

Amounts follow JobPricing (domain.pricing), the chain's one cost function: Decimal, rounded half-up to cents.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from statistics import median
from typing import Literal

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

from gtchain.domain.labeling_request import pricing_for
from gtchain.domain.manifest import AUTO_LABELING_MIN_OBJECTS
from gtchain.domain.names import Role
from gtchain.domain.pricing import JobPricing, to_cents
from gtchain.domain.spec import ChainSpec

AUTO_LABELING_DOC = "https://docs.aws.amazon.com/sagemaker/latest/dg/sms-automated-labeling.html"
PROBE_OBJECTS = 10  # the first sample sent to humans, in AWS's example notebooks
LARGE_DATASET = 5_000  # from here on the validation set is 10% of the objects, not 20%
# Below this share of a round left to machines by the schedule's floor, auto-labeling is unlikely to pay: the
# best case already sends three quarters of the round to humans, and real jobs stay well under the floor.
UNLIKELY_TO_PAY_SHARE = Fraction(1, 4)
FOUR_PLACES = Decimal("0.0001")

BaselinePolicy = bool | Literal["once"]
Source = Literal["history", "emulator"]


# ---- Ground Truth's schedule ---------------------------------------------------------------------------------


def validation_objects(objects: int) -> int:
    """The validation set: 20% of the objects below 5,000, 10% from 5,000 on. At exactly 5,000 the guide says
    neither; 10% is taken, so the floor stays a lower bound."""
    return math.ceil(objects * (Fraction(1, 5) if objects < LARGE_DATASET else Fraction(1, 10)))


@dataclass(frozen=True)
class Schedule:
    """What Ground Truth's schedule sends to humans before any object can be machine-labeled."""

    objects: int
    auto_labeling: bool  # whether the job can auto-label at all
    probe: int
    training: int  # the first training batch (none when the job starts from a model)
    validation: int
    reason: str | None  # why it cannot auto-label

    @property
    def human_floor(self) -> int:
        return self.probe + self.training + self.validation if self.auto_labeling else self.objects

    @property
    def machine_ceiling(self) -> int:
        return self.objects - self.human_floor

    @property
    def machine_ceiling_share(self) -> Fraction:
        return Fraction(self.machine_ceiling, self.objects) if self.objects else Fraction(0)


@dataclass(frozen=True)
class Terms:
    """What a forecast needs from chain.json (or, in a report, from a job's summary): prices and the schedule's
    settings."""

    task: str
    pricing: JobPricing
    auto_labeling: bool
    max_concurrent_tasks: int
    has_algorithm: bool = True  # all four task types gtchain supports have a built-in algorithm

    @classmethod
    def of(cls, spec: "ChainSpec | Terms") -> "Terms":
        if isinstance(spec, Terms):
            return spec
        return cls(spec.task.value, pricing_for(spec), spec.auto_labeling, spec.max_concurrent_tasks,
                   bool(spec.profile.algorithm))  # fmt: skip


def schedule(spec: "ChainSpec | Terms", objects: int, *, with_model: bool) -> Schedule:
    terms = Terms.of(spec)
    if not terms.auto_labeling:
        return Schedule(objects, False, 0, 0, 0, "autoLabeling is off in chain.json")
    if not terms.has_algorithm:
        return Schedule(objects, False, 0, 0, 0, f"{terms.task} has no built-in auto-labeling algorithm")
    if objects < AUTO_LABELING_MIN_OBJECTS:
        reason = f"Ground Truth auto-labels only jobs of at least {AUTO_LABELING_MIN_OBJECTS:,} objects"
        return Schedule(objects, False, 0, 0, 0, reason)
    validation = validation_objects(objects)
    probe = min(PROBE_OBJECTS, objects)
    batch = terms.max_concurrent_tasks - PROBE_OBJECTS
    training = 0 if with_model else max(0, min(batch, objects - probe - validation))
    return Schedule(objects, True, probe, training, validation, None)


def eligibility(spec: "ChainSpec | Terms", round_number: int, objects: int, *, with_model: bool) -> list[str]:
    """Why auto-labeling cannot run in this round, or is unlikely to pay: said before the round starts. Nothing
    when chain.json turned auto-labeling off (humans label everything, as asked)."""
    if not Terms.of(spec).auto_labeling or objects == 0:
        return []
    plan = schedule(spec, objects, with_model=with_model)
    if not plan.auto_labeling:
        return [
            f"round {round_number} has {objects:,} objects: {plan.reason} ({AUTO_LABELING_DOC}), so every object "
            "goes to humans and none is machine-labeled; put more objects in each round (fewer rounds) to use it"
        ]
    share = plan.machine_ceiling_share
    if share < UNLIKELY_TO_PAY_SHARE:
        parts = [f"a probe of {plan.probe}"]
        if plan.training:
            parts.append(f"a training batch of {plan.training:,} (maxConcurrentTasks - {PROBE_OBJECTS})")
        parts.append(f"a validation set of {plan.validation:,}")
        return [
            f"round {round_number}: auto-labeling is unlikely to pay. Ground Truth's schedule sends "
            f"{', '.join(parts)} to humans before any object can be machine-labeled ({AUTO_LABELING_DOC}), "
            f"leaving at most {plan.machine_ceiling:,} of {objects:,} objects ({_pct(share)}) to machines, "
            f"under the {_pct(UNLIKELY_TO_PAY_SHARE)} below which gtchain warns; lower maxConcurrentTasks or put "
            "more objects in each round"
        ]
    return []


def _pct(share: Fraction) -> str:
    return f"{float(share) * 100:.1f}%"


# ---- the baseline policy ---------------------------------------------------------------------------------------


def runs_baseline(policy: BaselinePolicy, *, auto_labeling: bool, with_model: bool, baseline_before: bool) -> bool:
    """Whether a round gets a baseline (the same objects labeled without the carried model).

    true: every round that starts with a model; "once": only the first such round, or the next one if that
    baseline failed or was stopped (baseline_before counts only baselines that are live or completed); false:
    none. Without auto-labeling there is no model to measure."""
    if not (auto_labeling and with_model) or policy is False:
        return False
    return policy is True or not baseline_before


# ---- the rounds a forecast covers ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlannedRound:
    number: int
    objects: int
    with_model: bool  # the round's job starts from a model (carried, or chain.json's initialModelArn)
    baseline: bool
    manifest: str | None = None
    part: str | None = None  # "1/2"


def plan_rounds(
    spec: ChainSpec,
    manifests: Sequence[tuple[str, Sequence[int]]],
    *,
    first_number: int = 1,
    model_at_start: bool | None = None,
    baseline_before: bool = False,
) -> list[PlannedRound]:
    """The rounds the manifests' parts become, in order: whether each starts from a model (the chain's latest, or
    one an earlier round trains: only a round Ground Truth can auto-label trains one) and gets a baseline."""
    has_model = bool(spec.initial_model_arn) if model_at_start is None else model_at_start
    planned, number, baselined = [], first_number, baseline_before
    for name, sizes in manifests:
        for index, size in enumerate(sizes, start=1):
            with_model = spec.auto_labeling and has_model
            baseline = runs_baseline(spec.baseline, auto_labeling=spec.auto_labeling, with_model=with_model,
                                     baseline_before=baselined)  # fmt: skip
            planned.append(PlannedRound(number, size, with_model, baseline, name, f"{index}/{len(sizes)}"))
            baselined = baselined or baseline
            has_model = has_model or schedule(spec, size, with_model=with_model).auto_labeling
            number += 1
    return planned


# ---- what the forecast learns from -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Observed:
    """A completed job of this chain: its round, whether it started from a model, and its LabelCounters."""

    round: int
    role: Role
    with_model: bool
    human: int
    machine: int

    @property
    def fraction(self) -> Fraction:
        labeled = self.human + self.machine
        return Fraction(self.machine, labeled) if labeled else Fraction(0)


@dataclass(frozen=True)
class EmulatedJob:
    """One planned job as the emulator labeled it with one seed."""

    seed: int
    round: int
    role: Role
    objects: int
    human: int
    machine: int
    failed: int = 0


# ---- what it says (status.json, summary.json and the CLI show these) ---------------------------------------


class _Model(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore", frozen=True)


class Expected(_Model):
    """The expected cost of one job, and its band (low: the most machine-labeled; high: the least)."""

    source: Source
    basis: str  # in words: which rounds, or how many emulator seeds
    machine_fraction: float
    machine_fraction_low: float
    machine_fraction_high: float
    human: int
    machine: int
    usd: Decimal
    low_usd: Decimal
    high_usd: Decimal
    samples: int  # observed rounds, or emulator seeds


class JobForecast(_Model):
    role: Role
    with_model: bool
    objects: int
    worst_case_usd: Decimal  # every object labeled by humans
    floor_usd: Decimal  # the schedule's floor: everything but the probe, training batch and validation set machine
    floor_human: int
    machine_ceiling: int
    expected: Expected | None


class RoundForecast(_Model):
    round: int
    manifest: str | None
    part: str | None
    objects: int
    with_model: bool
    baseline: bool
    jobs: list[JobForecast]  # the round's own job, then its baseline
    worst_case_usd: Decimal
    floor_usd: Decimal
    expected_usd: Decimal | None
    expected_low_usd: Decimal | None
    expected_high_usd: Decimal | None
    warnings: list[str]  # eligibility: why auto-labeling cannot run, or is unlikely to pay


class ChainForecast(_Model):
    rounds: list[RoundForecast]
    worst_case_usd: Decimal
    floor_usd: Decimal
    expected_usd: Decimal | None
    expected_low_usd: Decimal | None
    expected_high_usd: Decimal | None
    source: Source | None  # where the expected cost comes from; None: no history and no emulator run
    basis: str
    fees_only: bool  # the task price is unknown (a vendor without pricePerTaskUsd): amounts are fees only
    budget_usd: Decimal | None
    spent_usd: Decimal
    pauses_before_at_worst: int | None  # the first round the budget check would stop if every round cost its worst
    pauses_before_expected: int | None  # the same, with the rounds before it at their expected (high) cost
    notes: list[str]


# ---- the forecast -------------------------------------------------------------------------------------------------


def _amount(pricing: JobPricing, human: int, machine: int) -> Decimal:
    cost = pricing.cost(human, machine)
    return to_cents(cost.known_usd)  # the total, or the fees when the task price is unknown


def _four(value: Fraction) -> float:
    return float((Decimal(value.numerator) / Decimal(value.denominator)).quantize(FOUR_PLACES, ROUND_HALF_UP))


def _machine_objects(objects: int, fraction: Fraction) -> int:
    """objects x fraction, rounded half-up: the machine-labeled objects an expected fraction means."""
    return int((Decimal(objects) * Decimal(fraction.numerator) / Decimal(fraction.denominator)).to_integral_value(
        ROUND_HALF_UP
    ))  # fmt: skip


def _trend(points: list[tuple[int, Fraction]], at: int) -> Fraction:
    """The least-squares line through (round, fraction), read at round `at`; the mean when all share a round."""
    xs = [Fraction(x) for x, _ in points]
    mean_x = sum(xs, Fraction(0)) / len(xs)
    mean_y = sum((y for _, y in points), Fraction(0)) / len(points)
    spread = sum(((x - mean_x) ** 2 for x in xs), Fraction(0))
    if spread == 0:
        return mean_y
    slope = sum(((x - mean_x) * (y - mean_y) for x, (_, y) in zip(xs, points, strict=True)), Fraction(0)) / spread
    return mean_y + slope * (at - mean_x)


def _rounds_named(observed: list[Observed]) -> str:
    numbers = sorted({o.round for o in observed})
    return ("round " if len(numbers) == 1 else "rounds ") + ", ".join(str(n) for n in numbers)


def _from_history(
    history: Sequence[Observed], round_number: int, with_model: bool
) -> tuple[Fraction, Fraction, Fraction, str, int] | None:
    """The expected machine-labeled fraction of a job, its band, and the basis in words."""
    usable = [o for o in history if o.human + o.machine > 0]
    same = [o for o in usable if o.with_model == with_model]
    kind = "with a carried model" if with_model else "without a model"
    if same and with_model and len(same) >= 2:
        point = _trend([(o.round, o.fraction) for o in same], round_number)
        basis = f"the trend of the machine-labeled share over {len(same)} completed jobs {kind} ({_rounds_named(same)})"
    elif same:
        point = sum((o.fraction for o in same), Fraction(0)) / len(same)
        what = "the machine-labeled share" if len(same) == 1 else f"the mean machine-labeled share of {len(same)} jobs"
        basis = f"{what} {kind} ({_rounds_named(same)})"
    elif usable:
        same = usable
        point = sum((o.fraction for o in usable), Fraction(0)) / len(usable)
        other = "without a model" if with_model else "with a carried model"
        basis = (f"no completed job {kind} yet: the mean machine-labeled share of jobs {other} "
                 f"({_rounds_named(usable)})")  # fmt: skip
    else:
        return None
    fractions = [o.fraction for o in same]
    return point, min(*fractions, point), max(*fractions, point), basis, len(same)


def _clamp(value: Fraction, ceiling: Fraction) -> Fraction:
    return max(Fraction(0), min(value, ceiling))


def _expected(
    pricing: JobPricing, plan: Schedule, fractions: tuple[Fraction, Fraction, Fraction], source: Source, basis: str,
    samples: int,
) -> Expected:  # fmt: skip
    """Costs from machine-labeled fractions (point, low, high), none above what the schedule leaves to machines."""
    ceiling = plan.machine_ceiling_share if plan.auto_labeling else Fraction(0)
    point, low, high = (_clamp(f, ceiling) for f in fractions)
    objects = plan.objects
    machine = _machine_objects(objects, point)
    machine_low, machine_high = _machine_objects(objects, low), _machine_objects(objects, high)
    return Expected(
        source=source, basis=basis, machine_fraction=_four(point), machine_fraction_low=_four(low),
        machine_fraction_high=_four(high), human=objects - machine, machine=machine,
        usd=_amount(pricing, objects - machine, machine),
        low_usd=_amount(pricing, objects - machine_high, machine_high),
        high_usd=_amount(pricing, objects - machine_low, machine_low), samples=samples,
    )  # fmt: skip


def _from_emulator(
    pricing: JobPricing, plan: Schedule, samples: list[EmulatedJob], seeds: Sequence[int]
) -> Expected | None:
    if not samples:
        return None
    shares = sorted(Fraction(s.machine, s.objects) if s.objects else Fraction(0) for s in samples)
    point = Fraction(median(shares))
    shown = ", ".join(str(s) for s in seeds) if len(seeds) <= 6 else f"{seeds[0]}-{seeds[-1]}"
    basis = (
        "the emulator (local/groundtruth, gtchain's model of Ground Truth, not AWS): the median and range of "
        f"{len(samples)} runs on {plan.objects:,} synthetic objects with this task and settings, seeds {shown}"
    )
    return _expected(pricing, plan, (point, shares[0], shares[-1]), "emulator", basis, len(samples))


def forecast_job(
    spec: "ChainSpec | Terms",
    planned: PlannedRound,
    role: Role,
    *,
    history: Sequence[Observed] = (),
    emulated: Sequence[EmulatedJob] = (),
    seeds: Sequence[int] = (),
) -> JobForecast:
    """One job of a planned round: a baseline is the same objects without the model."""
    terms = Terms.of(spec)
    pricing = terms.pricing
    with_model = planned.with_model and role == "round"
    plan = schedule(terms, planned.objects, with_model=with_model)
    expected = None
    if history:
        found = _from_history(history, planned.number, with_model)
        if found is not None:
            point, low, high, basis, count = found
            expected = _expected(pricing, plan, (point, low, high), "history", basis, count)
    elif emulated:
        samples = [e for e in emulated if e.round == planned.number and e.role == role]
        expected = _from_emulator(pricing, plan, samples, seeds)
    return JobForecast(
        role=role, with_model=with_model, objects=planned.objects,
        worst_case_usd=to_cents(pricing.worst_case_usd(planned.objects)),
        floor_usd=_amount(pricing, plan.human_floor, plan.machine_ceiling), floor_human=plan.human_floor,
        machine_ceiling=plan.machine_ceiling, expected=expected,
    )  # fmt: skip


def _sum_or_none(amounts: list[Decimal | None]) -> Decimal | None:
    return None if any(a is None for a in amounts) else sum((a for a in amounts if a is not None), Decimal(0))


def forecast_round(
    spec: "ChainSpec | Terms",
    planned: PlannedRound,
    *,
    history: Sequence[Observed] = (),
    emulated: Sequence[EmulatedJob] = (),
    seeds: Sequence[int] = (),
) -> RoundForecast:
    roles: list[Role] = ["round", "baseline"] if planned.baseline else ["round"]
    jobs = [forecast_job(spec, planned, r, history=history, emulated=emulated, seeds=seeds) for r in roles]
    return RoundForecast(
        round=planned.number, manifest=planned.manifest, part=planned.part, objects=planned.objects,
        with_model=planned.with_model, baseline=planned.baseline, jobs=jobs,
        worst_case_usd=sum((j.worst_case_usd for j in jobs), Decimal(0)),
        floor_usd=sum((j.floor_usd for j in jobs), Decimal(0)),
        expected_usd=_sum_or_none([j.expected.usd if j.expected else None for j in jobs]),
        expected_low_usd=_sum_or_none([j.expected.low_usd if j.expected else None for j in jobs]),
        expected_high_usd=_sum_or_none([j.expected.high_usd if j.expected else None for j in jobs]),
        warnings=eligibility(spec, planned.number, planned.objects, with_model=planned.with_model),
    )  # fmt: skip


def forecast_chain(
    spec: ChainSpec,
    planned: Sequence[PlannedRound],
    *,
    history: Sequence[Observed] = (),
    emulated: Sequence[EmulatedJob] = (),
    seeds: Sequence[int] = (),
    spent_usd: Decimal = Decimal(0),
) -> ChainForecast:
    """Every planned round, the totals, and the budget check. The expected cost comes from this chain's completed
    jobs when there are any (history), else from the emulator's runs when given, else there is none."""
    rounds = [forecast_round(spec, p, history=history, emulated=emulated, seeds=seeds) for p in planned]
    source: Source | None = "history" if history else ("emulator" if emulated else None)
    notes = []
    if source is None:
        basis = "no completed round and no emulator run: only the worst case and the floor are known"
    elif source == "history":
        basis = f"this chain's {len(history)} completed job{'s' if len(history) != 1 else ''}"
    else:
        basis = f"the emulator, {len(seeds)} seed{'s' if len(seeds) != 1 else ''} (emulator-derived, not a measurement)"
        if spec.initial_model_arn and planned and planned[0].with_model:
            notes.append("the emulator cannot load initialModelArn's model: the first round is emulated from a cold "
                         "start, so its expected cost is high")  # fmt: skip
    fees_only = spec.task_price_usd() is None
    if fees_only:
        notes.append("the workforce's task price is unknown (a vendor without pricePerTaskUsd): amounts are Ground "
                     "Truth's fees only")  # fmt: skip
    budget = spec.budget_usd
    at_worst = expected = None
    committed_worst = committed_expected = spent_usd
    for r in rounds:
        if budget is not None and at_worst is None and committed_worst + r.worst_case_usd > budget:
            at_worst = r.round
        if budget is not None and expected is None and committed_expected + r.worst_case_usd > budget:
            expected = r.round
        committed_worst += r.worst_case_usd
        committed_expected += r.expected_high_usd if r.expected_high_usd is not None else r.worst_case_usd
    return ChainForecast(
        rounds=rounds, worst_case_usd=sum((r.worst_case_usd for r in rounds), Decimal(0)),
        floor_usd=sum((r.floor_usd for r in rounds), Decimal(0)),
        expected_usd=_sum_or_none([r.expected_usd for r in rounds]) if rounds else None,
        expected_low_usd=_sum_or_none([r.expected_low_usd for r in rounds]) if rounds else None,
        expected_high_usd=_sum_or_none([r.expected_high_usd for r in rounds]) if rounds else None,
        source=source, basis=basis, fees_only=fees_only, budget_usd=budget, spent_usd=to_cents(spent_usd),
        pauses_before_at_worst=at_worst, pauses_before_expected=expected, notes=notes,
    )  # fmt: skip
