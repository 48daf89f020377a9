"""Rejected uploads: in `errors`, and in status.json (so `status` and the file agree) while they stand; manifests
that wait for a chain.json."""

import json
from datetime import timedelta

from gtchain_cli.errors import Exit
from local.dataset import chain_spec
from tests.cli.conftest import Cli, one_line


def _submitted(cli: Cli) -> None:
    spec = cli.spec_file(rounds=1, baseline=False)
    assert cli("submit", "birds", "--spec", str(spec), str(cli.manifest_file("birds", 100))).exit_code == 0


def test_a_rejected_manifest_is_shown_by_errors_and_by_status_until_it_is_replaced(cli: Cli) -> None:
    # Given a chain, and a manifest dropped by hand whose line 2 is not JSON and whose line 3 has no source-ref
    _submitted(cli)
    good = f'{{"source-ref": "s3://{cli.cloud.bucket}/images/1.jpg"}}\n'
    bad = good + '{"source-ref": \n' + '{"image": "s3://x/y.jpg"}\n'
    version = cli.cloud.put("chains/birds/inbox/typo.manifest", bad)
    cli.cloud.advance(timedelta(seconds=5))

    # When the rejections are listed
    listed = cli("errors", "birds")
    as_json = cli("errors", "birds", "--json")

    # Then the report says which lines and fields are wrong
    assert listed.exit_code == 0, listed.output
    assert listed.stdout.splitlines() == [
        f"typo.manifest (version {version}), rejected {json.loads(as_json.stdout)[0]['rejectedAt']}, still the "
        "current version: 2 error(s)",
        "  line 2: not valid JSON: Expecting value (column 1)",
        "  line 3, source-ref: the line has no source-ref",
        f"  report: s3://{cli.cloud.bucket}/chains/birds/errors/typo.manifest@{version}.json",
    ]
    [report] = json.loads(as_json.stdout)
    assert report["object"] == f"s3://{cli.cloud.bucket}/chains/birds/inbox/typo.manifest"
    assert (report["versionId"], report["errorCount"], report["current"]) == (version, 2, True)
    assert [(e.get("line"), e.get("field")) for e in report["errors"]] == [(2, None), (3, "source-ref")]
    assert report["reportUri"] == (f"s3://{cli.cloud.bucket}/chains/birds/errors/typo.manifest@{version}.json")
    # And status.json records it (the latest rejected version of the key), and so does `status`
    status = cli.status()
    [rejected] = status["rejected"]
    assert rejected == {
        "key": "chains/birds/inbox/typo.manifest", "name": "typo.manifest", "versionId": version,
        "rejectedAt": report["rejectedAt"], "errorCount": 2,
        "reason": "2 error(s); first: line 2: " + report["errors"][0]["message"],
        "errorReportKey": f"chains/birds/errors/typo.manifest@{version}.json",
    }  # fmt: skip
    assert json.loads(cli("status", "birds", "--json").stdout)["rejected"] == [rejected]
    shown = cli("status", "birds").stdout
    assert f"rejected: typo.manifest (version {version}) at {report['rejectedAt']}: 2 error(s)" in shown
    assert any(t["event"] == "upload rejected" for t in status["transitions"])

    # When a corrected version replaces it
    cli.cloud.put("chains/birds/inbox/typo.manifest", good)
    cli.cloud.advance(timedelta(seconds=5))

    # Then status.json no longer shows a rejection; errors still lists the report, no longer current
    assert cli.status()["rejected"] == []
    [old] = json.loads(cli("errors", "birds", "--json").stdout)
    assert (old["versionId"], old["current"]) == (version, False)


def test_a_typo_while_pausing_is_shown_as_rejected_and_pause_says_how_to_fix_it(cli: Cli) -> None:
    # Given a running chain, and a chain.json uploaded by hand to pause it, with a typo in the state
    _submitted(cli)
    document = cli.spec_in_bucket()
    version = cli.cloud.put("chains/birds/chain.json", json.dumps({**document, "state": "pasued"}, indent=2))
    cli.cloud.advance(timedelta(seconds=5))

    # Then the chain still runs, and status says that the upload was rejected, and why
    status = cli.status()
    assert status["state"] == "active"
    [rejected] = status["rejected"]
    assert (rejected["name"], rejected["versionId"]) == ("chain.json", version)
    assert rejected["reason"].startswith("1 error(s); first: line ") and "field state: " in rejected["reason"]
    assert "rejected: chain.json (version " in cli("status", "birds").stdout

    # When the CLI is asked to pause it
    result = cli("pause", "birds")

    # Then it does not edit the rejected file, and says what to do
    assert result.exit_code == Exit.INVALID
    line = one_line(result)
    assert line.startswith(f"error: chain.json version {version} was rejected: 1 error(s); first: line ")
    assert line.endswith(f"errors/chain.json@{version}.json); fix it and upload it with "
                         "`gtchain submit birds --spec chain.json`")  # fmt: skip


def test_a_first_chain_json_that_is_rejected_leaves_the_manifests_waiting_and_status_says_so(cli: Cli) -> None:
    # Given a manifest, and a chain.json with a misspelt field, uploaded by hand to a new chain
    manifest = cli.manifest_file("birds", 100)
    manifest_version = cli.cloud.put("chains/birds/inbox/birds.manifest", manifest.read_bytes())
    broken = {**chain_spec("bounding-box", rounds=1, baseline=False), "workersPerObjet": 3}
    spec_version = cli.cloud.put("chains/birds/chain.json", json.dumps(broken, indent=2))
    cli.cloud.advance(timedelta(seconds=5))

    # Then status.json exists though the chain does not: waiting, with the rejection and the waiting manifest
    status = cli.status()
    assert (status["state"], status["incarnation"], status["version"]) == ("waiting", None, 0)
    assert status["reason"].startswith(f"chain.json (version {spec_version}) was rejected: 1 error(s); first: line")
    [rejected] = status["rejected"]
    assert "`workersPerObjet`: unknown field; did you mean `workersPerObject`?" in rejected["reason"]
    assert status["waitingManifests"] == [
        {"name": "birds.manifest", "key": "chains/birds/inbox/birds.manifest", "versionId": manifest_version,
         "bytes": manifest.stat().st_size},
    ]  # fmt: skip
    shown = cli("status", "birds")
    assert shown.exit_code == 0
    assert "waiting" in shown.stdout and f"waiting for chain.json: birds.manifest (version {manifest_version})" in (
        shown.stdout
    )
    # And watch returns at once: nothing will run until a chain.json is accepted
    watched = cli("watch", "birds")
    assert watched.exit_code == Exit.INVALID and "chain birds is waiting: chain.json (version " in watched.stdout

    # When a corrected chain.json is submitted
    fixed = cli.spec_file(rounds=1, baseline=False)
    submitted = cli("submit", "birds", "--spec", str(fixed))

    # Then the waiting manifest is picked up and runs
    assert submitted.exit_code == 0, submitted.output
    status = cli.status()
    assert status["state"] == "active" and status["waitingManifests"] == [] and status["rejected"] == []
    assert [(m["name"], m["version"]) for m in status["manifests"]] == [("birds.manifest", manifest_version)]
