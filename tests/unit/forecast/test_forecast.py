"""The forecast's bounds, its expected cost from a chain's history, eligibility warnings and the baseline policy,
each against numbers computed by hand (domain.forecast; the schedule is the developer guide's automated data
labeling page and AWS's example notebooks)."""

from decimal import Decimal
from typing import Any

import pytest

from gtchain.domain.forecast import (
    EmulatedJob,
    Observed,
    PlannedRound,
    eligibility,
    forecast_chain,
    forecast_round,
    plan_rounds,
    runs_baseline,
    schedule,
    validation_objects,
)
from gtchain.domain.spec import ChainSpec

INSTRUCTIONS = {"title": "t", "description": "d", "keywords": ["k"]}


def spec(task: str = "bounding-box", **fields: Any) -> ChainSpec:
    labels = ["Bird"] if task in ("bounding-box", "semantic-segmentation") else ["a", "b", "c"]
    document: dict[str, Any] = {
        "task": task,
        "labels": labels,
        "labelAttributeName": "category-ref" if task == "semantic-segmentation" else "category",
        "instructions": INSTRUCTIONS,
        "workforce": {"type": "public", "pricePerTaskUsd": 0.036,
                      "contentClassifiers": ["FreeOfPersonallyIdentifiableInformation"]},
        "workersPerObject": 3,
        "maxConcurrentTasks": 200,
    }  # fmt: skip
    document.update(fields)
    return ChainSpec.model_validate(document)


def usd(value: str) -> Decimal:
    return Decimal(value)


# ---- the schedule's floor and the worst case, per task type -------------------------------------------------------


def test_the_validation_set_is_a_fifth_below_5000_objects_and_a_tenth_from_there() -> None:
    assert [validation_objects(n) for n in (1250, 1251, 4999, 5000, 6000)] == [250, 251, 1000, 500, 600]


def test_bounding_box_cold_start_floor_is_probe_training_batch_and_validation_set() -> None:
    # Given the seed notebook's job: 1,250 objects, 200 concurrent tasks, 3 workers at $0.036, fee $0.08
    planned = PlannedRound(1, 1250, with_model=False, baseline=False)
    # When it is forecast
    job = forecast_round(spec(), planned).jobs[0]
    # Then the worst case is every object human: 1,250 x (0.08 + 3 x 0.036) = $235.00
    assert job.worst_case_usd == usd("235.00")
    # And the floor sends 10 + 190 + 250 = 450 to humans: 450 x 0.188 + 800 x 0.08 = 84.60 + 64.00
    assert (job.floor_human, job.machine_ceiling, job.floor_usd) == (450, 800, usd("148.60"))
    assert job.expected is None  # no history, no emulator run


def test_a_round_that_starts_from_a_model_skips_the_training_batch() -> None:
    job = forecast_round(spec(), PlannedRound(2, 1250, with_model=True, baseline=True)).jobs
    # 10 + 250 = 260 human: 48.88 + 990 x 0.08 = 128.08; its baseline starts cold: $148.60
    assert (job[0].floor_human, job[0].floor_usd) == (260, usd("128.08"))
    assert (job[1].role, job[1].with_model, job[1].floor_usd) == ("baseline", False, usd("148.60"))


def test_image_classification_floor_with_the_default_concurrency() -> None:
    # Given 2,500 images, 1 worker at $0.012 (a human label costs $0.092), 1,000 concurrent tasks
    chain = spec("image-classification", workersPerObject=1, maxConcurrentTasks=1000,
                 workforce={"type": "public", "pricePerTaskUsd": 0.012,
                            "contentClassifiers": ["FreeOfPersonallyIdentifiableInformation"]})  # fmt: skip
    job = forecast_round(chain, PlannedRound(1, 2500, with_model=False, baseline=False)).jobs[0]
    # Then the floor is 10 + 990 + 500 = 1,500 human: 1,500 x 0.092 + 1,000 x 0.08 = 138.00 + 80.00
    assert (job.floor_human, job.floor_usd, job.worst_case_usd) == (1500, usd("218.00"), usd("230.00"))


def test_text_classification_under_1250_objects_is_all_human_at_best() -> None:
    # Given 1,249 messages, 3 workers at $0.024 (a human label costs $0.152)
    chain = spec(
        "text-classification",
        workforce={
            "type": "public",
            "pricePerTaskUsd": 0.024,
            "contentClassifiers": ["FreeOfPersonallyIdentifiableInformation"],
        },
    )
    job = forecast_round(chain, PlannedRound(1, 1249, with_model=False, baseline=False)).jobs[0]
    # Then the floor is the worst case: 1,249 x 0.152 = 189.848 -> $189.85
    assert job.floor_usd == job.worst_case_usd == usd("189.85")
    assert job.machine_ceiling == 0


