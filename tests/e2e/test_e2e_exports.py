"""A demo run with `exports` in chain.json: every format is written, per manifest and for the chain, and reads back."""

import csv
import io
import json
from pathlib import Path

import numpy as np
import yaml
from PIL import Image
from pycocotools.coco import COCO

from tests.e2e.conftest import CHAIN, Chain

EXPORTS = f"chains/{CHAIN}/exports/"


def test_a_bounding_box_chain_exports_coco_yolo_and_voc(chain: Chain, tmp_path: Path) -> None:
    # Given a chain asking for every bounding-box format, and two manifests
    chain.upload_spec(rounds=1, baseline=False, exports=["coco", "yolo", "voc"])
    chain.drop_manifest("first", 120)
    chain.drop_manifest("second", 80, seed=1)

    # When it runs to the end
    chain.cloud.run()

    # Then each manifest's export holds its labeled objects in every format, boxes as in the results
    for name, objects in (("first", 120), ("second", 80)):
        prefix = f"{EXPORTS}{name}.manifest/"
        results = chain.results(name)
        labeled = [line for line in results if "category" in line and "failure-reason" not in line["category-metadata"]]
        (tmp_path / f"{name}.json").write_bytes(chain.cloud.get(f"{prefix}coco/annotations.json"))
        coco = COCO(str(tmp_path / f"{name}.json"))
        assert len(coco.getImgIds()) == len(labeled) and len(results) == objects
        assert len(coco.getAnnIds()) == sum(len(line["category"]["annotations"]) for line in labeled)
        data = yaml.safe_load(chain.cloud.get(f"{prefix}yolo/data.yaml"))
        assert data["names"] == {0: "Bird"} and len(data["images"]) == len(labeled)
        assert len(chain.cloud.keys(f"{prefix}yolo/labels/")) == len(labeled)
        assert len(chain.cloud.keys(f"{prefix}voc/Annotations/")) == len(labeled)
        skipped = chain.cloud.get(f"{prefix}voc/skipped.jsonl").decode().splitlines()
        assert len(skipped) == objects - len(labeled)
    # And the chain's export holds both manifests' labeled objects, each once
    chain_coco = json.loads(chain.cloud.get(f"{EXPORTS}chain/coco/annotations.json"))
    labeled_sources = {
        line["source-ref"]
        for name in ("first", "second")
        for line in chain.results(name)
        if "category" in line and "failure-reason" not in line["category-metadata"]
    }
    assert sorted(image["file_name"] for image in chain_coco["images"]) == sorted(labeled_sources)
    # And Export Ready named each manifest's export and the chain's
    ready = chain.recorder.of_type("Export Ready")
    assert [(r["manifest"], r["chainExport"]["uri"].endswith("/exports/chain/")) for r in ready] == [
        ("first.manifest", True),
        ("second.manifest", True),
    ]


def test_an_image_classification_chain_exports_csv_and_jsonl(chain: Chain) -> None:
    chain.upload_spec(task="image-classification", rounds=1, baseline=False, exports=["csv", "jsonl"])
    chain.drop_manifest("birds", 150, task="image-classification")

    chain.cloud.run()

    results = {line["source-ref"]: line for line in chain.results("birds") if "category" in line}
    prefix = f"{EXPORTS}birds.manifest/"
    rows = list(csv.DictReader(io.StringIO(chain.cloud.get(f"{prefix}csv/labels.csv").decode(), newline="")))
    assert len(rows) == len(results)
    assert all(row["label"] == results[row["source"]]["category-metadata"]["class-name"] for row in rows)
    lines = [json.loads(x) for x in chain.cloud.get(f"{prefix}jsonl/labels.jsonl").splitlines()]
    assert [x["label"] for x in lines] == [row["label"] for row in rows]


def test_a_semantic_segmentation_chain_exports_masks_and_coco(chain: Chain, tmp_path: Path) -> None:
    # Given a segmentation chain asking for masks and COCO (the emulator writes Ground Truth's colour PNGs)
    chain.upload_spec(task="semantic-segmentation", rounds=1, baseline=False, exports=["masks", "coco"])
    chain.drop_manifest("birds", 60, task="semantic-segmentation")

    # When it runs
    chain.cloud.run()

    # Then every labeled object has a class-index mask, and COCO's run-length encodings are those masks
    prefix = f"{EXPORTS}birds.manifest/"
    labeled = [line for line in chain.results("birds") if "category-ref" in line]
    index = [json.loads(x) for x in chain.cloud.get(f"{prefix}masks/index.jsonl").splitlines()]
    assert [row["source"] for row in index] == [line["source-ref"] for line in labeled] and index
    (tmp_path / "coco.json").write_bytes(chain.cloud.get(f"{prefix}coco/annotations.json"))
    coco = COCO(str(tmp_path / "coco.json"))
    assert [coco.cats[i]["name"] for i in sorted(coco.cats)] == ["Bird", "Feeder"]
    images = {image["file_name"]: image["id"] for image in coco.dataset["images"]}
    for row in index[:10]:
        mask = np.asarray(Image.open(io.BytesIO(chain.cloud.get(f"{prefix}masks/{row['mask']}"))))
        assert mask.shape == (row["height"], row["width"])
        for annotation in coco.loadAnns(coco.getAnnIds(imgIds=[images[row["source"]]])):
            assert (coco.annToMask(annotation) == (mask == annotation["category_id"])).all()
