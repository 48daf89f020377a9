"""The chain summary (rounds, totals, baseline comparisons), its HTML page and the figures."""

import base64
import json
import re
import subprocess
import sys
from decimal import Decimal

from gtchain.domain.labeling_job import ChainContext, LabelingJob
from gtchain.domain.pricing import JobPricing
from gtchain.domain.report.chain import Recorded, build_chain_summary
from gtchain.domain.report.models import Objects, TrainingCurve
from gtchain.domain.report.parse import IterationCounts, JobDetail
from gtchain.domain.report.summary import ResolvedPricing, build_summary
from gtchain.rendering.figures import chain_figure, job_figure
from gtchain.rendering.html import render_chain_html
from tests.fixtures.job_outputs import labeling_request
from tests.support import ROOT

PNG = b"\x89PNG\r\n\x1a\n"
NOTEBOOK = JobPricing(Decimal("0.08"), 3, Decimal("0.036"))


def _job(number: int, role: str, human: int, machine: int, pricing: JobPricing = NOTEBOOK) -> Recorded:
    name = f"gtchain-birds-x1-r{number}{'b' if role == 'baseline' else ''}-a1"
    counters = {"TotalLabeled": human + machine, "HumanLabeled": human, "MachineLabeled": machine}
    detail = JobDetail()
    detail.iterations = {1: IterationCounts(human=human, human_boxes=human)}
    if machine:
        detail.iterations[2] = IterationCounts(machine=machine, machine_boxes=2 * machine)
    source = "unknown" if pricing.task_price_usd is None else "PublicWorkforceTaskPrice"
    summary = build_summary(
        job=LabelingJob.from_api({**labeling_request(name, "s3://data/chains/birds/jobs"),
                                  "LabelingJobStatus": "Completed", "LabelCounters": counters}),
        detail=detail, curves=[], curve_warnings=[], resolved=ResolvedPricing(pricing, source),
        context=ChainContext("birds", number, "baseline" if role == "baseline" else "round"),
        generated_at="2026-11-24T12:00:00.000Z",
    )  # fmt: skip
    prefix = f"s3://data/chains/birds/reports/{name}/"
    return Recorded(summary, prefix + "summary.json", prefix + "report.png")


def test_each_baseline_is_compared_with_its_round_and_totals_add_up() -> None:
    # Given the notebook's experiment: round 1 (48% machine), round 2 with the model (80%), its baseline (60%)
    recorded = [_job(2, "baseline", 500, 750), _job(1, "round", 650, 600), _job(2, "round", 250, 1000)]

    summary = build_chain_summary("birds", recorded, [], "2026-11-24T12:00:00.000Z")

    assert [(j.round, j.role, j.machine_fraction) for j in summary.rounds] == [
        (1, "round", 0.48), (2, "round", 0.8), (2, "baseline", 0.6),
    ]  # fmt: skip
    [comparison] = summary.comparisons
    # with the model: 250 x 0.188 + 1000 x 0.08 = 127.00; without: 500 x 0.188 + 750 x 0.08 = 154.00
    assert (comparison.with_model.total_usd, comparison.without_model.total_usd) == (Decimal("127.00"),
                                                                                      Decimal("154.00"))  # fmt: skip
    assert comparison.saved_usd == Decimal("27.00") and comparison.machine_fraction_gain == 0.2
    assert summary.carried_model.model_dump() == {"comparisons": 1, "saved_usd": Decimal("27.00")}
    totals = summary.totals
    assert totals.objects == Objects(total=3750, human=1400, machine=2350, failed=0, unlabeled=0)
    assert totals.total_usd == Decimal("451.20") and totals.machine_fraction == 0.6267
    assert totals.average_per_object_usd == Decimal("0.1203")  # 451.20 / 3750 = 0.12032
    assert summary.totals_by_role["baseline"].total_usd == Decimal("154.00")
    assert summary.totals_by_role["round"].jobs == 2