def test_semantic_segmentation_floor_above_5000_objects_uses_a_tenth_for_validation() -> None:
    # Given 6,000 images, 1 worker at $0.84 (a human label costs $0.92), 1,000 concurrent tasks
    chain = spec("semantic-segmentation", workersPerObject=1, maxConcurrentTasks=1000,
                 workforce={"type": "public", "pricePerTaskUsd": 0.84,
                            "contentClassifiers": ["FreeOfPersonallyIdentifiableInformation"]})  # fmt: skip
    job = forecast_round(chain, PlannedRound(1, 6000, with_model=False, baseline=False)).jobs[0]
    # Then 10 + 990 + 600 = 1,600 human: 1,600 x 0.92 + 4,400 x 0.08 = 1,472.00 + 352.00
    assert (job.floor_human, job.floor_usd, job.worst_case_usd) == (1600, usd("1824.00"), usd("5520.00"))


def test_without_auto_labeling_the_floor_is_the_worst_case_and_nothing_is_warned() -> None:
    chain = spec(autoLabeling=False)
    job = forecast_round(chain, PlannedRound(1, 5000, with_model=False, baseline=False)).jobs[0]
    assert job.floor_usd == job.worst_case_usd == usd("940.00")
    assert eligibility(chain, 1, 5000, with_model=False) == []


def test_an_unknown_task_price_forecasts_the_fees_only_and_says_so() -> None:
    chain = spec(workforce={"type": "vendor", "workteamArn": "arn:aws:sagemaker:us-east-1:123456789012:workteam/v/x"})
    forecast = forecast_chain(chain, [PlannedRound(1, 1250, with_model=False, baseline=False)])
    assert forecast.fees_only and forecast.worst_case_usd == usd("100.00")  # 1,250 x $0.08
    assert any("task price is unknown" in note for note in forecast.notes)


# ---- eligibility ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("objects", [500, 1249])
def test_a_round_under_1250_objects_is_warned_that_nothing_will_be_machine_labeled(objects: int) -> None:
    warnings = eligibility(spec(), 3, objects, with_model=True)
    assert len(warnings) == 1
    assert f"round 3 has {objects:,} objects" in warnings[0]
    assert "at least 1,250 objects" in warnings[0] and "none is machine-labeled" in warnings[0]
    assert "https://docs.aws.amazon.com/sagemaker/latest/dg/sms-automated-labeling.html" in warnings[0]


def test_1250_objects_with_1000_concurrent_tasks_leave_nothing_to_machines_and_are_warned() -> None:
    # 10 + min(990, 1,250 - 10 - 250) + 250 = 1,250 human at best: auto-labeling cannot pay
    chain = spec(maxConcurrentTasks=1000)
    assert schedule(chain, 1250, with_model=False).machine_ceiling == 0
    (warning,) = eligibility(chain, 1, 1250, with_model=False)
    assert "unlikely to pay" in warning and "at most 0 of 1,250 objects (0.0%)" in warning
    assert "a training batch of 990" in warning and "under the 25.0%" in warning
    # With 200 concurrent tasks the floor leaves 800 (64%): no warning
    assert eligibility(spec(), 1, 1250, with_model=False) == []


def test_the_forecast_carries_the_eligibility_warnings_of_each_round() -> None:
    forecast = forecast_chain(spec(), plan_rounds(spec(rounds=5), [("birds", [500] * 5)]))
    assert [len(r.warnings) for r in forecast.rounds] == [1] * 5
    assert all(job.expected is None for r in forecast.rounds for job in r.jobs)


# ---- the expected cost from the chain's own history -----------------------------------------------------------------


# The demo's rounds: round 1 cold 663 human + 587 machine; round 2 with the model 463 + 787; its baseline 700 + 550.
HISTORY = [
    Observed(1, "round", False, 663, 587),
    Observed(2, "round", True, 463, 787),
    Observed(2, "baseline", False, 700, 550),
]


def test_expected_cost_from_two_completed_rounds_and_a_baseline() -> None:
    # When round 3 (1,250 objects, with the carried model and a baseline) is forecast from them
    forecast = forecast_round(spec(), PlannedRound(3, 1250, with_model=True, baseline=True), history=HISTORY)
    with_model, baseline = (job.expected for job in forecast.jobs)
    assert with_model is not None and baseline is not None
    # Then the round repeats round 2's share, 787/1,250: 463 x 0.188 + 787 x 0.08 = 87.044 + 62.96 = $150.00
    assert (with_model.source, with_model.machine, with_model.usd) == ("history", 787, usd("150.00"))
    assert with_model.machine_fraction == 0.6296 and "round 2" in with_model.basis
    # And the baseline takes the mean of the cold starts (587 and 550): 568.5 -> 569 machine, 681 human
    # 681 x 0.188 + 569 x 0.08 = 128.028 + 45.52 = $173.55; band: 587 machine ($171.60) to 550 ($175.60)
    assert (baseline.machine, baseline.usd, baseline.low_usd, baseline.high_usd) == (
        569, usd("173.55"), usd("171.60"), usd("175.60"))  # fmt: skip
    assert forecast.expected_usd == usd("323.55")


