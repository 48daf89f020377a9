"""chain.json as the service reads it: hostile documents are rejected issues with line and field, never exceptions."""

import json
from pathlib import Path
from typing import Any

import pytest

from gtchain.domain.spec import MAX_SPEC_BYTES, parse_chain_spec

SPEC: dict[str, Any] = json.loads((Path(__file__).parents[2] / "data" / "chain.json").read_text())
TEXT = json.dumps(SPEC, indent=2)
LINES = {key: number for number, line in enumerate(TEXT.splitlines(), start=1) for key in SPEC if f'  "{key}":' in line}


def _literal(key: str, literal: str) -> tuple[bytes, int]:
    """chain.json with one top-level value replaced by literal JSON text, as a user could write it; and its line."""
    text = json.dumps({**SPEC, key: "PLACEHOLDER"}, indent=2)
    line = next(n for n, text_line in enumerate(text.splitlines(), start=1) if "PLACEHOLDER" in text_line)
    return text.replace('"PLACEHOLDER"', literal, 1).encode(), line


def _issues(raw: bytes) -> list[dict[str, Any]]:
    spec, issues = parse_chain_spec(raw)
    assert spec is None and issues
    return [issue.as_dict() for issue in issues]


def test_the_sample_is_accepted() -> None:
    spec, issues = parse_chain_spec(TEXT.encode())
    assert issues == [] and spec is not None and spec.rounds == 2


# key: (literal, message fragment); each issue must name the key and its line
BAD_VALUES = {
    # issue 11, defect 2
    "rounds 5,000 digits": ("rounds", "1" * 5000, "out of range"),
    "workersPerObject 5,000 digits": ("workersPerObject", "1" * 5000, "out of range"),
    "rounds true": ("rounds", "true", "valid integer, not true"),
    "budget NaN": ("budgetUsd", "NaN", "NaN is not a JSON number"),
    "budget Infinity": ("budgetUsd", "Infinity", "Infinity is not a JSON number"),
    "budget -Infinity": ("budgetUsd", "-Infinity", "-Infinity is not a JSON number"),
    "budget 1e400": ("budgetUsd", "1e400", "out of range"),
    # siblings: strict types where lax pydantic would coerce
    "rounds false": ("rounds", "false", "valid integer, not false"),
    "rounds 2.0": ("rounds", "2.0", "valid integer, not 2.0"),
    "rounds as text": ("rounds", '"2"', 'valid integer, not "2"'),
    "maxConcurrentTasks true": ("maxConcurrentTasks", "true", "valid integer"),
    "baseline 1": ("baseline", "1", "not 1"),
    "baseline as text": ("baseline", '"yes"', 'not "yes"'),
    "autoLabeling 0": ("autoLabeling", "0", "valid boolean"),
    # siblings: numbers and money out of any sensible range
    "rounds -5,000 digits": ("rounds", "-" + "1" * 5000, "out of range"),
    "budget 1e400 as text": ("budgetUsd", '"1e400"', "less than or equal to"),
    "budget NaN as text": ("budgetUsd", '"NaN"', "finite number"),
    "budget with 5,000 decimals": ("budgetUsd", '"0.' + "1" * 5000 + '"', "decimal places"),
    "rounds nested 30,000 deep": ("rounds", "[" * 30_000, "nested more than 64 levels"),
    "title with a NUL": ("instructions", '{"title": "a\\u0000b"}', "control character U+0000"),
    "labels with a surrogate": ("labels", '["\\ud800"]', "unpaired surrogate"),
    "task with a surrogate": ("task", '"\\udfff"', "unpaired surrogate"),
}


@pytest.mark.parametrize("case", list(BAD_VALUES))
def test_a_hostile_value_is_an_issue_naming_its_line_and_field(case: str) -> None:
    key, literal, message = BAD_VALUES[case]
    raw, line = _literal(key, literal)
    issues = _issues(raw)
    matching = [i for i in issues if message in i["message"]]
    assert matching, issues
    assert all(i.get("field", "").startswith(key) and i["line"] == line for i in matching), issues


def test_a_huge_workers_per_object_names_the_field() -> None:
    raw, line = _literal("workersPerObject", "9" * 5000)
    [issue] = _issues(raw)
    assert issue["field"] == "workersPerObject" and issue["line"] == line


@pytest.mark.parametrize(
    "second",
    ['"rounds": 20', '"r\\u006funds": 20', '"\\u0072\\u006f\\u0075\\u006e\\u0064\\u0073": 20'],
)
def test_a_duplicate_key_is_rejected_naming_its_line_and_key(second: str) -> None:
    raw = (TEXT.removesuffix("\n}") + f",\n  {second}\n}}").encode()
    [issue] = _issues(raw)
    assert issue["field"] == "rounds" and 'duplicate key "rounds"' in issue["message"]
    assert issue["line"] == TEXT.count("\n") + 1  # the line of the second one


def test_a_duplicate_nested_key_names_its_path() -> None:
    raw = TEXT.replace('"type": "public",', '"type": "public", "type": "private",', 1).encode()
    [issue] = _issues(raw)
    assert issue["field"] == "workforce.type" and 'duplicate key "type"' in issue["message"]
    assert issue["line"] == next(n for n, line in enumerate(TEXT.splitlines(), 1) if '"type": "public"' in line)


