"""`gtchain results CHAIN [MANIFEST] --format F --out DIR`: the labels in training formats, from the results in S3,
whether or not chain.json asks for exports (docs/exports.md)."""

import json
from pathlib import Path

import yaml

from tests.cli.conftest import Cli


def test_results_in_coco_yolo_and_voc_and_a_format_the_task_has_not_is_refused(cli: Cli, tmp_path: Path) -> None:
    # Given a finished bounding-box chain of two manifests, whose chain.json asks for no exports
    spec = cli.spec_file(rounds=1, baseline=False)
    birds, more = cli.manifest_file("birds", 120), cli.manifest_file("more", 40, seed=1)
    assert cli("submit", "birds", "--spec", str(spec), str(birds), str(more)).exit_code == 0
    assert cli("watch", "birds", "--interval", "300").exit_code == 0
    assert cli.cloud.keys("chains/birds/exports/") == []

    # When the chain's labels are asked for as COCO and YOLO, and one manifest's as VOC
    every = cli("results", "birds", "--format", "coco", "--format", "yolo", "--out", str(tmp_path / "all"))
    one = cli("results", "birds", "more", "--format", "voc", "--out", str(tmp_path / "more"))

    # Then every manifest's labeled objects are in the chain's files, and one manifest's in its own
    assert every.exit_code == 0, every.output
    results = [json.loads(x) for name in ("birds", "more")
               for x in cli.cloud.get(f"chains/birds/results/{name}.manifest").splitlines()]  # fmt: skip
    labeled = [r for r in results if "category" in r]
    coco = json.loads((tmp_path / "all" / "coco" / "annotations.json").read_text())
    assert len(coco["images"]) == len(labeled) == 160
    assert len(coco["annotations"]) == sum(len(r["category"]["annotations"]) for r in labeled)
    assert len(yaml.safe_load((tmp_path / "all" / "yolo" / "data.yaml").read_text())["images"]) == 160
    assert f"{tmp_path / 'all' / 'coco' / 'annotations.json'}: 160 objects" in every.stdout
    assert one.exit_code == 0, one.output
    assert len((tmp_path / "more" / "voc" / "ImageSets" / "Main" / "default.txt").read_text().splitlines()) == 40

    # And a classification format is refused for a bounding-box chain, naming what it takes
    refused = cli("results", "birds", "--format", "csv", "--out", str(tmp_path / "csv"))
    assert refused.exit_code == 2
    assert "csv cannot be exported for bounding-box; choose from coco, yolo, voc" in refused.output
