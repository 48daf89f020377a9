"""The reports' figures as PNG bytes. matplotlib is imported here, inside the functions, and only when a
figure is drawn: importing it costs ~300 ms and no other function needs it. Figures are built with the
object API on the Agg canvas (no pyplot state), so concurrent reporters in one process do not interfere.
"""

import io
from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gtchain.domain.report.models import ChainSummary, JobSummary

HUMAN, MACHINE = "C0", "C1"


def _figure(panels: int) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(5 * panels, 5), dpi=100, facecolor="white")
    FigureCanvasAgg(figure)
    return figure


def _png(figure: Any) -> bytes:
    figure.tight_layout()
    buffer = io.BytesIO()
    # No "Software" entry: the bytes then depend only on the data, so a re-run writes the same file.
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


def _usd(amount: Decimal | None) -> str:
    # Escaped: two "$" in one title would make matplotlib typeset the text between them as math.
    return "unknown" if amount is None else f"\\${amount:,.2f}"


def job_figure(summary: "JobSummary") -> bytes:
    """The notebook's panels: cost per iteration, images and boxes per iteration, training curves."""
    from matplotlib import colormaps
    from matplotlib.ticker import MaxNLocator

    curves = summary.training_curves
    figure = _figure(3 if curves else 2)
    rows = summary.iterations
    numbers = [row.iteration for row in rows]
    fee = summary.cost.fee_per_object_usd
    price_known = summary.cost.human_object_usd is not None

    cost_axes = figure.add_subplot(1, 3 if curves else 2, 1)
    human_usd = [float(row.human_usd if row.human_usd is not None else row.human * fee) for row in rows]
    machine_usd = [float(row.machine_usd) for row in rows]
    cost_axes.bar(numbers, human_usd, width=0.8, color=HUMAN, hatch=None if price_known else "//",
                  label="human" if price_known else "human (fees only: worker pay unknown)")  # fmt: skip
    cost_axes.bar(numbers, machine_usd, width=0.8, bottom=human_usd, color=MACHINE, label="auto")
    cost = summary.cost
    human_total = (
        _usd(cost.human_usd) if price_known else f"{_usd(cost.known_usd - cost.machine_usd)} fees + unknown pay"
    )
    cost_axes.set_title(f"Total annotation costs:\n{human_total} human, {_usd(cost.machine_usd)} auto")
    cost_axes.set_xlabel("Iteration")
    cost_axes.set_ylabel("Cost in dollars")
    cost_axes.set_xticks(numbers)
    cost_axes.legend()

    count_axes = figure.add_subplot(1, 3 if curves else 2, 2)
    detail = summary.detail
    images = [n - 0.2 for n in numbers]
    boxes = [n + 0.2 for n in numbers]
    machine_images = [row.machine for row in rows]
    machine_boxes = [row.machine_boxes for row in rows]
    count_axes.bar(images, machine_images, width=0.4, color=MACHINE, label="images, auto")
    count_axes.bar(images, [r.human for r in rows], width=0.4, bottom=machine_images, color=HUMAN,
                   label="images, human")  # fmt: skip
    count_axes.bar(boxes, machine_boxes, width=0.4, color=MACHINE, alpha=0.4, label="boxes, auto")
    count_axes.bar(boxes, [r.human_boxes for r in rows], width=0.4, bottom=machine_boxes, color=HUMAN, alpha=0.4,
                   label="boxes, human")  # fmt: skip
    count_axes.set_title(
        f"Total annotation counts:\nHuman: {detail.human} images, {detail.human_boxes} boxes\n"
        f"Machine: {detail.machine} images, {detail.machine_boxes} boxes"
    )
    count_axes.set_xlabel("Iteration (left bar: images, right bar: boxes)")
    count_axes.set_ylabel("Count")
    count_axes.set_xticks(numbers)
    count_axes.legend()

    if curves:
        curve_axes = figure.add_subplot(1, 3, 3)
        cmap = colormaps["coolwarm"]
        for index, curve in enumerate(curves):
            samples = "" if curve.samples is None else f", {curve.samples} samples"
            curve_axes.plot(range(1, len(curve.values) + 1), curve.values, marker=".",
                            color=cmap(index / max(1, len(curves) - 1)),
                            label=f"iteration {curve.iteration}{samples}")  # fmt: skip
        curve_axes.set_title("Active learning training curves")
        curve_axes.set_xlabel("Training epoch")
        curve_axes.set_ylabel(", ".join(sorted({c.metric for c in curves if c.metric})) or "Validation metric")
        curve_axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        curve_axes.grid(True)
        curve_axes.legend()
    return _png(figure)


def chain_figure(summary: "ChainSummary") -> bytes:
    """Machine fraction and cost per round, each baseline (same objects, no model) beside its round."""
    figure = _figure(2)
    fraction_axes = figure.add_subplot(1, 2, 1)
    cost_axes = figure.add_subplot(1, 2, 2)
    for role, offset, color, label in (
        ("round", -0.2, HUMAN, "round"), ("baseline", 0.2, MACHINE, "baseline (same objects, no model)"),
    ):  # fmt: skip
        jobs = [job for job in summary.rounds if job.role == role]
        if not jobs:
            continue
        x = [job.round + offset for job in jobs]
        fraction_axes.bar(x, [100 * (job.machine_fraction or 0) for job in jobs], width=0.4, color=color,
                          label=label)  # fmt: skip
        known = [job for job in jobs if job.total_usd is not None]
        unknown = [job for job in jobs if job.total_usd is None]
        cost_axes.bar([job.round + offset for job in known], [float(job.total_usd or 0) for job in known],
                      width=0.4, color=color, label=label)  # fmt: skip
        if unknown:
            cost_axes.bar([job.round + offset for job in unknown], [float(job.known_usd) for job in unknown],
                          width=0.4, color=color, hatch="//", alpha=0.5,
                          label=f"{label}: fees only, pay unknown")  # fmt: skip
    numbers = sorted({job.round for job in summary.rounds})
    fraction_axes.set_title("Machine-labeled objects per round")
    fraction_axes.set_ylabel("Machine-labeled (%)")
    fraction_axes.set_ylim(0, 100)
    cost_axes.set_title(f"Cost per round (total {_usd(summary.totals.total_usd)})")
    cost_axes.set_ylabel("Cost in dollars")
    for axes in (fraction_axes, cost_axes):
        axes.set_xlabel("Round")
        axes.set_xticks(numbers)
        if summary.rounds:
            axes.legend()
    return _png(figure)
