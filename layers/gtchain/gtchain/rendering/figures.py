"""The reports' figures as PNG bytes. matplotlib is imported here, inside the functions, and only when a
figure is drawn: importing it costs ~300 ms and no other function needs it. Figures are built with the
object API on the Agg canvas (no pyplot state), so concurrent reporters in one process do not interfere.

Every figure says what it shows: a title naming the chain, the round and the job (also written into the PNG's
tEXt "Title", so a reader or a test can tell which job a file shows without looking at it). Legends sit beside
the plot, never over data; bars carry their values; shares and costs are drawn from 0; a round and its baseline
stand side by side on one axis, or on axes that share their scale. The chain's figures grow with the number of
rounds, and their bar labels turn upright when the bars get narrow, so 20 rounds stay readable.
"""

import gc
import io
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gtchain.domain.report.models import ChainJob, ChainSummary, ForecastCheck, JobSummary

HUMAN, MACHINE = "#1f77b4", "#ff7f0e"  # matplotlib's first two colours: humans blue, machines orange
WITH_MODEL, COLD, BASELINE = "#2ca02c", "#7f7f7f", "#9467bd"
FONT = 9
MANY_BARS = 12  # from here on, bar labels are written upright


def _figure(width: float, height: float) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=100, facecolor="white", layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _png(figure: Any, title: str) -> bytes:
    from matplotlib import rcParams

    figure.suptitle(title, fontsize=FONT + 3 if len(title) < 110 else FONT + 1, fontweight="bold")
    # savefig runs the layout engine in a draw of its own, then draws again to render: lay the figure out here,
    # once, and let savefig render it with that layout (the same pixels, one draw fewer). With no engine left (and
    # none asked for by rcParams), savefig draws once.
    engine = figure.get_layout_engine()
    if engine is not None and not (rcParams["figure.autolayout"] or rcParams["figure.constrained_layout.use"]):
        engine.execute(figure)
        figure.set_layout_engine(None)
    buffer = io.BytesIO()
    # No "Software" entry: the bytes then depend only on the data, so a re-run writes the same file. The title
    # goes into the PNG's tEXt chunk too.
    figure.savefig(buffer, format="png", metadata={"Software": None, "Title": title})
    return buffer.getvalue()


@contextmanager
def _freed() -> Iterator[None]:
    """Free a figure as soon as it is saved, not at the next full collection (its artists hold each other in
    cycles, and its pixels take megabytes). The objects made before are frozen, so the collection looks only at
    those made since: a few milliseconds."""
    gc.freeze()
    try:
        yield
    finally:
        gc.collect()
        gc.unfreeze()


def png_title(png: bytes) -> str | None:
    """The title a figure was drawn with (its PNG tEXt "Title" chunk)."""
    from PIL import Image

    with Image.open(io.BytesIO(png)) as image:
        title = image.info.get("Title")
    return str(title) if title is not None else None


def _usd(amount: Decimal | None, places: int = 2) -> str:
    # Escaped: two "$" in one text would make matplotlib typeset the text between them as math.
    return "unknown" if amount is None else f"\\${amount:,.{places}f}"


def _legend(axes: Any, **options: Any) -> None:
    """Beside the plot, outside the axes: never over a bar or a line."""
    handles, labels = axes.get_legend_handles_labels()
    if handles:
        axes.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, frameon=False,
                    fontsize=FONT, **options)  # fmt: skip


def _label_bars(axes: Any, container: Any, labels: Sequence[str], upright: bool) -> None:
    axes.bar_label(container, labels=list(labels), padding=2, fontsize=FONT - 1, rotation=90 if upright else 0)


def _headroom(axes: Any, top: float, upright: bool) -> None:
    """From 0, with room above the tallest bar for its label."""
    axes.set_ylim(0, max(top, 1e-9) * (1.35 if upright else 1.15))


def _empty(axes: Any, text: str) -> None:
    axes.text(0.5, 0.5, text, ha="center", va="center", transform=axes.transAxes, fontsize=FONT + 1, color="#555")
    axes.set_xticks([])
    axes.set_yticks([])


# ---- one job ---------------------------------------------------------------------------------------------------


def _task(summary: "JobSummary") -> str | None:
    if summary.settings is not None:
        return summary.settings.task
    return "bounding-box" if summary.detail.human_boxes + summary.detail.machine_boxes else None


