"""Bad input: a clear error naming what is wrong and where, and nothing lost or started."""

import json
from typing import Any

import pytest

from tests.support import DATA_BUCKET, manifest_lines
from tests.unit.service.world import World, deliver, drop, jobs

GOOD = json.dumps({"source-ref": f"s3://{DATA_BUCKET}/images/ok.jpg"})


def _line(obj: Any) -> str:
    return json.dumps(obj)


BAD_MANIFESTS = {
    "not JSON": (f"{GOOD}\n{{'source-ref': 1\n", 2, None, "not valid JSON"),
    "no source-ref": (_line({"image": "s3://x/y"}) + "\n", 1, "source-ref", "has no source-ref"),
    "not an S3 URI": (_line({"source-ref": "https://example.com/a.jpg"}) + "\n", 1, "source-ref", "s3://bucket/key"),
    "bucket without key": (_line({"source-ref": "s3://bucket-only"}) + "\n", 1, "source-ref", "s3://bucket/key"),
    "bucket outside allow-list": (
        f"{GOOD}\n{GOOD.replace('ok', 'b')}\n" + _line({"source-ref": "s3://someone-elses-bucket/a.jpg"}) + "\n",
        3, "source-ref", "allow-list",
    ),
    "dollar attribute": (_line({"source-ref": f"s3://{DATA_BUCKET}/a.jpg", "$meta": 1}) + "\n", 1, "$meta", "'$'"),
    "line over 100,000 characters": (
        _line({"source-ref": f"s3://{DATA_BUCKET}/a.jpg", "note": "x" * 100_001}) + "\n", 1, None, "at most 100000",
    ),
    "attribute over 20,000 characters": (
        _line({"source-ref": f"s3://{DATA_BUCKET}/a.jpg", "note": "x" * 20_001}) + "\n", 1, "note", "over 20000",
    ),
    "empty manifest": ("\n\n", None, None, "no objects"),
    "duplicate object": (f"{GOOD}\n{_line({'source-ref': f's3://{DATA_BUCKET}/b.jpg'})}\n{GOOD}\n", 3, "source-ref",
                         "duplicate of line 1"),
    "array instead of object": ('["s3://a/b"]\n', 1, None, "JSON object"),
    "inline text for an image task": (_line({"source": "a sentence"}) + "\n", 1, "source", "need source-ref"),
}  # fmt: skip


@pytest.fixture
def chain(world: World, spec_document: dict[str, Any]) -> World:
    drop(world, "chains/birds/chain.json", json.dumps(spec_document))
    world.published()
    return world


@pytest.mark.parametrize("case", list(BAD_MANIFESTS))
def test_a_bad_manifest_is_rejected_with_line_and_field(chain: World, case: str) -> None:
    body, line, field, message = BAD_MANIFESTS[case]
    key = "chains/birds/inbox/batch 1.manifest"

    outcome = drop(chain, key, body)

    assert outcome["action"] == "rejected"
    report = json.loads(chain.get(outcome["detail"]))
    assert outcome["detail"].startswith("chains/birds/errors/batch%201.manifest@")
    first = report["errors"][-1] if case == "bucket outside allow-list" else report["errors"][0]
    assert message in first["message"]
    assert first.get("line") == line and first.get("field") == field
    assert report["object"] == f"s3://{DATA_BUCKET}/{key}"
    # the user's object is untouched, nothing was queued or started
    assert chain.get(key).decode() == body
    assert jobs() == {}
    assert chain.ports.store.list_rounds("birds") == []
    [rejected] = [e for e in chain.published() if e["detail-type"] == "Manifest Rejected"]
    assert rejected["detail"]["key"] == key and rejected["detail"]["report"].endswith(outcome["detail"])
    assert len(chain.notifications()) == 1


def test_a_round_over_100000_objects_is_rejected(chain: World, spec_document: dict[str, Any]) -> None:
    spec_document["rounds"] = 1
    drop(chain, "chains/birds/chain.json", json.dumps(spec_document))
    outcome = drop(chain, "chains/birds/inbox/huge.manifest", manifest_lines(100_001))
    report = json.loads(chain.get(outcome["detail"]))
    assert "100001 objects" in report["errors"][0]["message"] and "at most 100000" in report["errors"][0]["message"]
    assert jobs() == {}


def test_a_duplicate_event_writes_the_report_and_notifies_once(chain: World) -> None:
    key = "chains/birds/inbox/bad.manifest"
    version = chain.put(key, "not json\n")

    first = deliver(key, version)
    second = deliver(key, version)

    assert first["action"] == "rejected" and second["action"] == "duplicate"
    assert len(chain.notifications()) == 1
    assert len([e for e in chain.published() if e["detail-type"] == "Manifest Rejected"]) == 1


