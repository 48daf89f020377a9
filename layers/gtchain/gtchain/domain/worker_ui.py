"""The worker UI template and label category file a labeling job needs, rendered from chain.json."""

import hashlib
import json
from functools import cache
from typing import TYPE_CHECKING

from gtchain.domain.spec import ChainSpec

if TYPE_CHECKING:
    from jinja2 import Environment


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
    )


def render_worker_template(spec: ChainSpec) -> str:
    """Crowd HTML with the Liquid expressions Ground Truth fills in per task left intact."""
    template = _environment().get_template("worker-task.liquid.j2")
    return template.render(
        element=spec.profile.crowd_element,
        task=spec.task.value,
        instructions=spec.instructions,
    )


def render_label_categories(spec: ChainSpec) -> str:
    return json.dumps(
        {"document-version": "2018-11-28", "labels": [{"label": label} for label in spec.labels]}, indent=2
    )


def content_digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]