def _things(task: str | None) -> str:
    """What the job's objects are, in words: text classification labels texts, not images."""
    return {"text-classification": "texts", None: "objects"}.get(task, "images")


def job_title(summary: "JobSummary") -> str:
    if summary.chain_id is None or summary.round is None:
        return f"Labeling job {summary.job_name}"
    role = {"baseline": " baseline (same objects, no model)", "audit": " audit of its machine labels"}.get(
        summary.role or "", ""
    )
    return f"Chain {summary.chain_id} · round {summary.round}{role} · {summary.job_name}"


def _cost_panel(axes: Any, summary: "JobSummary", ymax: float | None = None) -> None:
    rows = summary.iterations
    numbers = [row.iteration for row in rows]
    fee = summary.cost.fee_per_object_usd
    known = summary.cost.human_object_usd is not None
    human = [float(row.human_usd if row.human_usd is not None else row.human * fee) for row in rows]
    machine = [float(row.machine_usd) for row in rows]
    upright = len(rows) >= MANY_BARS
    axes.bar(numbers, human, width=0.7, color=HUMAN, hatch=None if known else "//",
             label="human" if known else "human (fees only: worker pay unknown)")  # fmt: skip
    stacked = axes.bar(numbers, machine, width=0.7, bottom=human, color=MACHINE, label="machine")
    totals = [h + m for h, m in zip(human, machine, strict=True)]
    _label_bars(axes, stacked, [f"${t:,.2f}" for t in totals], upright)
    cost = summary.cost
    human_total = _usd(cost.human_usd) if known else f"{_usd(cost.known_usd - cost.machine_usd)} fees + unknown pay"
    axes.set_title(f"Cost per iteration: {human_total} human, {_usd(cost.machine_usd)} machine", fontsize=FONT + 1)
    axes.set_xlabel("Iteration")
    axes.set_ylabel("Cost (USD)")
    axes.set_xticks(numbers)
    _headroom(axes, ymax if ymax is not None else max(totals, default=0.0), upright)
    _legend(axes)


def _count_panel(axes: Any, summary: "JobSummary", boxes: bool, ymax: float | None = None) -> None:
    rows = summary.iterations
    numbers = [row.iteration for row in rows]
    things = "boxes" if boxes else _things(_task(summary))
    human = [row.human_boxes if boxes else row.human for row in rows]
    machine = [row.machine_boxes if boxes else row.machine for row in rows]
    upright = len(rows) >= MANY_BARS
    axes.bar(numbers, human, width=0.7, color=HUMAN, label=f"{things}, human")
    stacked = axes.bar(numbers, machine, width=0.7, bottom=human, color=MACHINE, label=f"{things}, machine")
    totals = [h + m for h, m in zip(human, machine, strict=True)]
    _label_bars(axes, stacked, [f"{t:,}" for t in totals], upright)
    detail = summary.detail
    if boxes:
        title = f"Boxes per iteration: {detail.human_boxes:,} human, {detail.machine_boxes:,} machine"
    else:
        title = f"Labeled {things} per iteration: {detail.human:,} human, {detail.machine:,} machine"
    axes.set_title(title, fontsize=FONT + 1)
    axes.set_xlabel("Iteration")
    axes.set_ylabel(things.capitalize())
    axes.set_xticks(numbers)
    _headroom(axes, ymax if ymax is not None else float(max(totals, default=0)), upright)
    _legend(axes)


