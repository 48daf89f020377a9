import json
from html.parser import HTMLParser
from pathlib import Path

import liquid
import pytest

from gtchain.domain.spec import ChainSpec
from gtchain.domain.worker_ui import render_label_categories, render_worker_template

SPEC = json.loads((Path(__file__).parents[2] / "data" / "chain.json").read_text())


@pytest.mark.parametrize(
    "task,labels,attribute,element",
    [("bounding-box", ["Bird"], "category", "crowd-bounding-box"),
     ("image-classification", ["Bird", "Plane"], "category", "crowd-image-classifier"),
     ("text-classification", ["Good", "Bad"], "sentiment", "crowd-classifier"),
     ("semantic-segmentation", ["Bird"], "category-ref", "crowd-semantic-segmentation")],
)  # fmt: skip
def test_each_task_gets_its_crowd_element_and_the_liquid_survives(
    task: str, labels: list[str], attribute: str, element: str
) -> None:
    spec = ChainSpec.model_validate({**SPEC, "task": task, "labels": labels, "labelAttributeName": attribute,
                                     "workforce": {**SPEC["workforce"], "pricePerTaskUsd": 0.84}})  # fmt: skip
    html = render_worker_template(spec)
    assert f"<{element}" in html and f"</{element}>" in html
    assert "{{ task.input.labels | to_json | escape }}" in html
    taskobject = "{{ task.input.taskObject | escape }}" if task == "text-classification" else "| grant_read_access }}"
    assert taskobject in html
    assert "Draw a tight box around each bird you see." in html


def test_instructions_are_html_escaped() -> None:
    spec = ChainSpec.model_validate({**SPEC, "instructions": {**SPEC["instructions"], "full": "<script>x</script>"}})
    assert "<script>x</script>" not in render_worker_template(spec)


def test_label_categories_file() -> None:
    spec = ChainSpec.model_validate(SPEC)
    assert json.loads(render_label_categories(spec)) == {
        "document-version": "2018-11-28",
        "labels": [{"label": "Bird"}],
    }


def test_regions_outside_the_fact_sheet_are_a_clear_error() -> None:
    from gtchain.domain.tasks import UnsupportedRegionError

    with pytest.raises(UnsupportedRegionError, match="eu-south-2"):
        ChainSpec.model_validate(SPEC).profile.pre_lambda_arn("eu-south-2")


# Liquid: every rendered template is parsed and rendered the way Ground Truth does, per task.
HOSTILE = [
    "{{ task.input.taskObject | grant_read_access }}",
    "{% if x %}",
    "{% raw %}",
    "{% endraw %}",
    "{%- comment -%}",
    '}} {{ "a" | append: "b" }} %}',
    "<img src=x onerror=alert(1)>",
    '" onmouseover="alert(1)',
    "{{{",
]
TASKS = {
    "bounding-box": (["Bird"], "category"),
    "image-classification": (["Bird", "Plane"], "category"),
    "text-classification": (["Good", "Bad"], "sentiment"),
    "semantic-segmentation": (["Bird"], "category-ref"),
}
SIGNED = "https://signed.example/"


def _liquid() -> liquid.Environment:
    """Liquid with stand-ins for the filters Ground Truth adds (grant_read_access, to_json, skip_autoescape); strict
    about undefined names, so the template refers to nothing but task.input."""
    env = liquid.Environment(undefined=liquid.StrictUndefined)
    env.filters["grant_read_access"] = lambda uri: SIGNED + str(uri).removeprefix("s3://")
    env.filters["to_json"] = json.dumps
    env.filters["skip_autoescape"] = lambda value: value
    return env


class _Html(HTMLParser):
    """The tags, attributes and text a browser would see."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        if data.strip():
            self.text.append(data.strip())


def _spec(task: str, text: str) -> ChainSpec:
    labels, attribute = TASKS[task]
    instructions = {**SPEC["instructions"], "title": text[:128], "description": f"describe {text}",
                    "short": f"short {text}", "full": f"full {text}"}  # fmt: skip
    return ChainSpec.model_validate({**SPEC, "task": task, "labels": labels, "labelAttributeName": attribute,
                                     "instructions": instructions,
                                     "workforce": {**SPEC["workforce"], "pricePerTaskUsd": 0.84}})  # fmt: skip


def _render_as_ground_truth(html: str, task_object: str, labels: list[str]) -> _Html:
    rendered = _liquid().from_string(html).render(task={"input": {"taskObject": task_object, "labels": labels}})
    page = _Html()
    page.feed(rendered)
    page.close()
    return page


@pytest.mark.parametrize("task", list(TASKS))
@pytest.mark.parametrize("text", HOSTILE)
def test_user_text_reaches_workers_as_inert_text(task: str, text: str) -> None:
    spec = _spec(task, text)
    html = render_worker_template(spec)
    for delimiter in ("{{", "}}", "{%", "%}"):  # only the template's own Liquid is left
        assert html.count(delimiter) == render_worker_template(_spec(task, "plain")).count(delimiter)

    source = "s3://data/a.jpg" if task != "text-classification" else "just text"
    page = _render_as_ground_truth(html, source, list(TASKS[task][0]))

    [(_, element)] = [(tag, attrs) for tag, attrs in page.tags if tag == spec.profile.crowd_element]
    assert element["header"] == text[:128]
    assert f"describe {text}" in page.text and f"full {text}" in page.text and f"short {text}" in page.text
    tags = {"script", "crowd-form", spec.profile.crowd_element, "classification-target", "full-instructions",
            "short-instructions", "p"}  # fmt: skip
    assert {tag for tag, _ in page.tags} <= tags
    assert [attrs for tag, attrs in page.tags if tag == "script"] == [
        {"src": "https://assets.crowd.aws/crowd-html-elements.js"}
    ]
    if task != "text-classification":
        assert element["src"] == SIGNED + "data/a.jpg"


@pytest.mark.parametrize("task", list(TASKS))
def test_hostile_labels_and_objects_stay_data(task: str) -> None:
    labels = ["{{ x | grant_read_access }}", '"><script>alert(1)</script>']
    source = "<img src=x onerror=alert(1)>{% raw %}" if task == "text-classification" else "s3://data/a.jpg"
    page = _render_as_ground_truth(render_worker_template(_spec(task, "plain")), source, labels)

    [(_, element)] = [(tag, attrs) for tag, attrs in page.tags if tag == _spec(task, "plain").profile.crowd_element]
    assert json.loads(element["categories" if "classif" in task else "labels"] or "") == labels
    assert "img" not in {tag for tag, _ in page.tags}
    if task == "text-classification":
        assert source in page.text  # shown as text, not as an image
