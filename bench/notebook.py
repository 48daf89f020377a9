"""The seed notebook's report cell (pretrained-model-labeling-notebook, "Analyze the results"), as written
there: `aws s3 cp --recursive` of the consolidation responses and the active-learning output, then glob
and parse each file whole, training curves from CloudWatch Logs, and the three pyplot panels. Only the
shell commands are replaced by their boto3 equivalents (ten downloads at a time, as the AWS CLI does) and
the figure is saved as PNG instead of shown. Its fixed $0.26 human price and its iteration parse (the
last character of `iteration-N`) are kept: the bench's jobs stay under ten iterations.
"""

import glob
import io
import os
import shutil
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

import boto3
import matplotlib.pyplot as plt
import numpy as np

HUMAN_PRICE = 0.26
AUTO_PRICE = 0.08
CLI_CONCURRENCY = 10  # the AWS CLI's default max_concurrent_requests


def _s3_cp_recursive(s3: Any, uri: str, destination: Path) -> None:
    bucket, _, prefix = uri.removeprefix("s3://").partition("/")
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix + "/")
    keys = [item["Key"] for page in pages for item in page.get("Contents", [])]

    def download(key: str) -> None:
        target = destination / key.removeprefix(prefix + "/")
        target.parent.mkdir(parents=True, exist_ok=True)
        s3.download_file(bucket, key, str(target))

    with ThreadPoolExecutor(CLI_CONCURRENCY) as pool:
        list(pool.map(download, keys))


def _s3_ls_recursive(s3: Any, uri: str) -> list[str]:
    bucket, _, prefix = uri.removeprefix("s3://").partition("/")
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return [item["Key"] for page in pages for item in page.get("Contents", [])]


def get_training_job_data(training_job_name: str) -> tuple[int, list[float]]:
    logclient = boto3.client("logs")
    log_group_name = "/aws/sagemaker/TrainingJobs"
    log_stream_name = logclient.describe_log_streams(logGroupName=log_group_name,
        logStreamNamePrefix=training_job_name)["logStreams"][0]["logStreamName"]  # fmt: skip
    train_log = logclient.get_log_events(logGroupName=log_group_name, logStreamName=log_stream_name,
                                         startFromHead=True)  # fmt: skip
    events = train_log["events"]
    next_token = train_log["nextForwardToken"]
    while True:
        train_log = logclient.get_log_events(logGroupName=log_group_name, logStreamName=log_stream_name,
                                             startFromHead=True, nextToken=next_token)  # fmt: skip
        if train_log["nextForwardToken"] == next_token:
            break
        events = events + train_log["events"]
        next_token = train_log["nextForwardToken"]
    num_samples = 0
    mAPs = []
    for event in events:
        msg = event["message"]
        if "Final configuration" in msg:
            num_samples = int(msg.split("num_training_samples': u'")[1].split("'")[0])
        elif "validation mAP <score>=(" in msg:
            mAPs.append(float(msg.split("validation mAP <score>=(")[1][:-1]))
    return num_samples, mAPs


