"""A chain's history written straight into the table and the data bucket, as the handlers leave it after
`rounds` completed rounds from `manifests` manifests: driving hundreds of events through moto to get there would
take minutes, and what the counted event reads of its past is these items and objects."""

import json
from decimal import Decimal
from typing import Any

import boto3

from gtchain.adapters.dynamo import table_key
from gtchain.domain import digest_index, names
from gtchain.domain.manifest import source_digest
from gtchain.domain.records import ChainRecord, JobRecord, LabelCounts, ManifestRecord, RoundRecord, RoundStatus
from gtchain.domain.spec import parse_chain_spec
from gtchain.domain.transitions import ChainKey, ManifestKey, RoundKey
from gtchain.service.chain import write_task_config
from tests.support import DATA_BUCKET, REGION, TABLE, Stack, manifest_lines, model_arn

LINES_PER_ROUND = 10


def write_history(
    stack: Stack, spec_document: dict[str, Any], chain_id: str, *, manifests: int, rounds_each: int, baseline: bool,
    lines_per_round: int = LINES_PER_ROUND,
) -> int:  # fmt: skip
    """Write the chain with its history and upload its chain.json (the version its record names). Returns the
    number of the last round; objects are bird-00000.jpg onwards, `lines_per_round` to a round."""
    document = spec_document | {"rounds": 2, "baseline": baseline, "budgetUsd": 100000}
    body = json.dumps(document).encode()
    spec, issues = parse_chain_spec(body)
    assert spec is not None and not issues, issues
    spec_version = stack.put(names.spec_key(chain_id), body)
    incarnation = "0b0b0b"
    rounds, manifest_records, parts = [], [], []
    for index in range(manifests):
        name, version = f"m{index}.manifest", f"v{index}"
        numbers = list(range(len(rounds) + 1, len(rounds) + rounds_each + 1))
        for part, number in enumerate(numbers, start=1):
            lines = manifest_lines(lines_per_round, start=(number - 1) * lines_per_round).splitlines()
            parts.append([source_digest(json.loads(line)["source-ref"]) for line in lines])
            rounds.append(_completed_round(chain_id, incarnation, number, name, version, part, rounds_each, spec,
                                           lines_per_round, baseline=baseline and number > 1))  # fmt: skip
        manifest_records.append(ManifestRecord(
            chain_id=chain_id, name=name, version=version, lines=rounds_each * lines_per_round, rounds=numbers,
            status="completed", results_uri=f"s3://{DATA_BUCKET}/{names.results_key(chain_id, name)}", announced=True,
        ))  # fmt: skip
    index_key = names.digest_index_key(chain_id, incarnation, len(rounds))
    stack.put(index_key, digest_index.records(parts, 1))
    index_uri = names.s3_uri(DATA_BUCKET, index_key)
    chain = ChainRecord(
        chain_id=chain_id, incarnation=incarnation, spec=spec, spec_version=spec_version, next_round=len(rounds) + 1,
        latest_model_arn=model_arn(f"{chain_id}-r{len(rounds)}"), latest_model_round=len(rounds),
        task_config=write_task_config(stack.ports, chain_id, spec), digest_index=index_uri, version=4 * len(rounds),
    )  # fmt: skip
    items: list[tuple[Any, Any]] = [(ChainKey(chain_id), chain)]
    items += [(RoundKey(chain_id, r.number), r.model_copy(update={"digests_uri": index_uri})) for r in rounds]
    items += [(ManifestKey(chain_id, m.name, m.version), m) for m in manifest_records]
    with boto3.resource("dynamodb", region_name=REGION).Table(TABLE).batch_writer() as batch:
        for key, record in items:
            batch.put_item(Item={**table_key(key), **record.model_dump(mode="json")})
    return len(rounds)


def _completed_job(name: str, role: str, model: str | None) -> JobRecord:
    return JobRecord(
        name=name, role=role, status=RoundStatus.COMPLETED, arn=f"arn:aws:sagemaker:{REGION}:1:labeling-job/{name}",
        final_model_arn=model, counters=LabelCounts(total_labeled=10, human_labeled=4, machine_labeled=6),
        cost_usd=Decimal("1.23"), known_cost_usd=Decimal("1.23"), started_at="2026-01-01T00:00:00.000Z",
        finished_at="2026-01-01T01:00:00.000Z",
    )  # fmt: skip


def _completed_round(
    chain_id: str, incarnation: str, number: int, manifest: str, version: str, part: int, parts: int, spec: Any,
    objects: int, *, baseline: bool,
) -> RoundRecord:  # fmt: skip
    def job_name(role: names.Role) -> str:
        return names.job_name("gtchain", chain_id, incarnation, number, role, 1)

    return RoundRecord(
        chain_id=chain_id, number=number, manifest_name=manifest, manifest_version=version, part=part, parts=parts,
        objects=objects, part_objects=objects,
        input_uri=f"s3://{DATA_BUCKET}/{names.part_key(chain_id, manifest, version, part, parts)}",
        digests_uri="", overlaps=[], status=RoundStatus.COMPLETED, attempt=1, spec=spec,
        job=_completed_job(job_name("round"), "round", model_arn(f"{chain_id}-r{number}")),
        baseline=_completed_job(job_name("baseline"), "baseline", None) if baseline else None,
        worst_case_usd=Decimal("3.76"),
    )  # fmt: skip
