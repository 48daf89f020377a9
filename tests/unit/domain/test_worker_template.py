import json
from pathlib import Path

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
    taskobject = "{{ task.input.taskObject }}" if task == "text-classification" else "| grant_read_access }}"
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
