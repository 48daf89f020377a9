"""validate: offline, the service's own validators and messages (file, line, field); exit 1 on any error."""

import json
from pathlib import Path

from typer.testing import CliRunner, Result

from gtchain_cli import app
from gtchain_cli.errors import Exit
from local.dataset import chain_spec, manifest
from tests.cli.conftest import RUNNER_ENV

BUCKET = "gtchain-data"


def _validate(*args: str) -> Result:
    return CliRunner().invoke(app, ["validate", *args], env=RUNNER_ENV)


def _spec(path: Path, **overrides: object) -> Path:
    path.write_text(json.dumps({**chain_spec("bounding-box", rounds=2), **overrides}, indent=2) + "\n")
    return path


def test_a_valid_chain_json_and_manifest_pass_and_say_what_they_hold(tmp_path: Path) -> None:
    spec = _spec(tmp_path / "chain.json", budgetUsd=1000)
    birds = tmp_path / "birds.manifest"
    birds.write_text(manifest("bounding-box", BUCKET, 2501, 0))

    result = _validate(str(spec), str(birds), "--bucket", BUCKET)

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        f"{spec}: ok (bounding-box, 2 round(s) per manifest, public workforce, baseline, budget $1,000.00)",
        f"{birds}: ok (2,501 objects; rounds of 1,251 + 1,250)",
    ]


def test_an_unknown_field_names_the_file_line_and_closest_known_field(tmp_path: Path) -> None:
    document = chain_spec("bounding-box")
    document["workersPerObjet"] = document.pop("workersPerObject")
    spec = tmp_path / "chain.json"
    spec.write_text(json.dumps(document, indent=2))
    line = next(n for n, text in enumerate(spec.read_text().splitlines(), start=1) if "workersPerObjet" in text)

    result = _validate(str(spec))

    assert result.exit_code == Exit.INVALID
    assert result.stdout.splitlines()[0] == (
        f"{spec}:{line}: workersPerObjet: `workersPerObjet`: unknown field; did you mean `workersPerObject`? Extra "
        "inputs are not permitted."
    )
    assert result.stdout.splitlines()[1] == f"{spec}: 1 error(s)"


def test_every_error_of_chain_json_is_listed_with_its_line_and_field(tmp_path: Path) -> None:
    spec = _spec(tmp_path / "chain.json", rounds=40, labelAttributeName="my_label")
    text = spec.read_text().splitlines()

    result = _validate(str(spec))

    assert result.exit_code == Exit.INVALID
    errors = result.stdout.splitlines()[:-1]
    rounds_line = next(n for n, t in enumerate(text, start=1) if '"rounds"' in t)
    assert f"{spec}:{rounds_line}: rounds: Input should be less than or equal to 20" in errors


def test_manifest_errors_name_the_file_line_and_field_as_the_service_s_error_report_does(tmp_path: Path) -> None:
    spec = _spec(tmp_path / "chain.json")
    bad = tmp_path / "bad.manifest"
    bad.write_text(
        f'{{"source-ref": "s3://{BUCKET}/a.jpg"}}\n'
        "not json\n"
        '{"image": "s3://x/y.jpg"}\n'
        f'{{"source-ref": "s3://{BUCKET}/a.jpg"}}\n'
        '{"source-ref": "s3://elsewhere/b.jpg"}\n'
    )

    result = _validate(str(spec), str(bad), "--bucket", BUCKET)

    assert result.exit_code == Exit.INVALID
    out = result.stdout.splitlines()
    assert out[0].startswith(f"{spec}: ok (")
    assert out[1] == f"{bad}:2: not valid JSON: Expecting value (column 1)"
    assert out[2] == f"{bad}:3: source-ref: the line has no source-ref"
    assert out[3].startswith(f"{bad}:4: source-ref: ") and "line 1" in out[3]
    assert out[4].startswith(f"{bad}:5: source-ref: bucket 'elsewhere' is not in the stack's allow-list")
    assert out[5:] == [f"{bad}: 4 error(s)"]


def test_without_buckets_the_allow_list_is_not_checked_and_it_says_so(tmp_path: Path) -> None:
    spec = _spec(tmp_path / "chain.json")
    elsewhere = tmp_path / "elsewhere.manifest"
    elsewhere.write_text('{"source-ref": "s3://elsewhere/b.jpg"}\n')

    result = _validate(str(spec), str(elsewhere))

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1] == (
        "source-ref buckets were not checked (offline): pass --bucket for each allowed bucket, or submit, which "
        "checks them against the stack"
    )


def test_manifests_are_not_checked_against_an_invalid_chain_json_and_names_must_end_in_manifest(
    tmp_path: Path,
) -> None:
    spec = _spec(tmp_path / "chain.json", task="drawing")
    birds = tmp_path / "birds.jsonl"
    birds.write_text(manifest("bounding-box", BUCKET, 3, 0))

    result = _validate(str(spec), str(birds))

    assert result.exit_code == Exit.INVALID
    assert f"{birds}: the file name must end in .manifest (it is uploaded as inbox/birds.jsonl, and only " in (
        result.stdout
    )
    assert f"{birds}: not checked: chain.json must be valid first (its task says what a line needs)" in result.stdout


def test_json_output_and_a_missing_file(tmp_path: Path) -> None:
    spec = _spec(tmp_path / "chain.json")
    bad = tmp_path / "bad.manifest"
    bad.write_text("[1]\n")

    as_json = json.loads(_validate(str(spec), str(bad), "--json").stdout)
    missing = _validate(str(tmp_path / "nope.json"))

    assert as_json == {
        "valid": False,
        "findings": [{"file": str(bad), "line": 1, "field": None,
                      "message": "each line must be a JSON object, not list"}],
        "manifests": [{"file": str(bad), "objects": 0, "rounds": [], "errors": 1, "checked": True}],
    }  # fmt: skip
    assert missing.exit_code == Exit.INVALID
    assert missing.stdout.splitlines()[0] == (f"{tmp_path / 'nope.json'}: cannot read it: No such file or directory")
