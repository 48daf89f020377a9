"""summary.json: totals from LabelCounters, cost from the job's real configuration, unknown never zero."""

import json
from decimal import Decimal
from typing import Any

import pytest

from gtchain.domain.labeling_job import ChainContext, LabelingJob
from gtchain.domain.report.models import TrainingCurve
from gtchain.domain.report.parse import IterationCounts, JobDetail
from gtchain.domain.report.summary import NO_OVERRIDES, PriceOverrides, build_summary, resolve_pricing
from gtchain.domain.spec import ChainSpec
from tests.fixtures.job_outputs import PRIVATE_WORKTEAM, VENDOR_WORKTEAM, labeling_request
from tests.support import ROOT

COUNTERS = {"TotalLabeled": 1250, "HumanLabeled": 650, "MachineLabeled": 600, "FailedNonRetryableError": 0,
            "Unlabeled": 0}  # fmt: skip


def _description(status: str = "Completed", counters: dict[str, int] = COUNTERS, **request: Any) -> LabelingJob:
    return LabelingJob.from_api({
        **labeling_request("birds-1", "s3://out/jobs", **request),
        "LabelingJobArn": "arn:aws:sagemaker:us-east-1:123456789012:labeling-job/birds-1",
        "LabelingJobStatus": status,
        "LabelCounters": counters,
        "LabelingJobOutput": {"OutputDatasetS3Uri": "s3://out/jobs/birds-1/manifests/output/output.manifest",
                              "FinalActiveLearningModelArn": "arn:aws:sagemaker:us-east-1:123456789012:model/m1"},
    })  # fmt: skip


def _spec(**changes: Any) -> ChainSpec:
    document = json.loads((ROOT / "tests" / "data" / "chain.json").read_text())
    document.update(changes)
    return ChainSpec.model_validate(document)


def _detail(human: int = 650, machine: int = 600) -> JobDetail:
    detail = JobDetail()
    detail.iterations = {
        1: IterationCounts(human=10, human_boxes=14),
        2: IterationCounts(human=human - 10, machine=machine, human_boxes=900, machine_boxes=700),
    }
    return detail


def _summary(description: LabelingJob, spec: ChainSpec | None = None, detail: JobDetail | None = None,
             overrides: PriceOverrides = NO_OVERRIDES) -> Any:  # fmt: skip
    return build_summary(
        job=description, detail=detail or _detail(), curves=[], curve_warnings=[],
        resolved=resolve_pricing(description, spec, overrides), context=ChainContext("birds", 1, "round"),
        generated_at="2026-11-24T12:00:00.000Z",
    )  # fmt: skip


def test_the_notebooks_jobs_cost_0_188_per_human_label_not_0_26() -> None:
    # Given the notebook's job: public workforce at $0.036 per task, 3 workers per object, fee $0.08
    summary = _summary(_description(price=Decimal("0.036"), workers=3))

    # Then a human label costs 0.08 + 3 x 0.036 = 0.188 (the notebook's 0.26 assumed 5 workers)
    cost = summary.cost
    assert cost.human_object_usd == Decimal("0.188")
    assert (cost.task_price_usd, cost.workers_per_object, cost.task_price_source) == (
        Decimal("0.036"), 3, "PublicWorkforceTaskPrice",
    )  # fmt: skip
    # 650 x 0.188 = 122.20; 600 x 0.08 = 48.00; all-human 1250 x 0.188 = 235.00
    assert (cost.human_usd, cost.machine_usd, cost.total_usd) == (Decimal("122.20"), Decimal("48.00"),
                                                                  Decimal("170.20"))  # fmt: skip
    assert (cost.all_human_usd, cost.savings_usd) == (Decimal("235.00"), Decimal("64.80"))
    assert cost.average_per_object_usd == Decimal("0.1362")  # 170.20 / 1250 = 0.13616
    assert summary.machine_fraction == 0.48
    document = json.loads(summary.to_json())
    assert document["cost"]["totalUsd"] == "170.20" and document["cost"]["feePerObjectUsd"] == "0.08"
    assert document["cost"]["averagePerObjectUsd"] == "0.1362"


def test_a_vendor_job_without_a_price_reports_the_human_cost_as_unknown_not_zero() -> None:
    spec = _spec(workforce={"type": "vendor", "workteamArn": VENDOR_WORKTEAM})

    summary = _summary(_description(workteam=VENDOR_WORKTEAM, price=None), spec)

    cost = summary.cost
    assert cost.task_price_source == "unknown"
    assert (cost.human_usd, cost.total_usd, cost.all_human_usd, cost.savings_usd) == (None, None, None, None)
    assert cost.average_per_object_usd is None
    assert cost.machine_usd == Decimal("48.00") and cost.known_usd == Decimal("100.00")  # 1250 fees
    assert summary.warnings == [
        "the workforce's task price is unknown (a vendor workforce without pricePerTaskUsd): the human worker "
        "cost is reported as unknown (null), not 0; the fees alone come to $100.00"
    ]
    assert json.loads(summary.to_json())["cost"]["humanUsd"] is None
    assert [row.human_usd for row in summary.iterations] == [None, None]


