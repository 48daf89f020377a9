"""The report function on Round Completed, and the CLI on any job: exact counts, costs and warnings."""

import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
import pytest
from typer.testing import CliRunner, Result

from functions.report import app as report_app
from gtchain.service.job_output import OutputNotReadyError
from gtchain_cli import app as cli
from gtchain_cli.errors import Exit
from tests.fixtures.job_outputs import (
    VENDOR_WORKTEAM,
    IterationPlan,
    OutputPlan,
    labeling_request,
    s3_put,
    write_job_output,
)
from tests.integration.chain.flow import model_arn
from tests.integration.report.report_flow import (
    ROUND_1,
    complete,
    read_bytes,
    read_json,
    report,
    reports_key,
    start_chain,
    without_generated_at,
    write_output,
)
from tests.support import DATA_BUCKET, REGION, LambdaContext, Stack, finish_job, load_event

PNG = b"\x89PNG\r\n\x1a\n"


def gtchain(*args: str) -> Result:
    """The `gtchain` command line, with no chain target chosen: a job's report needs only AWS access."""
    return CliRunner().invoke(cli, list(args), env={"GTCHAIN_STACK": None, "GTCHAIN_LOCAL": None})


def _rows(truth_iterations: dict[int, dict[str, int]]) -> list[dict[str, int]]:
    return [{"iteration": n, **counts} for n, counts in truth_iterations.items()]


def _counts(summary: dict[str, Any]) -> list[dict[str, int]]:
    keys = ("iteration", "human", "machine", "humanBoxes", "machineBoxes")
    return [{k: row[k] for k in keys} for row in summary["iterations"]]


def test_a_completed_round_gets_its_report_the_chain_report_and_an_announcement(
    report_stack: Stack, spec_document: dict[str, Any]
) -> None:
    # Given round 1 of the seed chain completed after 12 iterations, with its output and training logs
    name = start_chain(report_stack, spec_document)
    completed = complete(report_stack, name, write_output(name, ROUND_1), model=model_arn("birds-r1"))

    # When its Round Completed reaches the report function
    result = report(completed.detail)

    # Then the job's summary has the counters' totals, the files' iterations and the notebook's prices
    assert result["action"] == "reported"
    summary = read_json(report_stack, reports_key(name))
    assert (summary["chainId"], summary["round"], summary["role"], summary["status"]) == (
        "birds", 1, "round", "Completed",
    )  # fmt: skip
    assert summary["finalModelArn"] == model_arn("birds-r1") and summary["initialModelArn"] is None
    assert summary["objects"] == {"total": 1250, "human": 580, "machine": 670, "failed": 0, "unlabeled": 0}
    assert summary["machineFraction"] == 0.536
    assert _counts(summary) == _rows(completed.truth.iterations)
    assert summary["detail"]["repeatedEntries"] == 5
    # 580 x (0.08 + 3 x 0.036) = 109.04; 670 x 0.08 = 53.60
    assert {k: summary["cost"][k] for k in ("humanUsd", "machineUsd", "totalUsd", "feePerObjectUsd",
                                             "averagePerObjectUsd", "allHumanUsd", "savingsUsd")} == {
        "humanUsd": "109.04", "machineUsd": "53.60", "totalUsd": "162.64", "feePerObjectUsd": "0.08",
        "averagePerObjectUsd": "0.1301", "allHumanUsd": "235.00", "savingsUsd": "72.36",
    }  # fmt: skip
    curves = summary["trainingCurves"]
    assert [c["iteration"] for c in curves] == list(range(4, 13))
    assert curves[0] == {"iteration": 4, "trainingJobName": f"{name}-train-4", "samples": 400,
                         "metric": "validation mAP", "values": [0.2, 0.3, 0.4]}  # fmt: skip
    assert summary["warnings"] == []
    assert read_bytes(report_stack, reports_key(name, "report.png")).startswith(PNG)

    # And the chain report lists the round, and the page embeds its figures
    chain = read_json(report_stack, "chains/birds/reports/chain/summary.json")
    assert [(r["round"], r["role"], r["jobName"], r["totalUsd"]) for r in chain["rounds"]] == [
        (1, "round", name, "162.64")
    ]
    assert chain["totals"]["totalUsd"] == "162.64" and chain["comparisons"] == []
    page = read_bytes(report_stack, "chains/birds/reports/chain/report.html").decode()
    assert page.count("data:image/png;base64,") == 2 and name in page

    # And Report Ready names every file written, and subscribers are told
    [ready] = [e for e in report_stack.published() if e["detail-type"] == "Report Ready"]
    uri = f"s3://{DATA_BUCKET}/chains/birds/reports"
    assert ready["detail"] == {
        "chainId": "birds", "round": 1, "role": "round", "jobName": name,
        "reportUri": f"{uri}/{name}/report.png", "summaryUri": f"{uri}/{name}/summary.json",
        "chainSummaryUri": f"{uri}/chain/summary.json", "chainReportUri": f"{uri}/chain/report.png",
        "chainHtmlUri": f"{uri}/chain/report.html",
    }  # fmt: skip
    [note] = [n for n in report_stack.notifications() if "report" in n["Subject"]]
    assert note["Subject"] == "gtchain: report for chain birds round 1 round"
    assert "Cost: $162.64" in note["Message"] and f"{uri}/chain/report.html" in note["Message"]


