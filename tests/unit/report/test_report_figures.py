"""The report's figures at 1, 4 and 20 rounds and for each task type: the files exist with sane sizes, each PNG's
title (its tEXt "Title", the suptitle it was drawn with) names its chain, round and job, legends sit beside the
data, shares and costs start at 0, a round and its baseline share their scale, and classification jobs have no
box panels and no image wording where they label text."""

import io
from typing import Any

import pytest
from PIL import Image

from gtchain.rendering.figures import (
    bar_positions,
    build_chain_figure,
    build_comparison_figure,
    build_job_figure,
    chain_figure,
    comparison_figures,
    job_figure,
    job_panels,
    png_title,
)
from tools.report_samples import chain_sample

pytestmark = pytest.mark.slow  # matplotlib draws every figure: make test, not make test-fast

TASKS = ["bounding-box", "image-classification", "text-classification"]


def _size(png: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(png)) as image:
        return image.size


def _drawn(figure: Any) -> Any:
    figure.canvas.draw()
    return figure.canvas.get_renderer()


def _legends_beside_their_axes(figure: Any) -> None:
    renderer = _drawn(figure)
    for axes in figure.axes:
        legend = axes.get_legend()
        if legend is None:
            continue
        box, plot = legend.get_window_extent(renderer), axes.get_window_extent(renderer)
        assert box.x0 >= plot.x1 - 1, f"the legend of {axes.get_label()!r} overlaps its plot"


@pytest.mark.parametrize("rounds", [1, 4, 20])
def test_chain_figures_stay_readable_at_1_4_and_20_rounds(rounds: int) -> None:
    sample = chain_sample(f"r{rounds}", rounds=rounds, baseline="once" if rounds == 20 else True)
    png = chain_figure(sample.summary)

    width, height = _size(png)
    assert 1000 <= width <= 2400 and 500 <= height <= 1200 and len(png) < 600_000
    title = png_title(png)
    assert title is not None and title.startswith("Chain birds")
    assert (f"rounds 1-{rounds}" if rounds > 1 else "round 1") in title
    assert sample.summary.rounds[0].job_name in title and sample.summary.rounds[-1].job_name in title
    figure = build_chain_figure(sample.summary)
    _legends_beside_their_axes(figure)
    assert all(axes.get_ylim()[0] == 0 for axes in figure.axes)  # shares and costs from 0
    # every bar carries its value
    per_object = next(a for a in figure.axes if a.get_label() == "per-object")
    labels = [t.get_text() for t in per_object.texts]
    assert len(labels) == len(sample.summary.rounds) and all(t.startswith("$") for t in labels)


def test_a_round_without_a_baseline_sits_on_its_tick_and_a_pair_stands_either_side() -> None:
    jobs = chain_sample("p", rounds=3, baseline="once").summary.rounds
    x = bar_positions(jobs)
    assert [(j.round, j.role, x[j.job_name]) for j in jobs] == [
        (1, "round", 1.0), (2, "round", 1.79), (2, "baseline", 2.21), (3, "round", 3.0)
    ]  # fmt: skip


@pytest.mark.parametrize("task", TASKS)
@pytest.mark.parametrize("rounds", [1, 4, 20])
def test_job_figures_for_each_task_are_titled_with_chain_round_and_job(task: str, rounds: int) -> None:
    sample = chain_sample("t", task=task, rounds=rounds, baseline=True, chain_id="c1")
    for summary in (sample.jobs[0], sample.jobs[-1]):
        png = job_figure(summary)
        width, height = _size(png)
        assert 1000 <= width <= 1600 and 400 <= height <= 1800 and len(png) < 400_000
        title = png_title(png)
        assert title is not None
        assert f"Chain c1 · round {summary.round}" in title and summary.job_name in title
        assert ("baseline" in title) == (summary.role == "baseline")


@pytest.mark.parametrize("task", TASKS)
def test_panels_fit_the_task_and_show_the_share_per_class(task: str) -> None:
    summary = chain_sample("t", task=task, rounds=2, baseline=False).jobs[-1]

    panels = job_panels(summary)

    assert ("boxes" in panels) == (task == "bounding-box")
    assert "classes" in panels and "curves" in panels
    figure = build_job_figure(summary)
    _legends_beside_their_axes(figure)
    titles = " ".join(axes.get_title() for axes in figure.axes)
    if task == "text-classification":
        assert "texts" in titles and "images" not in titles and "boxes" not in titles.lower()
    if task == "image-classification":
        assert "boxes" not in titles.lower()
    classes = next(a for a in figure.axes if a.get_label() == "classes")
    assert [t.get_text() for t in classes.get_yticklabels()] == [c.name for c in summary.classes]
    curves = next(a for a in figure.axes if a.get_label() == "curves")
    assert curves.get_ylim() == (0.0, 1.0)  # a curve of 0.89-0.90 is drawn flat, not as a cliff
    assert all(a.get_ylim()[0] == 0 for a in figure.axes if a.get_label() in ("cost", "count", "boxes"))


def test_a_round_and_its_baseline_are_drawn_on_the_same_scale() -> None:
    sample = chain_sample("c", rounds=2, baseline=True)
    with_model, without_model = sample.jobs[1], sample.jobs[2]
    figure = build_comparison_figure(with_model, without_model)
    cost_with, cost_without, count_with, count_without = (figure.axes[i] for i in (0, 2, 1, 3))
    assert cost_with.get_ylim() == cost_without.get_ylim()
    assert count_with.get_ylim() == count_without.get_ylim()

    [png] = comparison_figures(sample.summary, sample.jobs).values()
    title = png_title(png)
    assert title is not None and "round 2" in title
    assert with_model.job_name in title and without_model.job_name in title


def test_a_chain_with_no_job_yet_still_draws_a_titled_figure() -> None:
    summary = chain_sample("e", rounds=1).summary.model_copy(update={"rounds": [], "forecast_vs_actual": []})
    png = chain_figure(summary)
    assert png_title(png) == "Chain birds: no job reported yet"
