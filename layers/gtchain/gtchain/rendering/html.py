"""The chain report as one self-contained HTML page."""

import base64

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from gtchain.domain.report.models import ChainSummary

_templates = Environment(
    loader=PackageLoader("gtchain.rendering", "templates"),
    autoescape=select_autoescape(default=True),
    undefined=StrictUndefined,
    keep_trailing_newline=True,
)
_templates.filters["usd"] = lambda amount: "unknown" if amount is None else f"${amount:,.2f}"
_templates.filters["usd4"] = lambda amount: "unknown" if amount is None else f"${amount:,.4f}"
_templates.filters["pct"] = lambda value: "n/a" if value is None else f"{100 * value:.1f}%"
_templates.filters["pts"] = lambda value: "n/a" if value is None else f"{100 * value:+.1f} points"


def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode()


def render_chain_html(summary: ChainSummary, chain_png: bytes, job_pngs: dict[str, bytes]) -> str:
    """A self-contained page: the figures travel inside it as data URIs."""
    return _templates.get_template("chain-report.html.j2").render(
        summary=summary,
        chain_figure=_data_uri(chain_png),
        job_figures={name: _data_uri(png) for name, png in job_pngs.items()},
    )