@pytest.mark.parametrize(
    "prefix,message",
    [(b"\xef\xbb\xbf", "UTF-8 byte order mark (BOM)"), (b"\xff\xfe", "UTF-16"), (b"\xfe\xff", "UTF-16"),
     (b"\xff\xfe\x00\x00", "UTF-32")],
)  # fmt: skip
def test_a_byte_order_mark_is_named(prefix: bytes, message: str) -> None:
    [issue] = _issues(prefix + TEXT.encode())
    assert message in issue["message"] and "expected value" not in issue["message"] and issue["line"] == 1


def test_a_utf16_document_is_named() -> None:
    [issue] = _issues(TEXT.encode("utf-16"))
    assert "UTF-16" in issue["message"]


def test_invalid_utf8_names_its_line() -> None:
    raw = TEXT.replace("Draw a box", "Draw a \udcff box").encode("utf-8", "surrogateescape")
    [issue] = _issues(raw)
    assert "not UTF-8" in issue["message"] and issue["line"] == LINES["instructions"] + 1


def test_chain_json_over_the_size_limit_is_rejected_unparsed() -> None:
    raw = TEXT.replace('"full": "', '"full": "' + "x" * MAX_SPEC_BYTES, 1).encode()
    [issue] = _issues(raw)
    assert f"at most {MAX_SPEC_BYTES}" in issue["message"]


@pytest.mark.parametrize(
    "key,value,message",
    [("labelAttributeName", "category\n", "labelAttributeName"),
     ("initialModelArn", "arn:aws:sagemaker:us-east-1:123456789012:model/x\n", "not a SageMaker model ARN"),
     ("initialModelArn", "arn:aws:sagemaker:us-east-1:123456789012:model/" + "x" * 2048, "at most 2048"),
     ("instructions", {**SPEC["instructions"], "short": "x" * 10_001}, "at most 10000"),
     ("instructions", {**SPEC["instructions"], "full": "x" * 100_001}, "at most 100000"),
     ("instructions", {**SPEC["instructions"], "keywords": ["object-detection"]}, "should match pattern"),
     ("instructions", {**SPEC["instructions"], "keywords": ["two  spaces"]}, "should match pattern"),
     ("pricing", {"perObjectUsd": 1001}, "less than or equal to 1000"),
     ("pricing", {"perObjectUsd": -1}, "greater than or equal to 0")],
)  # fmt: skip
def test_values_ground_truth_would_refuse_later_are_refused_now(key: str, value: Any, message: str) -> None:
    issues = _issues(json.dumps({**SPEC, key: value}, indent=2).encode())
    assert any(message in i["message"] for i in issues), issues


def test_a_vendor_price_is_bounded() -> None:
    vendor = {"type": "vendor", "pricePerTaskUsd": "1E+400",
              "workteamArn": "arn:aws:sagemaker:us-east-1:123456789012:workteam/vendor-crowd/x"}  # fmt: skip
    issues = _issues(json.dumps({**SPEC, "workforce": vendor}, indent=2).encode())
    assert any(i.get("field") == "workforce.pricePerTaskUsd" for i in issues), issues


@pytest.mark.parametrize(
    "raw,message", [(b"[]", "not an array"), (b'"x"', "not a string"), (b"null", "not null"), (b"", "not valid JSON")]
)
def test_a_document_that_is_not_an_object_is_rejected(raw: bytes, message: str) -> None:
    [issue] = _issues(raw)
    assert message in issue["message"] or "JSON object" in issue["message"]


# issue 13: an unknown field names the closest known one, in the service's own report
@pytest.mark.parametrize(
    "document,field,message",
    [({"workersPerObjet": 3}, "workersPerObjet", "`workersPerObjet`: unknown field; did you mean `workersPerObject`?"),
     ({"roundz": 2}, "roundz", "`roundz`: unknown field; did you mean `rounds`?"),
     ({"budgetUSD": 10}, "budgetUSD", "`budgetUSD`: unknown field; did you mean `budgetUsd`?"),
     ({"instructions": {**SPEC["instructions"], "titel": "x"}}, "instructions.titel",
      "`instructions.titel`: unknown field; did you mean `instructions.title`?"),
     ({"workforce": {**SPEC["workforce"], "pricePerTask": 0.036}}, "workforce.pricePerTask",
      "`workforce.pricePerTask`: unknown field; did you mean `workforce.pricePerTaskUsd`?"),
     ({"pricing": {"perObjectUSD": 0.08}}, "pricing.perObjectUSD",
      "`pricing.perObjectUSD`: unknown field; did you mean `pricing.perObjectUsd`?")],
)  # fmt: skip
def test_an_unknown_field_names_the_closest_known_one(document: dict[str, Any], field: str, message: str) -> None:
    issues = _issues(json.dumps({**SPEC, **document}, indent=2).encode())
    [issue] = [i for i in issues if i.get("field") == field]
    assert issue["message"].startswith(message), issue
    assert isinstance(issue["line"], int)


def test_an_unknown_field_far_from_any_lists_the_known_ones() -> None:
    [issue] = _issues(json.dumps({**SPEC, "zzzzzz": 1}, indent=2).encode())
    assert issue["message"].startswith("`zzzzzz`: unknown field; the fields here are task, labels,")
