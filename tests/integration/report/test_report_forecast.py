"""The chain report, written by the report function on the embedded stack, answers: the next round's forecast
(read from the chain table with GetItem only), each round's forecast against its cost, the job's eligibility, and
figures titled with their chain, round and job."""

from typing import Any

from gtchain.rendering.figures import png_title
from tests.integration.chain.flow import model_arn
from tests.integration.report.report_flow import (
    ROUND_1,
    complete,
    read_bytes,
    read_json,
    report,
    reports_key,
    start_chain,
    write_output,
)
from tests.support import Stack


def test_after_round_1_the_report_forecasts_round_2_and_its_baseline(
    report_stack: Stack, spec_document: dict[str, Any]
) -> None:
    # Given the seed chain (2 rounds of 1,250, baseline on): round 1 completes with 580 human, 670 machine
    first = start_chain(report_stack, spec_document)
    completed = complete(report_stack, first, write_output(first, ROUND_1), model=model_arn("birds-r1"))

    # When the report function reports it
    assert report(completed.detail)["action"] == "reported"

    # Then the chain summary forecasts round 2 (already started: with the model, a baseline beside it) from round 1
    chain = read_json(report_stack, "chains/birds/reports/chain/summary.json")
    upcoming = chain["nextRound"]
    assert (upcoming["round"], upcoming["objects"], upcoming["withModel"], upcoming["baseline"]) == (
        2,
        1250,
        True,
        True,
    )
    round_job, baseline = upcoming["jobs"]
    # 670/1,250 machine-labeled in round 1: 580 x 0.188 + 670 x 0.08 = 109.04 + 53.60 = $162.64 for each job
    assert round_job["expected"]["usd"] == baseline["expected"]["usd"] == "162.64"
    assert round_job["expected"]["source"] == "history"
    assert (upcoming["worstCaseUsd"], round_job["floorUsd"], baseline["floorUsd"]) == ("470.00", "128.08", "148.60")
    # And round 1 against what was forecast before it: no history, so worst case and floor only
    [check] = chain["forecastVsActual"]
    assert (check["worstCaseUsd"], check["floorUsd"], check["expectedUsd"], check["actualUsd"]) == (
        "235.00", "148.60", None, "162.64")  # fmt: skip
    assert chain["headline"][2].startswith("Next: round 2 (1,250 objects, with the carried model and a baseline")
    # And every figure names what it shows
    job_png = read_bytes(report_stack, reports_key(first, "report.png"))
    assert png_title(job_png) == f"Chain birds · round 1 · {first}"
    assert "Chain birds · round 1 (1 job)" in (
        png_title(read_bytes(report_stack, reports_key("chain", "report.png"))) or ""
    )
    html = read_bytes(report_stack, reports_key("chain", "report.html")).decode()
    assert 'id="answer"' in html and "Spent so far: $162.64" in html and 'id="next-round"' in html