def test_an_unknown_job_cost_makes_totals_and_savings_unknown_but_keeps_the_known_part() -> None:
    vendor = JobPricing(Decimal("0.08"), 3, None)
    recorded = [_job(1, "round", 100, 0), _job(2, "round", 50, 50, vendor), _job(2, "baseline", 80, 20, vendor)]

    summary = build_chain_summary("birds", recorded, [], "2026-11-24T12:00:00.000Z")

    assert summary.totals.total_usd is None and summary.totals.savings_usd is None
    assert summary.totals.known_usd == Decimal("34.80")  # 100 x 0.188 + 200 fees of 0.08
    assert summary.comparisons[0].saved_usd is None and summary.carried_model.saved_usd is None


def test_two_reports_for_one_round_and_role_are_listed_but_not_compared() -> None:
    first, second = _job(1, "round", 10, 0), _job(1, "round", 20, 0)
    second = Recorded(second.summary.model_copy(update={"job_name": "gtchain-birds-x1-r1-a2"}), "s", "r")

    summary = build_chain_summary("birds", [first, second, _job(1, "baseline", 10, 0)], [], "t")

    assert len(summary.rounds) == 3 and summary.comparisons == []
    assert summary.warnings == [
        "round 1 has 2 round reports (gtchain-birds-x1-r1-a1, gtchain-birds-x1-r1-a2); not compared"
    ]


def test_the_html_page_embeds_the_figures_and_lists_every_round() -> None:
    recorded = [_job(1, "round", 650, 600), _job(2, "round", 250, 1000), _job(2, "baseline", 500, 750)]
    summary = build_chain_summary("birds", recorded, [], "2026-11-24T12:00:00.000Z")
    chain_png = chain_figure(summary)
    job_pngs = {r.summary.job_name: job_figure(r.summary) for r in recorded}

    page = render_chain_html(summary, chain_png, job_pngs)

    embedded = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert [base64.b64decode(e) for e in embedded] == [chain_png, *(job_pngs[r.job_name] for r in summary.rounds)]
    rows = re.findall(r'<tr class="(round|baseline)">\s*<td>(\d+)</td>\s*<td class="text">', page)
    assert rows == [("round", "1"), ("round", "2"), ("baseline", "2")]
    # a round says whether it started from a carried model; none of these did
    kinds = re.findall(r'<tr class="(?:round|baseline)">\s*<td>\d+</td>\s*<td class="text">([^<]+)</td>', page)
    assert kinds == ["round (no model)", "round (no model)", "baseline (no model)"]
    for job in summary.rounds:
        assert f'href="../{job.job_name}/summary.json"' in page
        assert f'<span class="name">{job.job_name}</span>' in page  # never broken mid-name
    assert "$27.00" in page and "+20.0 points" in page
    assert "<td>1,250</td>" in page  # thousands separators
    assert "<details" not in page  # nothing folded away
    assert "http" not in page.replace("http-equiv", "").replace("https://docs.aws.amazon.com", "")


def test_figures_are_pngs_that_depend_only_on_the_data() -> None:
    round_job = _job(1, "round", 650, 600).summary
    curve = TrainingCurve(iteration=2, training_job_name="t2", samples=190, metric="validation mAP", values=[0.1, 0.3])
    with_curves = round_job.model_copy(update={"training_curves": [curve]})

    first, again = job_figure(round_job), job_figure(round_job.model_copy(update={"generated_at": "later"}))

    assert first.startswith(PNG) and first == again
    assert job_figure(with_curves) != first  # the third panel


def test_nothing_imports_matplotlib_until_a_figure_is_drawn() -> None:
    code = (
        "import sys, json\n"
        "import functions.report.app, gtchain.service.report.job\n"
        "import gtchain.rendering.figures\n"
        "import gtchain.service.reconcile\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in ('matplotlib', 'numpy'))))\n"
    )
    result = subprocess.run(  # noqa: S603 (our own interpreter, our own code)
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True,
        env={"PATH": "", "POWERTOOLS_TRACE_DISABLED": "1"},
    )  # fmt: skip
    assert json.loads(result.stdout) == []