def test_two_rounds_with_a_model_give_a_trend() -> None:
    # Given rounds 2 and 3 with the model at 787 and 837 of 1,250 machine-labeled (62.96%, 66.96%)
    history = [*HISTORY, Observed(3, "round", True, 413, 837)]
    job = forecast_round(spec(), PlannedRound(4, 1250, with_model=True, baseline=False), history=history).jobs[0]
    # Then round 4 continues the line: 70.96% -> 887 machine, 363 human: 68.244 + 70.96 = $139.20
    assert job.expected is not None
    assert (job.expected.machine_fraction, job.expected.machine, job.expected.usd) == (0.7096, 887, usd("139.20"))
    assert "trend" in job.expected.basis and "rounds 2, 3" in job.expected.basis


def test_a_trend_never_promises_more_than_the_schedule_leaves_to_machines() -> None:
    # Given a steep trend (50% then 75%), round 4 would reach 100%: the floor caps it at 990/1,250
    history = [Observed(2, "round", True, 625, 625), Observed(3, "round", True, 312, 938)]
    job = forecast_round(spec(), PlannedRound(4, 1250, with_model=True, baseline=False), history=history).jobs[0]
    assert job.expected is not None and job.expected.machine == job.machine_ceiling == 990
    assert job.expected.usd == job.floor_usd


def test_a_round_under_1250_objects_expects_no_machine_labels_whatever_the_history() -> None:
    job = forecast_round(spec(), PlannedRound(3, 500, with_model=True, baseline=False), history=HISTORY).jobs[0]
    assert job.expected is not None and job.expected.machine == 0 and job.expected.usd == usd("94.00")


def test_history_wins_over_the_emulator() -> None:
    emulated = [EmulatedJob(1, 3, "round", 1250, 1250, 0)]
    forecast = forecast_chain(spec(), [PlannedRound(3, 1250, with_model=True, baseline=False)], history=HISTORY,
                              emulated=emulated, seeds=(1,))  # fmt: skip
    assert forecast.source == "history" and forecast.rounds[0].jobs[0].expected.source == "history"  # type: ignore[union-attr]


def test_the_emulator_band_is_the_median_and_range_of_its_seeds_and_labelled_so() -> None:
    # Given three emulated runs of a cold round: 500, 550 and 600 machine-labeled of 1,250
    emulated = [EmulatedJob(seed, 1, "round", 1250, 1250 - machine, machine)
                for seed, machine in ((1, 500), (2, 600), (3, 550))]  # fmt: skip
    forecast = forecast_chain(spec(), [PlannedRound(1, 1250, with_model=False, baseline=False)], emulated=emulated,
                              seeds=(1, 2, 3))  # fmt: skip
    expected = forecast.rounds[0].jobs[0].expected
    assert expected is not None and expected.source == "emulator" and forecast.source == "emulator"
    # median 550: 700 x 0.188 + 550 x 0.08 = 131.60 + 44.00; 600 -> 122.20 + 48.00; 500 -> 141.00 + 40.00
    assert (expected.usd, expected.low_usd, expected.high_usd) == (usd("175.60"), usd("170.20"), usd("181.00"))
    assert "emulator" in expected.basis and "not AWS" in expected.basis and expected.samples == 3


# ---- the budget check -----------------------------------------------------------------------------------------------


def test_the_budget_check_says_where_the_chain_would_pause_at_worst_and_as_expected() -> None:
    # Given $500, three rounds of 1,250 (worst $235 each, $470 with a baseline), history as the demo's
    chain = spec(budgetUsd=500, baseline=True)
    planned = plan_rounds(chain, [("birds", [1250, 1250, 1250])], first_number=3, model_at_start=True)
    forecast = forecast_chain(chain, planned, history=HISTORY, spent_usd=Decimal("0"))
    # Then at worst, round 3 alone ($470) fits and round 4 does not
    assert forecast.pauses_before_at_worst == 4
    # And as expected: round 3 costs at most $150.00 + $175.60 (band high), then 325.60 + 470 > 500
    assert forecast.pauses_before_expected == 4


# ---- the baseline policy --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "expected"),
    [(True, [False, True, True, True]), (False, [False] * 4), ("once", [False, True, False, False])],
)
def test_baseline_policy_over_four_rounds(policy: bool | str, expected: list[bool]) -> None:
    chain = spec(baseline=policy, rounds=4)
    assert [r.baseline for r in plan_rounds(chain, [("birds", [1250] * 4)])] == expected


def test_once_runs_again_after_a_baseline_that_did_not_stay() -> None:
    assert runs_baseline("once", auto_labeling=True, with_model=True, baseline_before=False)
    assert not runs_baseline("once", auto_labeling=True, with_model=True, baseline_before=True)
    assert not runs_baseline(True, auto_labeling=True, with_model=False, baseline_before=False)
    assert not runs_baseline(True, auto_labeling=False, with_model=True, baseline_before=False)


def test_a_round_too_small_to_train_leaves_the_next_one_without_a_model() -> None:
    planned = plan_rounds(spec(baseline=True), [("birds", [500, 1250, 1250])])
    assert [(p.with_model, p.baseline) for p in planned] == [(False, False), (False, False), (True, True)]
