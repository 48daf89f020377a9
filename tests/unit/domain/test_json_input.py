"""The strict JSON reader every user-supplied document and line goes through."""

import json
import random

import pytest

from gtchain.domain.json_input import MAX_DEPTH, JsonInputError, key_lines, parse_json

BAD_CHARACTERS = {chr(c) for c in range(0x20)} - {"\t", "\n", "\r"} | {chr(c) for c in range(0xD800, 0xE000)}


def _error(data: bytes | str) -> JsonInputError:
    with pytest.raises(JsonInputError) as caught:
        parse_json(data)
    return caught.value


def test_errors_carry_line_column_and_path() -> None:
    error = _error(b'{\n  "a": {\n    "b": [1, NaN]\n  }\n}')
    assert (error.line, error.column, error.path, error.field) == (3, 14, ("a", "b", 1), "a.b.1")
    assert error.message == "NaN is not a JSON number"


def test_the_first_problem_in_document_order_is_reported() -> None:
    error = _error(b'{"a": 1e400, "a": 2, "b": NaN}')
    assert error.field == "a" and "out of range" in error.message


def test_syntax_errors_keep_the_json_module_wording() -> None:
    error = _error(b'{\n  "task": "bounding-box",\n  "labels": [Bird]\n}')
    assert (error.line, error.column) == (3, 14) and error.message == "not valid JSON: Expecting value"


@pytest.mark.parametrize("depth", [MAX_DEPTH, MAX_DEPTH + 1])
def test_nesting_is_limited(depth: int) -> None:
    text = "[" * depth + "]" * depth
    if depth <= MAX_DEPTH:
        assert parse_json(text) is not None
    else:
        assert "nested more than" in _error(text).message


def test_brackets_inside_strings_are_not_nesting() -> None:
    assert parse_json(json.dumps({"a": "[" * 1000 + '\\"{' * 1000})) == {"a": "[" * 1000 + '\\"{' * 1000}


def test_a_number_at_the_edge_of_the_float_range() -> None:
    assert parse_json(b"[1" + b"0" * 308 + b", 1.7976931348623157e308, -1e-400]") == [
        10**308,
        1.7976931348623157e308,
        -0.0,
    ]
    assert "out of range" in _error(b"1.8e308").message
    assert "out of range" in _error(b"-2" + b"0" * 308).message


def test_a_str_argument_with_a_raw_surrogate_is_rejected() -> None:
    assert "unpaired surrogate" in _error('{"a": "\ud800"}').message


def test_the_cheap_surrogate_test_never_misses_one() -> None:
    """Random strings of escapes, paired and unpaired, with and without escaped backslashes in front: the reader
    rejects exactly the strings that decode to an unpaired surrogate or a control character."""
    pieces = ["\\ud800", "\\udc00", "\\ud83d", "\\ude00", "\\uDBFF", "\\uDFFF", "\\\\", "\\\\u", "ud800", "a",
              "\\u0001", "\\u001F", "\\u0020", "\\n", "\\t", "\\u00e9", "\\ufffd"]  # fmt: skip
    rng = random.Random(11)
    for _ in range(3000):
        literal = '"' + "".join(rng.choice(pieces) for _ in range(rng.randint(1, 6))) + '"'
        decoded = json.loads(literal)
        bad = any(c in BAD_CHARACTERS for c in decoded)
        for document in (f"[{literal}]", f"{{{literal}: 1}}"):
            if bad:
                assert "holds" in _error(document.encode()).message, literal
            else:
                parse_json(document.encode())


def test_key_lines_point_at_keys_and_elements() -> None:
    text = '{\n  "a": [\n    1,\n    {"b": 2}\n  ],\n  "c":\n    {"d": 1}\n}'
    lines = key_lines(text)
    assert lines[("a",)] == 2 and lines[("a", 0)] == 3 and lines[("a", 1, "b")] == 4
    assert lines[("c",)] == 6 and lines[("c", "d")] == 7  # the key's line, not its value's