def _curve_panel(axes: Any, summary: "JobSummary") -> None:
    from matplotlib import colormaps
    from matplotlib.ticker import MaxNLocator

    curves = summary.training_curves
    cmap = colormaps["viridis"]
    step = max(1, len(curves) // 8)  # at most ~8 legend entries: first, every step-th, last
    for index, curve in enumerate(curves):
        samples = "" if curve.samples is None else f", {curve.samples:,} samples"
        shown = index % step == 0 or index == len(curves) - 1
        axes.plot(range(1, len(curve.values) + 1), curve.values, marker=".", linewidth=1.2,
                  color=cmap(index / max(1, len(curves) - 1)),
                  label=f"iteration {curve.iteration}{samples}" if shown else "_nolegend_")  # fmt: skip
    metric = ", ".join(sorted({c.metric for c in curves if c.metric})) or "validation metric"
    axes.set_title(f"Training curves ({metric}) per active-learning iteration", fontsize=FONT + 1)
    axes.set_xlabel("Training epoch")
    axes.set_ylabel(metric[:1].upper() + metric[1:])
    axes.set_ylim(0, 1.0)  # accuracy and mAP are shares: from 0, so a flat curve looks flat
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.grid(True, alpha=0.3)
    _legend(axes)


def _class_panel(axes: Any, summary: "JobSummary") -> None:
    classes = summary.classes
    unit = summary.class_unit or "objects"
    names = [c.name for c in classes]
    shares = [100 * (c.machine_fraction or 0.0) for c in classes]
    positions = list(range(len(classes)))
    bars = axes.barh(positions, shares, height=0.5, color=MACHINE, label=f"machine-labeled share of {unit}")
    axes.bar_label(bars, labels=[f"{s:.1f}% of {c.human + c.machine:,}" for s, c in zip(shares, classes, strict=True)],
                   padding=3, fontsize=FONT - 1)  # fmt: skip
    axes.set_yticks(positions, names, fontsize=FONT)
    axes.set_ylim(len(classes) - 0.4 + (0.6 if len(classes) < 3 else 0), -0.6 - (0.6 if len(classes) < 3 else 0))
    axes.set_xlim(0, 125)
    axes.set_xticks([0, 25, 50, 75, 100])
    axes.set_xlabel(f"Machine-labeled {unit} (%)")
    axes.set_title(f"Machine-labeled share per class ({unit})", fontsize=FONT + 1)


def job_panels(summary: "JobSummary") -> list[str]:
    """The panels a job's figure has: boxes only for bounding boxes, curves and classes when there are any."""
    boxes = _task(summary) == "bounding-box"
    return ["cost", "count", *(["boxes"] if boxes else []), *(["curves"] if summary.training_curves else []),
            *(["classes"] if summary.classes else [])]  # fmt: skip


def build_job_figure(summary: "JobSummary") -> Any:
    """The figure before it is saved (tests inspect its axes); job_figure saves it as PNG."""
    panels = job_panels(summary)
    columns = 2
    rows = -(-len(panels) // columns)
    figure = _figure(13, 0.6 + 3.6 * rows)
    grid = figure.add_gridspec(rows, columns)
    for index, panel in enumerate(panels):
        axes = figure.add_subplot(grid[index // columns, index % columns])
        axes.set_label(panel)
        if not summary.iterations and panel in ("cost", "count", "boxes"):
            _empty(axes, "No labels were written")
            continue
        if panel == "cost":
            _cost_panel(axes, summary)
        elif panel == "count":
            _count_panel(axes, summary, boxes=False)
        elif panel == "boxes":
            _count_panel(axes, summary, boxes=True)
        elif panel == "curves":
            _curve_panel(axes, summary)
        else:
            _class_panel(axes, summary)
    return figure


def job_figure(summary: "JobSummary") -> bytes:
    """The notebook's panels, for any task: cost and labeled objects per iteration (boxes too for bounding boxes),
    the active-learning training curves, and the machine-labeled share per class."""
    with _freed():
        return _png(build_job_figure(summary), job_title(summary))


def comparison_title(chain_id: str, round_number: int, with_model: str, without_model: str) -> str:
    return (f"Chain {chain_id} · round {round_number}: with the carried model ({with_model}) "
            f"vs baseline without it ({without_model})")  # fmt: skip


def build_comparison_figure(with_model: "JobSummary", without_model: "JobSummary") -> Any:
    """A round and its baseline side by side, on axes that share their scale: cost and labeled objects per
    iteration."""
    figure = _figure(13, 7.6)
    grid = figure.add_gridspec(2, 2)
    pair = (with_model, without_model)

    def top(summary: "JobSummary", what: str) -> float:
        fee = summary.cost.fee_per_object_usd
        if what == "cost":
            return max((float((r.human_usd if r.human_usd is not None else r.human * fee) + r.machine_usd)
                        for r in summary.iterations), default=0.0)  # fmt: skip
        return float(max((r.human + r.machine for r in summary.iterations), default=0))

    cost_top = max(top(s, "cost") for s in pair)
    count_top = max(top(s, "count") for s in pair)
    for column, summary in enumerate(pair):
        label = "with the carried model" if column == 0 else "baseline, no model"
        cost_axes = figure.add_subplot(grid[0, column])
        count_axes = figure.add_subplot(grid[1, column])
        if summary.iterations:
            _cost_panel(cost_axes, summary, ymax=cost_top)
            _count_panel(count_axes, summary, boxes=False, ymax=count_top)
        else:
            _empty(cost_axes, "No labels were written")
            _empty(count_axes, "No labels were written")
        cost_axes.set_title(f"{label}\n{cost_axes.get_title()}", fontsize=FONT + 1)
        count_axes.set_title(f"{label}\n{count_axes.get_title()}", fontsize=FONT + 1)
    return figure


def comparison_figure(chain_id: str, with_model: "JobSummary", without_model: "JobSummary") -> bytes:
    title = comparison_title(chain_id, with_model.round or 0, with_model.job_name, without_model.job_name)
    with _freed():
        return _png(build_comparison_figure(with_model, without_model), title)


def comparison_figures(summary: "ChainSummary", jobs: Sequence["JobSummary"]) -> dict[int, bytes]:
    """One comparison figure per round compared with its baseline, by round."""
    by_name = {job.job_name: job for job in jobs}
    figures = {}
    for comparison in summary.comparisons:
        with_model = by_name.get(comparison.with_model.job_name)
        without_model = by_name.get(comparison.without_model.job_name)
        if with_model is not None and without_model is not None:
            figures[comparison.round] = comparison_figure(summary.chain_id, with_model, without_model)
    return figures


# ---- the chain ----------------------------------------------------------------------------------------------------


def chain_title(summary: "ChainSummary") -> str:
    numbers = sorted({job.round for job in summary.rounds})
    if not numbers:
        return f"Chain {summary.chain_id}: no job reported yet"
    span = f"round {numbers[0]}" if len(numbers) == 1 else f"rounds {numbers[0]}-{numbers[-1]}"
    jobs = len(summary.rounds)
    names = [job.job_name for job in summary.rounds]
    listed = ", ".join(names) if jobs <= 3 else f"{names[0]} ... {names[-1]}"
    return f"Chain {summary.chain_id} · {span} ({jobs} job{'s' if jobs != 1 else ''})\n{listed}"


def bar_positions(jobs: Sequence["ChainJob"]) -> dict[str, float]:
    """Each job's x: a round alone sits on its tick; a round and its baseline stand either side of it."""
    paired = {job.round for job in jobs if job.role == "baseline"} & {job.round for job in jobs if job.role == "round"}
    offsets = {"round": -0.21, "baseline": 0.21}
    return {job.job_name: job.round + (offsets[job.role] if job.round in paired else 0.0) for job in jobs}


def _kind(job: "ChainJob") -> tuple[str, str, str | None]:
    if job.role == "baseline":
        return "baseline (same objects, no model)", BASELINE, "//"
    if job.initial_model_arn:
        return "round with the carried model", WITH_MODEL, None
    return "round without a model (cold start)", COLD, None


def _by_kind(jobs: Sequence["ChainJob"]) -> dict[tuple[str, str, str | None], list["ChainJob"]]:
    groups: dict[tuple[str, str, str | None], list[ChainJob]] = {}
    for job in jobs:
        groups.setdefault(_kind(job), []).append(job)
    return groups


def _per_object_panel(axes: Any, summary: "ChainSummary", x: dict[str, float], width: float, upright: bool) -> None:
    top = 0.0
    for (label, color, hatch), jobs in _by_kind(summary.rounds).items():
        values = [float(j.average_per_object_usd if j.average_per_object_usd is not None else
                        j.known_usd / max(1, j.objects.human + j.objects.machine)) for j in jobs]  # fmt: skip
        if any(j.average_per_object_usd is None for j in jobs):
            label += " (fees only where pay is unknown)"
        bars = axes.bar([x[j.job_name] for j in jobs], values, width=width, color=color, hatch=hatch,
                        edgecolor="white", label=label)  # fmt: skip
        _label_bars(axes, bars, [f"${v:,.3f}" for v in values], upright)
        top = max(top, *values)
    axes.set_title("Cost per labeled object by round (with and without the carried model)", fontsize=FONT + 1)
    axes.set_ylabel("USD per labeled object")
    _headroom(axes, top, upright)
    _legend(axes)


def _share_panel(axes: Any, summary: "ChainSummary", x: dict[str, float], width: float, upright: bool) -> None:
    for (label, color, hatch), jobs in _by_kind(summary.rounds).items():
        values = [100 * (j.machine_fraction or 0.0) for j in jobs]
        bars = axes.bar([x[j.job_name] for j in jobs], values, width=width, color=color, hatch=hatch,
                        edgecolor="white", label=label)  # fmt: skip
        _label_bars(axes, bars, [f"{v:.1f}%" for v in values], upright)
    axes.set_title("Machine-labeled share by round", fontsize=FONT + 1)
    axes.set_ylabel("Machine-labeled (%)")
    axes.set_ylim(0, 125 if upright else 112)
    axes.set_yticks([0, 25, 50, 75, 100])
    _legend(axes)


def _forecast_panel(
    axes: Any, checks: Sequence["ForecastCheck"], x: dict[str, float], width: float, upright: bool
) -> None:
    positions = [x[c.job_name] for c in checks if c.job_name in x]
    checks = [c for c in checks if c.job_name in x]
    actual = [float(c.actual_usd) for c in checks]
    bars = axes.bar(positions, actual, width=width, color="#8c8c8c", label="actual cost")
    # Inside the bars: above them sit the forecast's markers.
    axes.bar_label(bars, labels=[f"${v:,.0f}" for v in actual], label_type="center", color="white",
                   fontsize=FONT - 1, rotation=90 if upright else 0)  # fmt: skip
    axes.scatter(positions, [float(c.worst_case_usd) for c in checks], marker="_", s=260, color="#d62728",
                 linewidths=2, label="worst case (every object human)", zorder=3)  # fmt: skip
    axes.scatter(positions, [float(c.floor_usd) for c in checks], marker="_", s=260, color="#2ca02c",
                 linewidths=2, label="floor (Ground Truth's schedule at best)", zorder=3)  # fmt: skip
    expected = [c for c in checks if c.expected_usd is not None]
    if expected:
        mid = [float(c.expected_usd or 0) for c in expected]
        low = [m - float(c.expected_low_usd or 0) for m, c in zip(mid, expected, strict=True)]
        high = [float(c.expected_high_usd or 0) - m for m, c in zip(mid, expected, strict=True)]
        axes.errorbar([x[c.job_name] for c in expected], mid, yerr=[low, high], fmt="o", color="black", markersize=4,
                      capsize=3, label="expected before the round (band), from earlier rounds", zorder=4)  # fmt: skip
    top = max([float(c.worst_case_usd) for c in checks] + actual, default=0.0)
    axes.set_title("Forecast before each round vs actual cost", fontsize=FONT + 1)
    axes.set_ylabel("Cost (USD)")
    _headroom(axes, top, upright)
    _legend(axes)


def build_chain_figure(summary: "ChainSummary") -> Any:
    """The figure before it is saved (tests inspect its axes); chain_figure saves it as PNG."""
    jobs = summary.rounds
    numbers = sorted({job.round for job in jobs})
    panels = 3 if summary.forecast_vs_actual else 2
    figure = _figure(max(11.0, min(22.0, 4.5 + 0.42 * len(jobs))), 0.6 + 3.3 * panels)
    if not jobs:
        _empty(figure.add_subplot(1, 1, 1), "No job of this chain has been reported yet")
        return figure
    axes_list = figure.subplots(panels, 1, sharex=True, squeeze=False)[:, 0]
    x = bar_positions(jobs)
    paired = any(job.role == "baseline" for job in jobs)
    width = 0.4 if paired else 0.6
    upright = len(jobs) >= MANY_BARS
    _per_object_panel(axes_list[0], summary, x, width, upright)
    _share_panel(axes_list[1], summary, x, width, upright)
    if panels == 3:
        _forecast_panel(axes_list[2], summary.forecast_vs_actual, x, width, upright)
    for axes, label in zip(axes_list, ("per-object", "share", "forecast"), strict=False):
        axes.set_label(label)
        axes.set_xticks(numbers)
        axes.tick_params(labelbottom=True)
        pad = max(0.7, (4 - (max(numbers) - min(numbers))) / 2)  # a lone round's bar does not fill the panel
        axes.set_xlim(min(numbers) - pad, max(numbers) + pad)
    axes_list[-1].set_xlabel("Round")
    return figure


def chain_figure(summary: "ChainSummary") -> bytes:
    """Cost per object, machine-labeled share and forecast against actual, by round; each baseline beside its
    round on the same axes."""
    with _freed():
        return _png(build_chain_figure(summary), chain_title(summary))
