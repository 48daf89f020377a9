"""Exports through the handlers: when a manifest's results are written, chain.json's formats for the manifest and
for the chain so far, and Export Ready naming them; the CLI's function writes the same files locally."""

import json
from pathlib import Path
from typing import Any

import yaml
from pycocotools.coco import COCO

from gtchain.domain.exports import image_stem
from gtchain.service.exports import S3ExportWriter, export_to_directory
from tests.groundtruth import complete, input_lines, of_type, output_key, round_job, write_output
from tests.integration.chain.flow import advance, deliver, drop, manifest_lines
from tests.support import DATA_BUCKET, Stack, finish_job

EXPORTS = "chains/birds/exports/"


def _keys(stack: Stack, prefix: str) -> list[str]:
    pages = stack.s3.get_paginator("list_objects_v2").paginate(Bucket=DATA_BUCKET, Prefix=prefix)
    return sorted(item["Key"] for page in pages for item in page.get("Contents", []))


def _get(stack: Stack, key: str) -> bytes:
    return bytes(stack.s3.get_object(Bucket=DATA_BUCKET, Key=key)["Body"].read())


def _start(stack: Stack, spec_document: dict[str, Any], exports: list[str]) -> None:
    spec_document.update(rounds=1, baseline=False, exports=exports)
    drop(stack, "chains/birds/chain.json", json.dumps(spec_document))


def _fail_object(stack: Stack, job: str, source_part: str) -> None:
    """Rewrite the job's output so the object whose source-ref holds `source_part` failed, as Ground Truth writes
    it: only <attr>-metadata, with failure-reason and retry-count."""
    lines = [json.loads(line) for line in _get(stack, output_key(job)).decode().splitlines()]
    for line in lines:
        if source_part in line["source-ref"]:
            del line["category"]
            line["category-metadata"] = {"failure-reason": "ClientError: Annotation tasks expired.", "retry-count": 1,
                                         "job-name": f"labeling-job/{job}"}  # fmt: skip
    stack.put(output_key(job), "".join(json.dumps(line) + "\n" for line in lines))


def test_a_completed_manifest_is_exported_with_the_chain_and_export_ready_names_both(
    stack: Stack, spec_document: dict[str, Any], tmp_path: Path
) -> None:
    # Given a chain that asks for COCO, YOLO and VOC, and a 5-object manifest whose job labels 2 objects by
    # machine and fails on one
    _start(stack, spec_document, ["coco", "yolo", "voc"])
    drop(stack, "chains/birds/inbox/birds.manifest", manifest_lines(5))
    job = round_job(1)
    finish_job(job, human=2, machine=2)  # the counters say little here: the exports read the output manifest
    write_output(stack, job, machine=2)
    _fail_object(stack, job, "bird-00001")

    # When the job completes, and Manifest Completed reaches the report function
    advance(job, "Completed")
    completed = stack.published()
    [exported] = deliver(completed, "Manifest Completed")
    assert exported["action"] == "exported"

    # Then the manifest's export holds every format, the failed object only in skipped.jsonl
    manifest_export = f"{EXPORTS}birds.manifest/"
    keys = _keys(stack, manifest_export)
    sources = [line["source-ref"] for line in input_lines(stack, job)]
    labeled = [s for s in sources if "bird-00001" not in s]
    assert {k.removeprefix(manifest_export).split("/")[0] for k in keys} == {"coco", "yolo", "voc"}
    for source in labeled:
        assert f"{manifest_export}yolo/labels/{image_stem(source)}.txt" in keys
        assert f"{manifest_export}voc/Annotations/{image_stem(source)}.xml" in keys
    (tmp_path / "s3.json").write_bytes(_get(stack, f"{manifest_export}coco/annotations.json"))
    coco = COCO(str(tmp_path / "s3.json"))
    assert sorted(i["file_name"] for i in coco.dataset["images"]) == sorted(labeled)
    assert len(coco.getAnnIds()) == 4 and sum("confidence" in a for a in coco.dataset["annotations"]) == 2
    [skipped] = [json.loads(x) for x in _get(stack, f"{manifest_export}coco/skipped.jsonl").splitlines()]
    assert skipped["status"] == "failed" and "bird-00001" in skipped["source"]
    assert yaml.safe_load(_get(stack, f"{manifest_export}yolo/data.yaml"))["images"] == labeled
    # And the chain's export, beside it, holds the same objects
    assert _get(stack, f"{EXPORTS}chain/yolo/data.yaml").count(b"\n  - ") == 4

    # And Export Ready names both, once: a repeated Completed event completes nothing again
    [ready] = of_type(stack.published(), "Export Ready")
    advance(job, "Completed")
    assert not deliver(stack.published(), "Manifest Completed")
    base = f"s3://{DATA_BUCKET}/{EXPORTS}"
    assert ready | {"manifestExport": None, "chainExport": None} == {
        "chainId": "birds", "manifest": "birds.manifest", "formats": ["coco", "yolo", "voc"],
        "resultsUri": f"s3://{DATA_BUCKET}/chains/birds/results/birds.manifest",
        "manifestExport": None, "chainExport": None,
    }  # fmt: skip
    assert ready["manifestExport"]["uri"] == f"{base}birds.manifest/"
    assert ready["chainExport"]["uri"] == f"{base}chain/"
    coco_uri = f"{base}birds.manifest/coco/"
    assert ready["manifestExport"]["formats"][0] == {
        "format": "coco", "uri": coco_uri, "mainUri": f"{coco_uri}annotations.json",
        "skippedUri": f"{coco_uri}skipped.jsonl",
        "files": 2, "objects": 4, "annotations": 4, "skipped": 1,
    }  # fmt: skip
    assert [(f["format"], f["files"]) for f in ready["chainExport"]["formats"]] == [
        ("coco", 2),
        ("yolo", 6),
        ("voc", 7),
    ]

    # And the CLI's function writes the same files from S3 into a folder
    local = export_to_directory(stack.ports.objects, DATA_BUCKET, "birds", ["coco", "yolo"], tmp_path / "out",
                                manifest="birds")  # fmt: skip
    assert (tmp_path / "out" / "coco" / "annotations.json").read_bytes() == (tmp_path / "s3.json").read_bytes()
    assert local.objects == 4 and local.skipped == 1
    for source in labeled:
        path = tmp_path / "out" / "yolo" / "labels" / f"{image_stem(source)}.txt"
        assert path.read_bytes() == _get(stack, f"{manifest_export}yolo/labels/{image_stem(source)}.txt")


