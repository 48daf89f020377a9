"""chain.json's `exports`: optional, checked against the task, and a wrong entry names the field."""

import json
from typing import Any

import pytest

from gtchain.domain.exports import ExportFormat
from gtchain.domain.spec import parse_chain_spec
from local.dataset import chain_spec


def _parse(document: dict[str, Any]) -> tuple[Any, list[tuple[str | None, str]]]:
    spec, issues = parse_chain_spec(json.dumps(document, indent=2).encode())
    return spec, [(issue.field, issue.message) for issue in issues]


def test_exports_default_to_none() -> None:
    spec, issues = _parse(chain_spec("bounding-box"))

    assert issues == [] and spec.exports == []


@pytest.mark.parametrize(
    ("task", "exports"),
    [("bounding-box", ["coco", "yolo", "voc"]), ("image-classification", ["csv", "jsonl"]),
     ("text-classification", ["jsonl"])],
)  # fmt: skip
def test_each_task_takes_its_formats(task: str, exports: list[str]) -> None:
    spec, issues = _parse(chain_spec(task, exports=exports))

    assert issues == [] and spec.exports == [ExportFormat(e) for e in exports]


@pytest.mark.parametrize(
    ("task", "exports", "field", "message"),
    [
        (
            "bounding-box",
            ["coco", "csv"],
            "exports",
            "csv cannot be exported for bounding-box; choose from coco, yolo, voc",
        ),
        (
            "image-classification",
            ["yolo"],
            "exports",
            "yolo cannot be exported for image-classification; choose from csv, jsonl",
        ),
        (
            "bounding-box",
            ["coco", "tiff"],
            "exports.1",
            "Input should be 'coco', 'yolo', 'voc', 'csv', 'jsonl' or 'masks'",
        ),
        ("bounding-box", ["coco", "coco"], "exports", "exports lists coco more than once"),
        ("bounding-box", "coco", "exports", 'Input should be a valid list, not "coco"'),
    ],
)
def test_a_wrong_format_is_a_clear_error_naming_the_field(task: str, exports: Any, field: str, message: str) -> None:
    spec, issues = _parse(chain_spec(task, exports=exports))

    assert spec is None and issues == [(field, message)]


def test_semantic_segmentation_takes_masks_and_coco() -> None:
    document = chain_spec("semantic-segmentation", exports=["masks", "coco"])

    spec, issues = _parse(document)
    refused, refusal = _parse(document | {"exports": ["yolo"]})

    assert issues == [] and spec.exports == [ExportFormat.MASKS, ExportFormat.COCO]
    assert refused is None
    assert refusal == [("exports", "yolo cannot be exported for semantic-segmentation; choose from coco, masks")]
