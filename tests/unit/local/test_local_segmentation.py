"""Semantic segmentation in the emulated Ground Truth (issue 14, item 8): PNG label masks in the class map's
colours, the -ref label attribute and its internal-color-map, worker answers and consolidation requests in the
documented shape, a patch segmenter that auto-labels to Ground Truth's target, and a carried model.

Real shapes compared against, from ../shared/real-gt/ (see its SOURCES.md), both from
awsdocs/amazon-sagemaker-developer-guide at commit a869fa5c9bd1074a85bd23748d0463e322ad8939:
- output-manifest/docs_semantic-segmentation.json: doc_source/sms-data-output.md, "Semantic Segmentation Job
  Output" (published with a trailing comma, removed before parsing);
- consolidation-request/docs_semantic-segmentation_payload.json: doc_source/sms-custom-templates-step3-lambda-
  requirements.md.
"""

import base64
import io
import json
import re
from pathlib import Path
from typing import Any

import matplotlib.image
import numpy as np
import pytest

from local.groundtruth import artifacts
from local.groundtruth.learner import Segmenter, mask_iou
from local.groundtruth.loop import MACHINE, ActiveLearningRun, RunConfig, SegmentationKit
from local.groundtruth.masks import classes_of, decode_png, encode_png, palette
from tests.unit.local.emulated import BUCKET, World

REAL = Path(__file__).resolve().parents[3].parent / "shared" / "real-gt"
DOCS_OUTPUT = REAL / "output-manifest" / "docs_semantic-segmentation.json"
DOCS_REQUEST = REAL / "consolidation-request" / "docs_semantic-segmentation_payload.json"
LABELS = ["Bird", "Feeder"]
# BACKGROUND, then the colours AWS's documentation shows Ground Truth giving a job's first labels
COLORS = {"0": ("BACKGROUND", "#ffffff"), "1": ("Bird", "#2ca02c"), "2": ("Feeder", "#1f77b4")}
IDS = [f"s3://bucket/images/{i:05d}.jpg" for i in range(2500)]


def real_json(path: Path) -> Any:
    if not path.exists():
        pytest.skip(f"the real artifact {path} is not on this machine (see ../shared/real-gt/SOURCES.md)")
    return json.loads(re.sub(r",(\s*})", r"\1", path.read_text()))


def rgb(hex_color: str) -> tuple[int, int, int]:
    return int(hex_color[1:3], 16), int(hex_color[3:5], 16), int(hex_color[5:7], 16)


def read_png(data: bytes) -> np.ndarray:
    """As a user would: matplotlib (floats 0-1), back to 8-bit RGB; PIL too when it is installed."""
    image = np.round(matplotlib.image.imread(io.BytesIO(data), format="png")[..., :3] * 255).astype(np.uint8)
    try:
        from PIL import Image
    except ImportError:
        return image
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(data)).convert("RGB")), image)
    return image


def test_a_png_mask_reads_back_in_the_class_maps_colours() -> None:
    mask = np.zeros((30, 40), dtype=np.uint8)
    mask[5:15, 10:30] = 1
    mask[20:28, 2:9] = 2
    data = encode_png(palette(2)[mask])
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    assert np.array_equal(classes_of(read_png(data), palette(2)), mask)
    assert np.array_equal(decode_png(data), palette(2)[mask])