BAD_SPECS: dict[str, tuple[Any, str | None, str]] = {
    "unknown task": ({"task": "polygon"}, "task", "Input should be"),
    "no labels": ({"labels": []}, "labels", "at least 1"),
    "over 50 labels": ({"labels": [f"L{i}" for i in range(51)]}, None, "1 to 50 labels, got 51"),
    "one label for classification": ({"task": "image-classification", "labels": ["Bird"]}, None, "2 to 50 labels"),
    "label attribute ending -metadata": ({"labelAttributeName": "boxes-metadata"}, None, "-metadata"),
    "label attribute with underscore": ({"labelAttributeName": "bird_boxes"}, None, "no '_'"),
    "label attribute ending -ref for boxes": ({"labelAttributeName": "boxes-ref"}, None, "'-ref' for bounding-box"),
    "public without content classifiers": (
        {"workforce": {"type": "public", "pricePerTaskUsd": 0.036}}, "workforce", "contentClassifiers",
    ),
    "public with a price Ground Truth does not allow": (
        {"workforce": {"type": "public", "pricePerTaskUsd": 0.05,
                       "contentClassifiers": ["FreeOfPersonallyIdentifiableInformation"]}},
        None, "0.05 is not a price",
    ),
    "rounds 0": ({"rounds": 0}, "rounds", "greater than or equal to 1"),
    "rounds 21": ({"rounds": 21}, "rounds", "less than or equal to 20"),
    "private without workteam": ({"workforce": {"type": "private"}}, "workforce", "workteamArn"),
    "unknown field": ({"roundz": 2}, "roundz", "Extra inputs"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(BAD_SPECS))
def test_a_bad_chain_json_is_rejected_and_nothing_is_created(
    world: World, spec_document: dict[str, Any], case: str
) -> None:
    change, field, message = BAD_SPECS[case]
    spec_document.update(change)

    outcome = drop(world, "chains/birds/chain.json", json.dumps(spec_document, indent=2))

    assert outcome["action"] == "rejected"
    assert outcome["detail"].startswith("chains/birds/errors/chain.json@")
    report = json.loads(world.get(outcome["detail"]))
    assert any(message in e["message"] and (field is None or e.get("field", "").startswith(field))
               for e in report["errors"]), report  # fmt: skip
    if field is not None:
        assert all(isinstance(e.get("line"), int) for e in report["errors"] if e.get("field") == field)
    assert world.ports.store.get_chain("birds") is None


def test_chain_json_that_is_not_json_names_the_line(world: World) -> None:
    outcome = drop(world, "chains/birds/chain.json", '{\n  "task": "bounding-box",\n  "labels": [Bird]\n}')
    report = json.loads(world.get(outcome["detail"]))
    assert report["errors"][0]["line"] == 3 and "not valid JSON" in report["errors"][0]["message"]


@pytest.mark.parametrize(
    "change",
    [{"task": "image-classification", "labels": ["Bird", "Plane"]}, {"labels": ["Bird", "Plane"]},
     {"labelAttributeName": "boxes"}],
)  # fmt: skip
def test_changing_what_the_model_depends_on_is_rejected(
    chain: World, spec_document: dict[str, Any], change: dict[str, Any]
) -> None:
    spec_document.update(change)
    outcome = drop(chain, "chains/birds/chain.json", json.dumps(spec_document))
    report = json.loads(chain.get(outcome["detail"]))
    assert {e["field"] for e in report["errors"]} == set(change)
    assert all("cannot change" in e["message"] for e in report["errors"])
    chain_record = chain.ports.store.get_chain("birds")
    assert chain_record is not None and chain_record.spec.label_attribute_name == "category"


@pytest.mark.parametrize("key", ["chains/Birds!/chain.json", "chains/-birds/inbox/a.manifest",
                                 "chains/" + "b" * 33 + "/chain.json", "chains/a--b/chain.json",
                                 "chains/a/b/chain.json"])  # fmt: skip
def test_an_invalid_chain_id_is_reported_under_rejected(world: World, key: str) -> None:
    outcome = drop(world, key, "{}")
    assert outcome["action"] == "rejected" and outcome["detail"].startswith("rejected/")
    report = json.loads(world.get(outcome["detail"]))
    assert report["errors"][0]["field"] == "chain id" and "lower-case letters" in report["errors"][0]["message"]
    assert world.get(key) == b"{}"
