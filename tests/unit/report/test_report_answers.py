"""What the chain report answers: what was spent (rounds, baselines, audits), what the carried model saved net of
the baselines, the next round's forecast, each round's forecast against its cost, why nothing was machine-labeled;
and the per-class machine-labeled share read from the output files."""

import json
from decimal import Decimal

from gtchain.domain.forecast import PlannedRound, forecast_round
from gtchain.domain.labeling_job import ChainContext, LabelingJob
from gtchain.domain.pricing import JobPricing
from gtchain.domain.records import LabelCounts
from gtchain.domain.report.chain import Recorded, build_chain_summary
from gtchain.domain.report.models import Audits, JobSettings
from gtchain.domain.report.parse import IterationCounts, JobDetail
from gtchain.domain.report.summary import ResolvedPricing, build_summary
from gtchain.domain.spec import ChainSpec
from gtchain.rendering.html import render_chain_html
from gtchain.service.report.output import parse_job_output
from tests.fakes import FakeObjects
from tests.support import ROOT
from tools.report_samples import chain_sample

NOTEBOOK = JobPricing(Decimal("0.08"), 3, Decimal("0.036"))
SETTINGS = JobSettings(task="bounding-box", auto_labeling=True, max_concurrent_tasks=200)
MODEL = "arn:aws:sagemaker:us-east-1:123456789012:model/birds-r{}"


def _job(number: int, role: str, human: int, machine: int, *, model: bool = False) -> Recorded:
    name = f"gtchain-birds-x1-r{number}{'b' if role == 'baseline' else ''}-a1"
    detail = JobDetail()
    detail.iterations = {1: IterationCounts(human=human), 2: IterationCounts(machine=machine)}
    job = LabelingJob(
        name=name, status="Completed", counters=LabelCounts(total_labeled=human + machine, human_labeled=human,
                                                            machine_labeled=machine),
        initial_model_arn=MODEL.format(number - 1) if model else None, workers_per_object=3,
        task_price_usd=Decimal("0.036"),
    )  # fmt: skip
    summary = build_summary(
        job=job, detail=detail, curves=[], curve_warnings=[], resolved=ResolvedPricing(NOTEBOOK, "given"),
        context=ChainContext("birds", number, "baseline" if role == "baseline" else "round"),
        generated_at="2026-11-24T12:00:00.000Z", settings=SETTINGS,
    )  # fmt: skip
    return Recorded(summary, f"s3://d/{name}/summary.json", f"s3://d/{name}/report.png")


# The demo's chain: round 1 cold 663 + 587 ($171.60), round 2 with the model 463 + 787 ($150.00), its baseline
# 700 + 550 ($175.60): the baseline cost $175.60 to learn that the model saved $25.60.
DEMO = [_job(1, "round", 663, 587), _job(2, "round", 463, 787, model=True), _job(2, "baseline", 700, 550)]


def test_the_report_weighs_what_the_baselines_cost_against_what_they_measured() -> None:
    summary = build_chain_summary("birds", DEMO, [], "t")

    value = summary.baselines
    assert value is not None
    assert (value.baselines, value.cost_usd, value.measured_saved_usd, value.net_usd) == (
        1, Decimal("175.60"), Decimal("25.60"), Decimal("-150.00"))  # fmt: skip
    assert value.saved_per_object_usd == Decimal("0.0205")  # 25.60 / 1,250 = 0.02048
    spent, model, upcoming = summary.headline
    assert spent == "Spent so far: $497.20 ($321.60 on 2 rounds, $175.60 on 1 baseline and nothing on audits)."
    assert "The carried model saved $25.60 in round 2 (63.0% machine-labeled against 44.0% without it)" in model
    assert "so far the baselines cost $150.00 more than the saving they measured" in model
    assert upcoming == "No further round is queued."


def test_with_baseline_once_the_later_rounds_get_an_estimated_saving() -> None:
    # Given rounds 3 and 4 with the model and no baseline (baseline "once")
    recorded = [*DEMO, _job(3, "round", 450, 800, model=True), _job(4, "round", 440, 810, model=True)]

    value = build_chain_summary("birds", recorded, [], "t").baselines

    # Then the measured $0.0205 per object is applied to their 2,500 objects: $51.25, labelled an estimate
    assert value is not None and (value.uncompared_rounds, value.uncompared_objects) == (2, 2500)
    assert value.estimated_saved_usd == Decimal("51.25")


def test_each_round_is_shown_with_the_forecast_it_had_before_it_started() -> None:
    summary = build_chain_summary("birds", DEMO, [], "t")

    first, second, baseline = summary.forecast_vs_actual
    # round 1: no history, so worst case and floor only
    assert (first.round, first.expected_usd, first.worst_case_usd, first.floor_usd) == (
        1, None, Decimal("235.00"), Decimal("148.60"))  # fmt: skip
    assert first.actual_usd == Decimal("171.60") and first.within_band is None
    # round 2 with the model: only round 1 (cold) before it, so its share 587/1,250 is expected: $171.60
    assert (second.expected_usd, second.floor_usd, second.actual_usd) == (
        Decimal("171.60"), Decimal("128.08"), Decimal("150.00"))  # fmt: skip
    assert second.within_band is False and "without a model" in (second.basis or "")
    assert (baseline.role, baseline.expected_usd, baseline.within_band) == ("baseline", Decimal("171.60"), False)


