"""Forecasts from what the service knows: the chain's records (status.json), or a spec, manifests and what the
chain did so far (the CLI's `gtchain forecast` and `gtchain submit`). The arithmetic is domain.forecast's; the
emulator's runs come from an `Emulator` the caller passes (local.forecast.emulate in the CLI: the deployed
functions do not carry the emulator, so status.json's expected cost comes from the chain's own history only).
"""

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from gtchain.domain.forecast import (
    ChainForecast,
    EmulatedJob,
    Observed,
    PlannedRound,
    RoundForecast,
    forecast_chain,
    forecast_round,
    plan_rounds,
    runs_baseline,
    schedule,
)
from gtchain.domain.names import Role
from gtchain.domain.records import ChainRecord, RoundRecord, RoundStatus
from gtchain.domain.spec import ChainSpec

if TYPE_CHECKING:  # only the reporter builds these models: the other handlers do not import them
    from gtchain.domain.report.models import JobSummary

DEFAULT_SEEDS = (1, 2, 3)
_KEPT_BASELINE = (RoundStatus.STARTING, RoundStatus.RUNNING, RoundStatus.COMPLETED)


class Emulator(Protocol):
    """Label the planned rounds (and baselines) once per seed; the same seeds give the same jobs."""

    def __call__(self, spec: ChainSpec, planned: Sequence[PlannedRound], seeds: Sequence[int]) -> list[EmulatedJob]: ...


# ---- history ---------------------------------------------------------------------------------------------------


def observed_from_rounds(rounds: Sequence[RoundRecord]) -> list[Observed]:
    """Every completed job of the chain's records (earlier attempts' completed jobs too), with its counters."""
    observed = []
    for record in rounds:
        auto = record.spec.auto_labeling if record.spec is not None else True
        for job in record.all_jobs():
            if job.status != RoundStatus.COMPLETED or job.counters is None:
                continue
            observed.append(
                Observed(record.number, job.role, bool(job.initial_model_arn) and auto and job.role == "round",
                         job.counters.human_labeled, job.counters.machine_labeled)
            )  # fmt: skip
    return observed


def observed_from_chain_summary(summary: Mapping[str, Any]) -> list[Observed]:
    """The completed jobs of a chain summary.json (reports/chain/summary.json), as written by the reporter."""
    observed = []
    for entry in summary.get("rounds", []):
        if entry.get("status") != "Completed":
            continue
        objects = entry.get("objects") or {}
        role: Role = "baseline" if entry.get("role") == "baseline" else "round"
        observed.append(Observed(int(entry["round"]), role, bool(entry.get("initialModelArn")) and role == "round",
                                 int(objects.get("human", 0)), int(objects.get("machine", 0))))  # fmt: skip
    return observed


def observed_from_summaries(summaries: Sequence["JobSummary"]) -> list[Observed]:
    """The completed jobs among a chain's job summaries (the chain report's inputs)."""
    observed = []
    for s in summaries:
        if s.status != "Completed" or s.round is None or s.role is None or s.role == "audit":
            continue  # an audit relabels a sample: it says nothing of what labeling a round costs
        with_model = s.role == "round" and s.initial_model_arn is not None
        observed.append(Observed(s.round, s.role, with_model, s.objects.human, s.objects.machine))
    return observed


# ---- status.json: the next round ---------------------------------------------------------------------------------


def _baseline_before(rounds: Sequence[RoundRecord], number: int) -> bool:
    return any(r.number != number and r.baseline is not None and r.baseline.status in _KEPT_BASELINE for r in rounds)


def next_round_plan(chain: ChainRecord, rounds: Sequence[RoundRecord]) -> PlannedRound | None:
    """The chain's next queued round as it would start: from the latest model (or the one the running round is
    training), with a baseline if chain.json's policy gives it one."""
    queued = [r for r in rounds if r.status == RoundStatus.QUEUED]
    if not queued:
        return None
    spec = chain.spec
    record = min(queued, key=lambda r: r.number)
    running = [
        r for r in rounds if r.status in (RoundStatus.STARTING, RoundStatus.RUNNING) and r.number < record.number
    ]
    training = any(
        schedule(r.spec or spec, r.objects, with_model=bool(r.job and r.job.initial_model_arn)).auto_labeling
        for r in running
    )
    with_model = spec.auto_labeling and (chain.latest_model_arn is not None or training)
    baseline = runs_baseline(spec.baseline, auto_labeling=spec.auto_labeling, with_model=with_model,
                             baseline_before=_baseline_before(rounds, record.number))  # fmt: skip
    return PlannedRound(record.number, record.part_objects, with_model, baseline, record.manifest_name,
                        f"{record.part}/{record.parts}")  # fmt: skip


