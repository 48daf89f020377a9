"""The chain report as one self-contained HTML page: the figures travel inside it as data URIs, the styles in it;
nothing is fetched, so it opens offline, and it prints on A4."""

import base64
from decimal import Decimal

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from gtchain.domain.report.models import ChainSummary


def _usd(amount: Decimal | None, places: int = 2) -> str:
    if amount is None:
        return "unknown"
    sign = "-" if amount < 0 else ""
    return f"{sign}${abs(amount):,.{places}f}"


_templates = Environment(
    loader=PackageLoader("gtchain.rendering", "templates"),
    autoescape=select_autoescape(default=True),
    undefined=StrictUndefined,
    keep_trailing_newline=True,
)
_templates.filters["usd"] = _usd
_templates.filters["usd4"] = lambda amount: _usd(amount, 4)
_templates.filters["count"] = lambda value: "n/a" if value is None else f"{value:,}"
_templates.filters["pct"] = lambda value: "n/a" if value is None else f"{100 * value:.1f}%"
_templates.filters["pts"] = lambda value: "n/a" if value is None else f"{100 * value:+.1f} points"


def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode()


def render_chain_html(
    summary: ChainSummary, chain_png: bytes, job_pngs: dict[str, bytes], comparison_pngs: dict[int, bytes] | None = None
) -> str:
    """A self-contained page: the figures travel inside it as data URIs."""
    return _templates.get_template("chain-report.html.j2").render(
        summary=summary,
        chain_figure=_data_uri(chain_png),
        job_figures={name: _data_uri(png) for name, png in job_pngs.items()},
        comparison_figures={number: _data_uri(png) for number, png in (comparison_pngs or {}).items()},
    )