def test_a_segmentation_job_labels_with_png_masks_and_the_documented_metadata(world: World) -> None:
    # Given a semantic segmentation job large enough for automated labeling
    world.create("paint-1", 1300, task="semantic-segmentation", labels=LABELS)
    world.finish()

    job = world.describe("paint-1")
    counters = job["LabelCounters"]
    assert job["LabelingJobStatus"] == "Completed"
    assert counters["MachineLabeled"] > 100 and counters["HumanLabeled"] > 100
    assert counters["TotalLabeled"] + counters["FailedNonRetryableError"] == 1300
    assert job["LabelingJobOutput"]["FinalActiveLearningModelArn"]

    # Then the output manifest holds one line per input line, each label a -ref to a PNG mask
    lines = [json.loads(line) for line in world.lines("out/paint-1/manifests/output/output.manifest")]
    labeled = [line for line in lines if "category-ref" in line]
    assert len(lines) == 1300 and len(labeled) == counters["TotalLabeled"]
    docs = real_json(DOCS_OUTPUT)
    documented = docs["city-streets-ref-metadata"]
    for line in labeled:
        metadata = line["category-ref-metadata"]
        # with the documented metadata: the same keys, an internal-color-map entry per class
        assert set(metadata) == set(documented)
        assert metadata["type"] == documented["type"] == "groundtruth/semantic-segmentation"
        color_map = metadata["internal-color-map"]
        assert {k: (v["class-name"], v["hex-color"]) for k, v in color_map.items()} == COLORS
        assert all(set(v) == set(documented["internal-color-map"]["0"]) for v in color_map.values())
        # "Confidence scores are the same across all classes within an image"
        assert len({v["confidence"] for v in color_map.values()}) == 1
    human = [line for line in labeled if line["category-ref-metadata"]["human-annotated"] == "yes"]
    machine = [line for line in labeled if line["category-ref-metadata"]["human-annotated"] == "no"]
    assert len(human) == counters["HumanLabeled"] and len(machine) == counters["MachineLabeled"]
    # A human label's mask is <datasetObjectId>_<creation date>.png, as a real job names it
    index = lines.index(human[0])
    assert re.search(rf"/annotations/consolidated-annotation/output/{index}_\d{{4}}-\d\d-\d\dT[\d:.]+\.png$",
                     human[0]["category-ref"])  # fmt: skip

    # And every mask is a PNG in the class map's colours, showing objects
    palette_rgb = {rgb(color) for _, color in COLORS.values()}
    for line in human[:5] + machine[:5]:
        uri = line["category-ref"]
        assert uri.startswith(f"s3://{BUCKET}/out/paint-1/")
        image = read_png(world.read(uri.removeprefix(f"s3://{BUCKET}/")))
        colors = {tuple(int(c) for c in pixel) for pixel in image.reshape(-1, 3)}
        assert (255, 255, 255) in colors and len(colors) >= 2 and colors <= palette_rgb

    # The training logs report the algorithm's two validation metrics per epoch
    logs = world.session.client("logs")
    streams = logs.describe_log_streams(logGroupName="/aws/sagemaker/TrainingJobs")["logStreams"]
    events = logs.get_log_events(logGroupName="/aws/sagemaker/TrainingJobs",
                                 logStreamName=streams[0]["logStreamName"], startFromHead=True)["events"]  # fmt: skip
    messages = [e["message"] for e in events]
    miou = [float(m.split("validation mIOU <score>=(")[1][:-1]) for m in messages if "validation mIOU" in m]
    assert len(miou) > 10 and all(0 <= v <= 1 for v in miou)
    assert any("validation pixel_accuracy <score>=(" in m for m in messages)


def test_workers_answers_and_consolidation_requests_have_the_documented_shape(world: World) -> None:
    world.create("paint-2", 40, task="semantic-segmentation", labels=LABELS)
    world.finish()

    keys = world.keys("out/paint-2/")
    request = world.json(next(k for k in keys if "/consolidation-request/" in k))
    documented = real_json(DOCS_REQUEST)[0]
    entry = request[0]
    assert set(entry) == set(documented) and set(entry["dataObject"]) == set(documented["dataObject"])
    assert len(entry["annotations"]) == 3
    content = json.loads(entry["annotations"][0]["annotationData"]["content"])
    expected = json.loads(documented["annotations"][0]["annotationData"]["content"])
    answer = content["crowd-semantic-segmentation"]
    assert set(answer) == set(expected["crowd-semantic-segmentation"])
    # the worker's mask: a PNG of the image's size, in the colours of the labels it used
    image = read_png(base64.b64decode(answer["labeledImage"]["pngImageData"]))
    size = answer["inputImageProperties"]
    assert image.shape == (size["height"], size["width"], 3)
    used = {rgb(v["color"]) for v in answer["labelMappings"].values()}
    assert {tuple(int(c) for c in p) for p in image.reshape(-1, 3)} <= used | {(255, 255, 255)}
    assert all(answer["labelMappings"][name]["color"] == color for _, (name, color) in list(COLORS.items())[1:]
               if name in answer["labelMappings"])  # fmt: skip


def test_the_segmenter_auto_labels_to_the_target_and_a_carried_model_labels_more() -> None:
    kit = SegmentationKit(tuple(LABELS))
    first = ActiveLearningRun(kit, IDS[:1250], RunConfig(3, 200, True, None, 1))
    list(first.iterations())
    assert isinstance(first.final_model, Segmenter)
    # Auto-labeled masks against what the images really show: near Ground Truth's mean IoU target of 0.7
    machine = np.nonzero(first.labeled_by == MACHINE)[0]
    scores = [mask_iou(first.stored[i].mask, first.objects.truth(int(i))) for i in machine]
    assert len(machine) > 200 and np.mean(scores) > 0.6

    # The model round-trips through model.tar.gz and starts the next job
    info = artifacts.ModelInfo("semantic-segmentation", tuple(LABELS), 600, "paint-1", 5)
    model, _ = artifacts.unpack(artifacts.pack(first.final_model, info), algorithm="semantic-segmentation",
                                labels=tuple(LABELS))  # fmt: skip
    assert isinstance(model, Segmenter)
    warm = ActiveLearningRun(kit, IDS[1250:], RunConfig(3, 200, True, model, 2))
    cold = ActiveLearningRun(kit, IDS[1250:], RunConfig(3, 200, True, None, 2))
    kinds = [it.kind for it in warm.iterations()]
    list(cold.iterations())
    assert "training" not in kinds
    assert (warm.labeled_by == MACHINE).mean() > (cold.labeled_by == MACHINE).mean()
