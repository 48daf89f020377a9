"""The worker UI template and label category file a labeling job needs, rendered from chain.json."""

import hashlib
import json
from functools import cache
from typing import TYPE_CHECKING

from gtchain.domain.spec import ChainSpec

if TYPE_CHECKING:
    from jinja2 import Environment


def inert(value: object) -> object:
    """Text from chain.json as the worker template shows it: HTML-escaped, and with every brace written as a
    character reference, so no Liquid delimiter ({{ }} {% %}) survives for Ground Truth to evaluate. The
    browser shows the text exactly as written. Applied to every {{ }} output by the Jinja environment."""
    from markupsafe import Markup, escape

    if isinstance(value, Markup) or not isinstance(value, str):
        return value
    # Safe: escape() has made the text inert HTML; the replacements only add character references.
    return Markup(str(escape(value)).replace("{", "&#123;").replace("}", "&#125;"))  # noqa: S704


@cache
def _environment() -> "Environment":
    """Built on first render: importing jinja2 is ~10% of a cold start (`make bench`), and start, advance and
    reconcile import this module whether or not the invocation launches a job."""
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    return Environment(
        loader=PackageLoader("gtchain.domain", "templates"),
        autoescape=select_autoescape(default=True),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        finalize=inert,
    )


def render_worker_template(spec: ChainSpec) -> str:
    """Crowd HTML with the Liquid expressions Ground Truth fills in per task left intact."""
    template = _environment().get_template("worker-task.liquid.j2")
    return template.render(
        element=spec.profile.crowd_element,
        task=spec.task.value,
        instructions=spec.instructions,
    )


def render_verification_template(spec: ChainSpec, verdicts: tuple[str, ...]) -> str:
    """The bounding box verification task of an audit: the machine's boxes over the image, judged good or bad."""
    template = _environment().get_template("verification-task.liquid.j2")
    return template.render(
        attribute=spec.label_attribute_name, verdicts=json.dumps(list(verdicts)), instructions=spec.instructions
    )


def render_label_categories(spec: ChainSpec) -> str:
    return json.dumps(
        {"document-version": "2018-11-28", "labels": [{"label": label} for label in spec.labels]}, indent=2
    )


def content_digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]