def report(job_name: str, workdir: Path) -> dict[str, Any]:
    import json

    workdir.mkdir(parents=True, exist_ok=True)
    os.chdir(workdir)
    shutil.rmtree("od_output_data", ignore_errors=True)
    os.makedirs("od_output_data/", exist_ok=False)  # noqa: PTH103 (the notebook's calls)
    s3 = boto3.client("s3")
    S3_OUTPUT = (boto3.client("sagemaker").describe_labeling_job(LabelingJobName=job_name)["OutputConfig"]
                 ["S3OutputPath"].rstrip("/") + "/" + job_name)  # fmt: skip

    # Count number of human annotations in each class each iteration.
    _s3_cp_recursive(s3, S3_OUTPUT + "/annotations/consolidated-annotation/consolidation-response",
                     Path("od_output_data/consolidation-response"))  # fmt: skip
    consolidated_nboxes: dict[int, int] = defaultdict(int)
    consolidated_nims: dict[int, int] = defaultdict(int)
    consolidation_times: dict[int, datetime] = {}
    consolidated_cost_times = []
    obj_ids = set()
    for consolidated_fname in glob.glob("od_output_data/consolidation-response/**", recursive=True):  # noqa: PTH207
        if consolidated_fname.endswith("json"):
            iter_id = int(consolidated_fname.split("/")[-2][-1])
            iter_time = datetime.strptime(consolidated_fname.split("/")[-1], "%Y-%m-%d_%H:%M:%S.json")
            if iter_id in consolidation_times:
                consolidation_times[iter_id] = max(consolidation_times[iter_id], iter_time)
            else:
                consolidation_times[iter_id] = iter_time
            consolidated_cost_times.append(iter_time)
            with open(consolidated_fname) as f:  # noqa: PTH123
                consolidated_data = json.load(f)
            for consolidation in consolidated_data:
                obj_id = consolidation["datasetObjectId"]
                n_boxes = len(consolidation["consolidatedAnnotation"]["content"]["category"]["annotations"])
                if obj_id not in obj_ids:
                    obj_ids.add(obj_id)
                    consolidated_nims[iter_id] += 1
                    consolidated_nboxes[iter_id] += n_boxes

    # Count the number of machine iterations in each class each iteration.
    _s3_cp_recursive(s3, S3_OUTPUT + "/activelearning", Path("od_output_data/activelearning"))
    auto_nboxes: dict[int, int] = defaultdict(int)
    auto_nims: dict[int, int] = defaultdict(int)
    auto_times: dict[int, datetime] = {}
    auto_cost_times = []
    for auto_fname in glob.glob("od_output_data/activelearning/**", recursive=True):  # noqa: PTH207
        if auto_fname.endswith("auto_annotator_output.txt"):
            iter_id = int(auto_fname.split("/")[-3])
            with open(auto_fname) as f:  # noqa: PTH123
                annots = [" ".join(line.split()[1:]) for line in f.readlines()]
            auto_nims[iter_id] += len(annots)
            for annot_text in annots:
                annot = json.loads(annot_text)
                time_str = annot["category-metadata"]["creation-date"]
                auto_time = datetime.strptime(time_str, "%Y-%m-%dT%H:%M:%S.%f")
                n_boxes = len(annot["category"]["annotations"])
                auto_nboxes[iter_id] += n_boxes
                if iter_id in auto_times:
                    auto_times[iter_id] = max(auto_times[iter_id], auto_time)
                else:
                    auto_times[iter_id] = auto_time
                auto_cost_times.append(auto_time)
    n_iters = max(len(auto_times), len(consolidation_times))

    training_data = _s3_ls_recursive(s3, S3_OUTPUT + "/training/")
    training_sizes, training_mAPs, training_iters = [], [], []
    for line in training_data:
        if line.split("/")[-1] == "model.tar.gz":
            training_job_name = line.split("/")[-3]
            n_samples, mAPs = get_training_job_data(training_job_name)
            training_sizes.append(n_samples)
            training_mAPs.append(mAPs)
            training_iters.append(int(line.split("/")[-5]))

    plt.figure(facecolor="white", figsize=(14, 5), dpi=100)
    plt.subplot(131)
    total_human = 0.0
    total_auto = 0.0
    for iter_id in range(1, n_iters + 1):
        cost_human = consolidated_nims[iter_id] * HUMAN_PRICE
        cost_auto = auto_nims[iter_id] * AUTO_PRICE
        total_human += cost_human
        total_auto += cost_auto
        plt.bar(iter_id, cost_human, width=0.8, color="C0", label="human" if iter_id == 1 else None)
        plt.bar(iter_id, cost_auto, bottom=cost_human, width=0.8, color="C1", label="auto" if iter_id == 1 else None)
    plt.title(f"Total annotation costs:\n${total_human:.2f} human, ${total_auto:.2f} auto")
    plt.xlabel("Iter")
    plt.ylabel("Cost in dollars")
    plt.legend()

    plt.subplot(132)
    plt.title(f"Total annotation counts:\nHuman: {sum(consolidated_nims.values())} ims, "
              f"{sum(consolidated_nboxes.values())} boxes\nMachine: {sum(auto_nims.values())} ims, "
              f"{sum(auto_nboxes.values())} boxes")  # fmt: skip
    for iter_id in consolidated_nims:
        plt.bar(iter_id, auto_nims[iter_id], color="C1", width=0.4, label="ims, auto" if iter_id == 1 else None)
        plt.bar(iter_id, consolidated_nims[iter_id], bottom=auto_nims[iter_id], color="C0", width=0.4,
                label="ims, human" if iter_id == 1 else None)  # fmt: skip
        plt.bar(iter_id + 0.4, auto_nboxes[iter_id], color="C1", alpha=0.4, width=0.4,
                label="boxes, auto" if iter_id == 1 else None)  # fmt: skip
        plt.bar(iter_id + 0.4, consolidated_nboxes[iter_id], bottom=auto_nboxes[iter_id], color="C0", width=0.4,
                alpha=0.4, label="boxes, human" if iter_id == 1 else None)  # fmt: skip
    tick_labels_boxes = [f"Iter {iter_id + 1}, boxes" for iter_id in range(n_iters)]
    tick_labels_images = [f"Iter {iter_id + 1}, images" for iter_id in range(n_iters)]
    tick_locations_images = np.arange(n_iters) + 1
    tick_locations_boxes = tick_locations_images + 0.4
    tick_labels = np.concatenate([[tick_labels_boxes[idx], tick_labels_images[idx]] for idx in range(n_iters)])
    tick_locations = np.concatenate([[tick_locations_boxes[idx], tick_locations_images[idx]]
                                     for idx in range(n_iters)])  # fmt: skip
    plt.xticks(tick_locations, list(tick_labels), rotation=90)
    plt.legend()
    plt.ylabel("Count")

    if len(training_sizes) > 0:
        plt.subplot(133)
        plt.title("Active learning training curves")
        plt.grid(True)
        cmap = plt.get_cmap("coolwarm")
        n_all = len(training_sizes)
        for iter_id_id, (iter_id, _size, mAPs) in enumerate(zip(training_iters, training_sizes, training_mAPs,
                                                                strict=True)):  # fmt: skip
            plt.plot(mAPs, label=f"Iter {iter_id + 1}, auto", color=cmap(iter_id_id / max(1, (n_all - 1))))
            plt.legend()
        plt.xlabel("Training epoch")
        plt.ylabel("Validation mAP")
    plt.tight_layout()
    png = io.BytesIO()
    plt.savefig(png, format="png")
    plt.close("all")
    human, machine = sum(consolidated_nims.values()), sum(auto_nims.values())
    return {"human": human, "machine": machine, "png_bytes": len(png.getvalue())}
