"""Export keys: the functions that write them may, and none of them starts the service."""

import fnmatch

import pytest

from gtchain.domain import names
from gtchain.domain.exports import image_stem
from tests.infrastructure import cfn, invariants
from tests.infrastructure.test_rule_patterns import NAMES, starts


def _export_keys(chain_id: str) -> list[str]:
    stem = image_stem("s3://gtchain-data/chains/x/inbox/chain.json")  # an image named like what starts chains
    keys = []
    for prefix in (names.manifest_export_prefix(chain_id, "batch.manifest"), names.chain_export_prefix(chain_id)):
        keys += [f"{prefix}{path}" for path in (
            "coco/annotations.json", "coco/skipped.jsonl", "yolo/data.yaml", f"yolo/labels/{stem}.txt",
            "voc/labels.txt", "voc/ImageSets/Main/default.txt", f"voc/Annotations/{stem}.xml", "csv/labels.csv",
            "jsonl/labels.jsonl",
        )]  # fmt: skip
    return keys


@pytest.mark.parametrize("chain_id", ["birds", "inbox", "chains"])
def test_no_export_key_starts_the_service(chain_id: str) -> None:
    assert [key for key in _export_keys(chain_id) if starts(key)] == []


def test_the_report_function_may_write_every_export_key_and_the_chain_runner_none() -> None:
    # Exports are written by the report function on Manifest Completed, not on the chain's critical path.
    deployed = cfn.deployed()
    [runner] = [
        s for s in invariants.props(deployed["Resources"]["ChainRunnerPolicy"])["PolicyDocument"]["Statement"]
        if s.get("Sid") == "WriteServiceObjects"
    ]  # fmt: skip
    assert not [r for r in runner["Resource"] if "exports" in str(r)]
    [statement] = [s for s in invariants.role_statements(deployed, "ReportFunctionRole")
                   if s.get("Sid") == "WriteReportsAndExports"]  # fmt: skip
    allowed = [cfn.resolve(r, {**NAMES, "DataBucket.Arn": f"arn:aws:s3:::{NAMES['DataBucket']}"})
               for r in statement["Resource"]]  # fmt: skip
    arns = [f"arn:aws:s3:::{NAMES['DataBucket']}/{key}" for key in _export_keys("birds")]

    assert [arn for arn in arns if not any(fnmatch.fnmatchcase(arn, pattern) for pattern in allowed)] == []