def _files(stack: Stack) -> dict[str, bytes]:
    listed = stack.s3.list_objects_v2(Bucket=DATA_BUCKET, Prefix="chains/birds/reports/")["Contents"]
    return {item["Key"]: read_bytes(stack, item["Key"]) for item in listed}


def _normalized(key: str, body: bytes) -> Any:
    if key.endswith(".json"):
        return without_generated_at(json.loads(body))
    if key.endswith(".html"):
        return re.sub(rb"Generated \S+\.", b"Generated <time>.", body)
    return body


def test_reporting_a_job_again_writes_the_same_files_but_for_generated_at(
    report_stack: Stack, spec_document: dict[str, Any]
) -> None:
    name = start_chain(report_stack, spec_document)
    completed = complete(report_stack, name, write_output(name, ROUND_1), model=model_arn("birds-r1"))
    report(completed.detail)
    first = _files(report_stack)

    report(completed.detail)

    again = _files(report_stack)
    assert set(first) == set(again) and len(first) == 5
    assert {k: _normalized(k, v) for k, v in first.items()} == {k: _normalized(k, v) for k, v in again.items()}


def test_the_cli_writes_the_report_the_function_writes(
    report_stack: Stack, spec_document: dict[str, Any], tmp_path: Path
) -> None:
    name = start_chain(report_stack, spec_document)
    completed = complete(report_stack, name, write_output(name, ROUND_1), model=model_arn("birds-r1"))
    report(completed.detail)

    # When the CLI reports the same job to a directory and to another S3 prefix
    assert gtchain("report", "--job", name, "--out", str(tmp_path / "out")).exit_code == 0
    exported = gtchain("report", "--job", name, "--out", f"s3://{DATA_BUCKET}/exports/birds")
    assert exported.exit_code == 0, exported.output

    # Then both hold the function's report
    lambda_summary = without_generated_at(read_json(report_stack, reports_key(name)))
    assert without_generated_at(json.loads((tmp_path / "out" / "summary.json").read_text())) == lambda_summary
    assert without_generated_at(read_json(report_stack, "exports/birds/summary.json")) == lambda_summary
    assert (tmp_path / "out" / "report.png").read_bytes() == read_bytes(report_stack, reports_key(name, "report.png"))
    printed = exported.stdout
    assert f"s3://{DATA_BUCKET}/exports/birds/summary.json" in printed