def test_the_next_round_and_audits_slot_reach_the_headline() -> None:
    history_forecast = forecast_round(_spec(), PlannedRound(3, 1250, with_model=True, baseline=False),
                                      history=[])  # fmt: skip
    audits = Audits(jobs=1, spent_usd=Decimal("12.50"), checked_objects=100, machine_label_accuracy=0.962)

    summary = build_chain_summary("birds", DEMO, [], "t", next_round=history_forecast, audits=audits)

    spent, model, upcoming = summary.headline
    assert spent.startswith("Spent so far: $509.70") and "$12.50 on 1 audit" in spent
    assert "Audits found the machine labels 96.2% accurate (100 objects checked)." in model
    assert upcoming == (
        "Next: round 3 (1,250 objects, with the carried model) will cost between $128.08 (Ground Truth's schedule "
        "at best) and $235.00 (every object human)."
    )
    page = render_chain_html(summary, b"png", {})
    assert "96.2%" in page and "$12.50" in page


def _spec() -> ChainSpec:
    return ChainSpec.model_validate(json.loads((ROOT / "tests" / "data" / "chain.json").read_text()))


def test_a_500_object_chain_explains_its_0_percent_machine_share_at_the_top_and_per_job() -> None:
    sample = chain_sample("small", rounds=2, objects=500)
    summary = sample.summary

    assert all(job.objects.machine == 0 for job in summary.rounds)
    _, model, upcoming = summary.headline
    assert model.startswith("Nothing was machine-labeled: every job had fewer than 1,250 objects")
    assert upcoming.endswith("will cost $94.00: humans label every object.")
    assert all("has 500 objects" in job.eligibility[0] for job in summary.rounds)
    page = render_chain_html(summary, b"png", {})
    assert 'id="eligibility"' in page and "round 1 has 500 objects" in page


def test_a_job_no_chain_started_under_1250_objects_is_explained_too() -> None:
    job = LabelingJob(name="solo", status="Completed",
                      counters=LabelCounts(total_labeled=1249, human_labeled=1249))  # fmt: skip
    summary = build_summary(job=job, detail=JobDetail(), curves=[], curve_warnings=[],
                            resolved=ResolvedPricing(NOTEBOOK, "given"), context=None, generated_at="t")  # fmt: skip
    assert len(summary.eligibility) == 1 and "this job has 1,249 objects" in summary.eligibility[0]


def test_per_class_machine_shares_come_from_the_labels_metadata() -> None:
    # Given a classification job's output: two human labels (Gull, Pigeon) and three machine ones (Gull x2, Pigeon)
    objects = FakeObjects()
    prefix = "jobs/gulls-1/"

    def content(index: int, name: str, human: bool) -> dict[str, object]:
        return {"category": index, "category-metadata": {"class-name": name, "confidence": 0.9,
                                                         "human-annotated": "yes" if human else "no"}}  # fmt: skip

    response = [{"datasetObjectId": str(i), "consolidatedAnnotation": {"content": content(*label, True)}}
                for i, label in enumerate([(2, "Gull"), (1, "Pigeon")])]  # fmt: skip
    objects.put("out", f"{prefix}annotations/consolidated-annotation/consolidation-response/iteration-1/a.json",
                json.dumps(response).encode())  # fmt: skip
    lines = "".join(f"{i} {json.dumps(content(*label, False))}\n"
                    for i, label in zip((5, 6, 7), [(2, "Gull"), (2, "Gull"), (1, "Pigeon")], strict=True))  # fmt: skip
    objects.put("out", f"{prefix}activelearning/auto-annotation/2/inference-output/auto_annotator_output.txt",
                lines.encode())  # fmt: skip

    detail = parse_job_output(objects, "out", prefix, "category")

    assert {name: (c.human, c.machine) for name, c in detail.classes.items()} == {"Gull": (1, 2), "Pigeon": (1, 1)}
    job = LabelingJob(name="gulls-1", status="Completed",
                      counters=LabelCounts(total_labeled=5, human_labeled=2, machine_labeled=3))  # fmt: skip
    summary = build_summary(job=job, detail=detail, curves=[], curve_warnings=[],
                            resolved=ResolvedPricing(NOTEBOOK, "given"), context=None, generated_at="t")  # fmt: skip
    assert summary.class_unit == "objects"
    assert [(c.name, c.machine_fraction) for c in summary.classes] == [("Gull", 0.6667), ("Pigeon", 0.5)]