def next_round_forecast(chain: ChainRecord, rounds: Sequence[RoundRecord]) -> RoundForecast | None:
    planned = next_round_plan(chain, rounds)
    if planned is None:
        return None
    return forecast_round(chain.spec, planned, history=observed_from_rounds(rounds))


class RoundReader(Protocol):
    """The two single-item reads the report function may make (its role allows dynamodb:GetItem only)."""

    def get_chain(self, chain_id: str) -> ChainRecord | None: ...
    def get_round(self, chain_id: str, number: int) -> RoundRecord | None: ...


def upcoming_round_forecast(
    store: RoundReader, chain_id: str, history: Sequence[Observed], reported: Sequence[int]
) -> RoundForecast | None:
    """For the chain report: the first round after the reported ones that has not completed (running, or queued
    next), forecast from the reported jobs. A started round keeps what it started with (model, baseline); a
    queued one starts from the chain's latest model, with a baseline as chain.json's policy decides."""
    chain = store.get_chain(chain_id)
    if chain is None:
        return None
    baseline_before = any(o.role == "baseline" for o in history)
    for number in range(max(reported, default=0) + 1, chain.next_round):
        record = store.get_round(chain_id, number)
        if record is None or record.status == RoundStatus.COMPLETED:
            baseline_before = baseline_before or bool(record and record.baseline)
            continue
        spec = record.spec or chain.spec
        if record.status in (RoundStatus.STARTING, RoundStatus.RUNNING) and record.job is not None:
            started = bool(record.job.initial_model_arn) and spec.auto_labeling
            planned = PlannedRound(number, record.objects, started, record.baseline is not None, record.manifest_name,
                                   f"{record.part}/{record.parts}")  # fmt: skip
        else:
            with_model = spec.auto_labeling and chain.latest_model_arn is not None
            baseline = runs_baseline(spec.baseline, auto_labeling=spec.auto_labeling, with_model=with_model,
                                     baseline_before=baseline_before)  # fmt: skip
            planned = PlannedRound(number, record.part_objects, with_model, baseline, record.manifest_name,
                                   f"{record.part}/{record.parts}")  # fmt: skip
        return forecast_round(spec, planned, history=history)
    return None


# ---- the CLI: before a submission --------------------------------------------------------------------------------


def forecast_submission(
    spec: ChainSpec,
    manifests: Sequence[tuple[str, Sequence[int]]],
    *,
    status: Mapping[str, Any] | None = None,
    chain_summary: Mapping[str, Any] | None = None,
    emulate: Emulator | None = None,
    seeds: Sequence[int] = DEFAULT_SEEDS,
) -> ChainForecast:
    """Every round the manifests will become (`manifests`: each manifest's name and its round part sizes, as
    domain.manifest.split_sizes cuts them), per round and in total, with the budget check.

    `status` (the chain's status.json) and `chain_summary` (reports/chain/summary.json) say what the chain did so
    far: where round numbers continue, whether a model is carried, what is spent, and the completed jobs the
    expected cost is learned from. Without completed jobs, `emulate` (local.forecast.emulate) runs the emulator
    over `seeds` for a band labelled as the emulator's; without it there is no expected cost."""
    status = status or {}
    numbers = [n for m in status.get("manifests", []) for n in m.get("rounds", [])]
    history = observed_from_chain_summary(chain_summary) if chain_summary else []
    baseline_before = any(o.role == "baseline" for o in history) or bool(status.get("runningBaselines"))
    running = status.get("running") or {}
    baseline_before = baseline_before or bool((running.get("baseline") or {}).get("name"))
    planned = plan_rounds(
        spec, manifests, first_number=max(numbers, default=0) + 1,
        model_at_start=bool(status.get("latestModelArn") or spec.initial_model_arn), baseline_before=baseline_before,
    )  # fmt: skip
    emulated = emulate(spec, planned, seeds) if emulate is not None and not history and planned else []
    spent = Decimal(str(status.get("spentUsd") or "0"))
    return forecast_chain(spec, planned, history=history, emulated=emulated, seeds=seeds, spent_usd=spent)