def test_output_not_yet_in_s3_raises_so_lambda_retries(report_stack: Stack, spec_document: dict[str, Any]) -> None:
    # Given a completed round whose output Ground Truth has not written yet
    name = start_chain(report_stack, spec_document)
    completed = complete(report_stack, name, write_output(name, OutputPlan((IterationPlan(5),), output_manifest=False)))

    # When it is reported, the function raises (a transient error) and writes nothing
    with pytest.raises(OutputNotReadyError, match="is not in S3 yet"):
        report(completed.detail)
    listed = report_stack.s3.list_objects_v2(Bucket=DATA_BUCKET, Prefix="chains/birds/reports/")
    assert listed["KeyCount"] == 0
    assert gtchain("report", "--job", name, "--out", "unused").exit_code == Exit.NOT_YET


def test_a_malformed_response_file_and_missing_logs_are_warnings_in_a_report_that_is_written(
    report_stack: Stack, spec_document: dict[str, Any]
) -> None:
    # Given a round whose iteration-1 response file is cut short and whose training jobs left no logs
    name = start_chain(report_stack, spec_document)
    plan = OutputPlan((IterationPlan(300), IterationPlan(200), IterationPlan(50, 700)), truncate_a_response_file=True)
    truth = write_output(name, plan, curves=False)
    completed = complete(report_stack, name, truth)

    report(completed.detail)

    # Then counters give the totals, the files the iterations, and the warnings say what differs and why
    summary = read_json(report_stack, reports_key(name))
    assert summary["objects"]["human"] == 550 and summary["detail"]["human"] == 402
    assert _counts(summary) == _rows(truth.iterations)
    assert summary["trainingCurves"] == []
    assert truth.truncated_file is not None
    assert summary["warnings"][0].startswith(f"{truth.truncated_file}: malformed JSON (Unterminated string")
    assert summary["warnings"][1:] == [
        "LabelCounters say 550 human-labeled and 700 machine-labeled objects, the output files show 402 and 700: "
        "objects and cost follow the counters, iterations follow the files",
        f"training job {name}-train-3 (iteration 3) has no log in CloudWatch; no curve",
    ]


def test_a_vendor_round_without_a_price_reports_worker_pay_as_unknown(
    report_stack: Stack, spec_document: dict[str, Any]
) -> None:
    spec_document["workforce"] = {"type": "vendor", "workteamArn": VENDOR_WORKTEAM}
    name = start_chain(report_stack, spec_document)
    completed = complete(
        report_stack, name, write_output(name, OutputPlan((IterationPlan(250), IterationPlan(0, 1000))))
    )

    report(completed.detail)

    summary = read_json(report_stack, reports_key(name))
    cost = summary["cost"]
    assert (cost["humanUsd"], cost["totalUsd"], cost["taskPriceUsd"], cost["taskPriceSource"]) == (
        None, None, None, "unknown",
    )  # fmt: skip
    assert (cost["machineUsd"], cost["knownUsd"]) == ("80.00", "100.00")
    assert summary["warnings"][0].startswith("the workforce's task price is unknown")
    chain = read_json(report_stack, "chains/birds/reports/chain/summary.json")
    assert chain["totals"]["totalUsd"] is None and chain["totals"]["knownUsd"] == "100.00"


def test_a_vendor_round_is_priced_from_the_rounds_spec_snapshot(
    report_stack: Stack, spec_document: dict[str, Any]
) -> None:
    spec_document["workforce"] = {"type": "vendor", "workteamArn": VENDOR_WORKTEAM, "pricePerTaskUsd": 0.05}
    name = start_chain(report_stack, spec_document)
    completed = complete(
        report_stack, name, write_output(name, OutputPlan((IterationPlan(250), IterationPlan(0, 1000))))
    )

    report(completed.detail)

    cost = read_json(report_stack, reports_key(name))["cost"]
    # 250 x (0.08 + 3 x 0.05) = 57.50; 1000 x 0.08 = 80.00
    assert (cost["taskPriceSource"], cost["humanUsd"], cost["totalUsd"]) == (
        "chain.json pricePerTaskUsd", "57.50", "137.50",
    )  # fmt: skip


