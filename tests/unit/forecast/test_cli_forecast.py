"""`gtchain forecast --spec chain.json MANIFEST...`: offline, per round and in total, with the budget check; and
the plan `gtchain submit` prints follows chain.json's baseline policy ("once": one baseline)."""

import json
from decimal import Decimal
from pathlib import Path

from typer.testing import CliRunner

from gtchain.domain.spec import ChainSpec
from gtchain_cli import app
from gtchain_cli.checks import check_manifest, plan
from local.dataset import chain_spec, manifest
from tests.cli.conftest import RUNNER_ENV


def _files(tmp_path: Path, **spec: object) -> tuple[Path, Path, Path]:
    document = chain_spec("bounding-box", **{"rounds": 2, "baseline": "once", "budgetUsd": 400, **spec})
    (tmp_path / "chain.json").write_text(json.dumps(document))
    (tmp_path / "birds.manifest").write_text(manifest("bounding-box", "b", 2500, 1))
    (tmp_path / "small.manifest").write_text(manifest("bounding-box", "b", 1000, 2, "small"))
    return tmp_path / "chain.json", tmp_path / "birds.manifest", tmp_path / "small.manifest"


def test_forecast_prints_each_round_the_total_and_the_budget_check(tmp_path: Path) -> None:
    spec, birds, small = _files(tmp_path)

    result = CliRunner().invoke(app, ["forecast", "--spec", str(spec), str(birds), str(small), "--no-emulator"],
                                env=RUNNER_ENV)  # fmt: skip

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    rows = {line.split()[0]: line.split() for line in lines if line.strip()[:1].isdigit() or "total" in line}
    # round 1 cold: worst 1,250 x 0.188 = $235.00, floor $148.60; round 2 with the model and the one baseline
    assert rows["1"][-4:] == ["$235.00", "$148.60", "-", "-"]
    assert rows["2"][4:6] == ["carried", "yes"] and rows["2"][-4:-2] == ["$470.00", "$276.68"]
    assert rows["3"][-4:-2] == ["$94.00", "$94.00"] and rows["4"][5] == "no"  # "once": no second baseline
    assert rows["total"][1:4] == ["3,500", "$893.00", "$613.28"]
    assert "round 3 has 500 objects" in result.stdout
    assert "pauses the chain before round 2 at worst" in result.stdout


def test_forecast_json_with_the_emulator_is_labelled_as_the_emulators(tmp_path: Path) -> None:
    spec, birds, _ = _files(tmp_path, baseline=False)

    result = CliRunner().invoke(app, ["forecast", "--spec", str(spec), str(birds), "--seeds", "3", "--json"],
                                env=RUNNER_ENV)  # fmt: skip

    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["source"] == "emulator" and [r["round"] for r in document["rounds"]] == [1, 2]
    expected = document["rounds"][0]["jobs"][0]["expected"]
    assert expected["source"] == "emulator" and expected["samples"] == 1 and "seeds 3" in expected["basis"]


def test_the_submit_plan_runs_one_baseline_with_once(tmp_path: Path) -> None:
    spec, birds, small = _files(tmp_path, rounds=2)
    parsed = ChainSpec.model_validate(json.loads(spec.read_text()))
    checks = [check_manifest(path, parsed, None) for path in (birds, small)]

    planned = plan(parsed, checks, None)

    assert [r.baseline for r in planned.rounds] == [False, True, False, False]
    assert planned.worst_case_usd == Decimal("893.000")  # 235 + 470 + 94 + 94
