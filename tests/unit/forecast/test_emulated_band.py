"""The emulator's band (local.forecast.emulate behind service.forecast.forecast_submission): the same seeds give
the same band; it is labelled as the emulator's; the chain's own history, once there is any, replaces it."""

import json
from decimal import Decimal
from typing import Any

from gtchain.domain.forecast import plan_rounds
from gtchain.domain.manifest import split_sizes
from gtchain.domain.spec import ChainSpec
from gtchain.service.forecast import forecast_submission
from local.dataset import chain_spec
from local.forecast import emulate


def _spec(**fields: Any) -> ChainSpec:
    return ChainSpec.model_validate(chain_spec("image-classification", **fields))


def test_the_emulator_band_is_reproducible_for_a_seed() -> None:
    # Given 2 rounds of 1,250 images with a baseline, emulated with seed 5
    spec = _spec(rounds=2, baseline=True)
    planned = plan_rounds(spec, [("gulls", split_sizes(2500, 2))])

    first, again = emulate(spec, planned, (5,)), emulate(spec, planned, (5,))

    # Then the same seed labels the same way
    assert first == again
    assert [(j.round, j.role) for j in first] == [(1, "round"), (2, "round"), (2, "baseline")]
    assert all(j.objects == j.human + j.machine + j.failed == 1250 for j in first)
    assert any(j.machine for j in first)  # 1,250 objects is enough to auto-label


def test_the_cli_forecast_uses_the_emulator_without_history_and_says_so() -> None:
    spec = _spec(rounds=2, baseline="once", budgetUsd=400)
    seeds = (1, 2)

    forecast = forecast_submission(spec, [("gulls", split_sizes(2500, 2))], emulate=emulate, seeds=seeds)
    again = forecast_submission(spec, [("gulls", split_sizes(2500, 2))], emulate=emulate, seeds=seeds)

    assert forecast == again and forecast.source == "emulator" and "emulator" in forecast.basis
    jobs = [job for r in forecast.rounds for job in r.jobs]
    assert [(r.round, r.baseline) for r in forecast.rounds] == [(1, False), (2, True)]
    for job in jobs:
        assert job.expected is not None and job.expected.source == "emulator" and job.expected.samples == 2
        assert job.floor_usd <= job.expected.low_usd <= job.expected.usd <= job.expected.high_usd <= job.worst_case_usd
    # $400: round 1 fits at worst ($235.00), round 2 with its baseline ($470.00) does not
    assert forecast.pauses_before_at_worst == 2
    assert json.loads(forecast.model_dump_json(by_alias=True))["rounds"][0]["jobs"][0]["expected"]["source"] == (
        "emulator"
    )


def test_a_chain_with_history_is_forecast_from_it_not_the_emulator() -> None:
    spec = _spec(rounds=1, baseline=False)
    summary = {"rounds": [{"round": 1, "role": "round", "status": "Completed", "initialModelArn": None,
                           "objects": {"human": 663, "machine": 587}}]}  # fmt: skip
    status = {"manifests": [{"rounds": [1]}], "latestModelArn": "arn:aws:sagemaker:us-east-1:1:model/m",
              "spentUsd": "171.60"}  # fmt: skip

    def no_emulator(*_: Any) -> Any:
        raise AssertionError("the emulator must not run for a chain with history")

    forecast = forecast_submission(spec, [("more", [1250])], status=status, chain_summary=summary, emulate=no_emulator)

    [upcoming] = forecast.rounds
    assert (upcoming.round, upcoming.with_model, forecast.source, forecast.spent_usd) == (
        2,
        True,
        "history",
        Decimal("171.60"),
    )
    assert upcoming.jobs[0].expected is not None and upcoming.jobs[0].expected.usd == Decimal(
        "171.60"
    )  # 587/1,250 again