def _standalone_job(name: str, truth_plan: OutputPlan, counters: dict[str, int] | None = None, **request: Any) -> Any:
    """A labeling job that is no chain's, with its output in another bucket."""
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="team-labels")
    boto3.client("sagemaker", region_name=REGION).create_labeling_job(
        **labeling_request(name, "s3://team-labels/ground-truth/", **request)
    )
    truth = write_job_output(s3_put(s3, "team-labels"), f"ground-truth/{name}/", truth_plan)
    finish_job(name, counters=counters or truth.counters)
    return truth


def test_the_cli_reports_a_job_without_auto_labeling_that_no_chain_started(report_stack: Stack, tmp_path: Path) -> None:
    truth = _standalone_job("team-birds-7", OutputPlan((IterationPlan(10), IterationPlan(190), IterationPlan(200)),
                                                       training=False), auto_labeling=False)  # fmt: skip

    assert gtchain("report", "--job", "team-birds-7", "--out", str(tmp_path)).exit_code == 0

    summary = json.loads((tmp_path / "summary.json").read_text())
    assert (summary["chainId"], summary["round"], summary["role"]) == (None, None, None)
    assert _counts(summary) == _rows(truth.iterations)
    assert [row["machine"] for row in summary["iterations"]] == [0, 0, 0]
    assert summary["machineFraction"] == 0.0 and summary["trainingCurves"] == [] and summary["warnings"] == []
    assert summary["cost"]["totalUsd"] == "75.20"  # 400 x 0.188
    # The report function leaves jobs that are no chain's alone (and is not retried for them)
    assert report({"chainId": "birds", "round": 1, "role": "round", "jobName": "team-birds-7",
                   "status": "completed"})["action"] == "ignored"  # fmt: skip


def test_counters_that_disagree_with_the_files_are_reported_both_ways(report_stack: Stack, tmp_path: Path) -> None:
    plan = OutputPlan((IterationPlan(100), IterationPlan(40, 60)))
    counters = {"TotalLabeled": 205, "HumanLabeled": 140, "MachineLabeled": 65, "FailedNonRetryableError": 3,
                "Unlabeled": 2}  # fmt: skip
    _standalone_job("team-birds-8", plan, counters, price=Decimal("0.048"), workers=5)

    assert gtchain("report", "--job", "team-birds-8", "--out", str(tmp_path), "--fee", "0.04").exit_code == 0

    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["objects"] == {"total": 210, "human": 140, "machine": 65, "failed": 3, "unlabeled": 2}
    assert (summary["detail"]["human"], summary["detail"]["machine"]) == (140, 60)
    # 140 x (0.04 + 5 x 0.048) = 39.20; 65 x 0.04 = 2.60
    assert (summary["cost"]["humanUsd"], summary["cost"]["machineUsd"]) == ("39.20", "2.60")
    assert summary["warnings"] == [
        "LabelCounters say 140 human-labeled and 65 machine-labeled objects, the output files show 140 and 60: "
        "objects and cost follow the counters, iterations follow the files",
        "training job team-birds-8-train-2 (iteration 2) has no log in CloudWatch; no curve",
    ]


def test_the_sample_event_is_reported_as_delivered(report_stack: Stack) -> None:
    # Given the job events/round-completed.json names, tagged as the chain service tags it, with its output
    event = load_event("round-completed.json")
    name = event["detail"]["jobName"]
    tags = {"gtchain:chain-id": "birds", "gtchain:incarnation": "a1b2c3", "gtchain:round": "1", "gtchain:role": "round"}
    report_stack.sagemaker.create_labeling_job(
        **labeling_request(name, f"s3://{DATA_BUCKET}/chains/birds/jobs", tags=tags)
    )
    truth = write_output(name, OutputPlan((IterationPlan(650), IterationPlan(0, 600))), curves=False)
    finish_job(name, counters=truth.counters, model=event["detail"]["finalModelArn"])

    # When the sample event reaches the function unchanged
    result = dict(report_app.lambda_handler(event, LambdaContext()))

    # Then the job is reported at the cost the chain service announced
    assert result["action"] == "reported" and result["summaryUri"].endswith(f"/reports/{name}/summary.json")
    assert read_json(report_stack, reports_key(name))["cost"]["totalUsd"] == event["detail"]["costUsd"] == "170.20"
