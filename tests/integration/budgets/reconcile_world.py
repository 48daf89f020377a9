"""A reconciler tick's world on moto (the `stack` fixture's, or bench.calls'): idle chains written straight into the
table, as a tick leaves them (no live mark), and chains whose job's Completed event was lost."""

import json
from typing import Any

import boto3

from gtchain.adapters.dynamo import table_key
from gtchain.domain.records import ChainRecord
from gtchain.domain.spec import parse_chain_spec
from gtchain.domain.transitions import ChainKey
from tests.groundtruth import write_output
from tests.integration.chain.flow import drop, jobs
from tests.support import REGION, ROOT, TABLE, Stack, finish_job, manifest_lines


def _spec_document() -> dict[str, Any]:
    document: dict[str, Any] = json.loads((ROOT / "tests" / "data" / "chain.json").read_text())
    return document | {"rounds": 1, "baseline": False}


def add_idle_chains(count: int) -> None:
    """`count` chain items without the live mark (idle-00000, ...), in one batch writer: a chain the tick has
    found idle is such an item, whatever else its partition holds."""
    spec, issues = parse_chain_spec(json.dumps(_spec_document()).encode())
    assert spec is not None and not issues
    record = ChainRecord(chain_id="idle", incarnation="0a0a0a", spec=spec, spec_version="v1", version=3)
    with boto3.resource("dynamodb", region_name=REGION).Table(TABLE).batch_writer() as batch:
        for index in range(count):
            chain = record.model_copy(update={"chain_id": f"idle-{index:05d}"})
            batch.put_item(Item={**table_key(ChainKey(chain.chain_id)), **chain.model_dump(mode="json")})


def lose_a_completed_event(stack: Stack, *, output: bool, chain_id: str = "repair") -> str:
    """A chain of one round whose job completed at Ground Truth and whose Completed event never reached gtchain;
    with `output`, Ground Truth has written the job's output manifest already (it does minutes after Completed).
    Returns the job's name."""
    drop(stack, f"chains/{chain_id}/chain.json", json.dumps(_spec_document()))
    drop(stack, f"chains/{chain_id}/inbox/birds.manifest", manifest_lines(20))
    [job] = [job.name for job in jobs().values() if f"-{chain_id}-" in job.name]
    finish_job(job, human=20)
    if output:
        write_output(stack, job)
    return job