def test_the_chain_export_gathers_every_manifest_and_a_rewrite_puts_only_what_changed(
    stack: Stack, spec_document: dict[str, Any], tmp_path: Path
) -> None:
    # Given a chain exporting YOLO, whose first manifest (3 objects) is done
    _start(stack, spec_document, ["yolo"])
    drop(stack, "chains/birds/inbox/first.manifest", manifest_lines(3))
    complete(stack, round_job(1))
    deliver(stack.published(), "Manifest Completed")
    per_image_first = _keys(stack, f"{EXPORTS}chain/yolo/labels/")
    assert len(per_image_first) == 3

    # When a second manifest (2 new objects) completes
    drop(stack, "chains/birds/inbox/second.manifest", manifest_lines(2, start=3))
    complete(stack, round_job(2))
    published = stack.published()  # also the first manifest's Export Ready
    deliver(published, "Manifest Completed")

    # Then the chain's export lists all 5 images, newest manifest first, and each manifest has its own export
    data = yaml.safe_load(_get(stack, f"{EXPORTS}chain/yolo/data.yaml"))
    assert [s.rsplit("/", 1)[1] for s in data["images"]] == [f"bird-{i:05d}.jpg" for i in (3, 4, 0, 1, 2)]
    assert len(_keys(stack, f"{EXPORTS}second.manifest/yolo/labels/")) == 2
    assert len(_keys(stack, f"{EXPORTS}chain/yolo/labels/")) == 5
    ready = of_type(published + stack.published(), "Export Ready")
    assert [(r["manifest"], r["manifestExport"]["objects"], r["chainExport"]["objects"]) for r in ready] == [
        ("first.manifest", 3, 3),
        ("second.manifest", 2, 5),
    ]
    # And writing the chain's export again puts its two whole files and no per-image file S3 already holds
    with S3ExportWriter(stack.ports.objects, DATA_BUCKET, f"{EXPORTS}chain/") as writer:
        writer.write_file(
            "yolo/labels/" + per_image_first[0].split("/yolo/labels/", 1)[1], _get(stack, per_image_first[0])
        )
        writer.write_file("yolo/labels/new.txt", b"0 0.5 0.5 0.1 0.1\n")
    assert (writer.unchanged, writer.puts) == (1, 1)


def test_a_chain_without_exports_writes_none(stack: Stack, spec_document: dict[str, Any]) -> None:
    spec_document.update(rounds=1, baseline=False)
    drop(stack, "chains/birds/chain.json", json.dumps(spec_document))
    drop(stack, "chains/birds/inbox/birds.manifest", manifest_lines(2))

    complete(stack, round_job(1))
    [outcome] = deliver(stack.published(), "Manifest Completed")

    assert outcome["action"] == "ignored"
    assert _keys(stack, EXPORTS) == []
    assert not of_type(stack.published(), "Export Ready")