@pytest.mark.parametrize(
    ("workteam", "spec_workforce", "overrides", "price", "source"),
    [
        (VENDOR_WORKTEAM, {"type": "vendor", "workteamArn": VENDOR_WORKTEAM, "pricePerTaskUsd": 0.05}, PriceOverrides(),
         Decimal("0.05"), "chain.json pricePerTaskUsd"),
        (PRIVATE_WORKTEAM, {"type": "private", "workteamArn": PRIVATE_WORKTEAM}, PriceOverrides(), Decimal(0),
         "private workforce"),
        (PRIVATE_WORKTEAM, None, PriceOverrides(), Decimal(0), "private workforce"),
        (VENDOR_WORKTEAM, None, PriceOverrides(task_price_usd=Decimal("0.07")), Decimal("0.07"), "given"),
        (VENDOR_WORKTEAM, None, PriceOverrides(), None, "unknown"),
    ],
)  # fmt: skip
def test_the_task_price_comes_from_the_job_the_spec_snapshot_or_the_caller(
    workteam: str, spec_workforce: dict[str, Any] | None, overrides: PriceOverrides, price: Decimal | None,
    source: str,
) -> None:  # fmt: skip
    spec = _spec(workforce=spec_workforce) if spec_workforce else None
    resolved = resolve_pricing(_description(workteam=workteam, price=None), spec, overrides)
    assert (resolved.pricing.task_price_usd, resolved.task_price_source) == (price, source)


def test_the_jobs_own_public_price_wins_over_a_given_one() -> None:
    resolved = resolve_pricing(_description(), None, PriceOverrides(task_price_usd=Decimal("0.5")))
    assert (resolved.pricing.task_price_usd, resolved.task_price_source) == (
        Decimal("0.036"),
        "PublicWorkforceTaskPrice",
    )


def test_the_fee_comes_from_the_caller_then_the_spec_then_the_default() -> None:
    description = _description()
    cheaper = _spec(pricing={"perObjectUsd": 0.04})
    assert resolve_pricing(description, None, PriceOverrides()).pricing.fee_per_object_usd == Decimal("0.08")
    assert resolve_pricing(description, cheaper, PriceOverrides()).pricing.fee_per_object_usd == Decimal("0.04")
    given = PriceOverrides(fee_usd=Decimal("0.02"))
    assert resolve_pricing(description, cheaper, given).pricing.fee_per_object_usd == Decimal("0.02")


def test_amounts_round_half_up_to_cents_and_averages_to_four_places() -> None:
    # One human label at a fee of $0.085 (private: no worker pay): half a cent rounds up, not to even
    counters = {"TotalLabeled": 3, "HumanLabeled": 1, "MachineLabeled": 2, "FailedNonRetryableError": 0,
                "Unlabeled": 0}  # fmt: skip
    description = _description(counters=counters, workteam=PRIVATE_WORKTEAM, price=None)
    summary = _summary(description, detail=_detail(1, 2), overrides=PriceOverrides(fee_usd=Decimal("0.085")))
    assert summary.cost.human_usd == Decimal("0.09")  # 0.085
    assert summary.cost.machine_usd == Decimal("0.17")  # 0.170
    assert summary.cost.total_usd == Decimal("0.26")  # 0.255
    assert summary.cost.average_per_object_usd == Decimal("0.0850")


def test_counters_are_the_totals_and_a_disagreement_with_the_files_is_reported_both_ways() -> None:
    # Given counters with 5 failed and 7 unlabeled objects, and files that show 640 human and 610 machine
    counters = {**COUNTERS, "FailedNonRetryableError": 5, "Unlabeled": 7}
    summary = _summary(_description(counters=counters), detail=_detail(640, 610))

    assert summary.objects.model_dump() == {"total": 1262, "human": 650, "machine": 600, "failed": 5, "unlabeled": 7}
    assert (summary.detail.human, summary.detail.machine) == (640, 610)
    assert summary.cost.total_usd == Decimal("170.20")  # from the counters
    assert summary.warnings == [
        "LabelCounters say 650 human-labeled and 600 machine-labeled objects, the output files show 640 and 610: "
        "objects and cost follow the counters, iterations follow the files"
    ]


def test_the_summary_has_the_documented_fields_and_per_iteration_costs() -> None:
    description = _description(initial_model="arn:aws:sagemaker:us-east-1:123456789012:model/m0")
    curve = TrainingCurve(iteration=4, training_job_name="t4", samples=190, metric="validation mAP", values=[0.1])
    summary = build_summary(
        job=description, detail=_detail(), curves=[curve], curve_warnings=["training job t5 ..."],
        resolved=resolve_pricing(description, None, PriceOverrides()), context=ChainContext("birds", 2, "baseline"),
        generated_at="2026-11-24T12:00:00.000Z",
    )  # fmt: skip

    document = json.loads(summary.to_json())
    assert list(document) == [
        "schemaVersion", "generatedAt", "jobName", "jobArn", "chainId", "round", "role", "status", "initialModelArn",
        "finalModelArn", "objects", "machineFraction", "detail", "iterations", "cost", "trainingCurves", "warnings",
        "settings", "eligibility", "classUnit", "classes", "audit",
    ]  # fmt: skip
    assert (document["chainId"], document["round"], document["role"]) == ("birds", 2, "baseline")
    assert document["initialModelArn"].endswith("model/m0") and document["finalModelArn"].endswith("model/m1")
    assert document["iterations"][1] == {
        "iteration": 2, "human": 640, "machine": 600, "humanBoxes": 900, "machineBoxes": 700,
        "humanUsd": "120.32", "machineUsd": "48.00",
    }  # fmt: skip
    assert document["trainingCurves"] == [
        {"iteration": 4, "trainingJobName": "t4", "samples": 190, "metric": "validation mAP", "values": [0.1]}
    ]
    assert document["warnings"] == ["training job t5 ..."]


def test_a_job_not_completed_says_the_report_covers_only_what_was_written() -> None:
    summary = _summary(_description(status="Stopped"))
    assert summary.warnings == ["the job is Stopped: this report covers the output written so far"]
