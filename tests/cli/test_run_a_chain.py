"""A chain from submit to results through the CLI: submit, watch, status (table and --json), results, report."""

import json
from decimal import Decimal
from pathlib import Path

from gtchain_cli.errors import Exit
from tests.cli.conftest import Cli, cells, in_order, lines


def test_submit_prints_the_plan_uploads_and_waits_until_the_rounds_are_queued(cli: Cli) -> None:
    # Given a chain.json (2 rounds per manifest, a baseline, a budget) and a 400-object manifest
    spec = cli.spec_file(rounds=2, baseline=True, budgetUsd=200)
    birds = cli.manifest_file("birds", 400)

    # When it is submitted
    result = cli("submit", "birds", "--spec", str(spec), str(birds))

    # Then both are uploaded, the plan is printed, and the command returns once the service queued the rounds
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert f"uploaded s3://{cli.cloud.bucket}/chains/birds/chain.json (version " in out
    assert f"uploaded s3://{cli.cloud.bucket}/chains/birds/inbox/birds.manifest (version " in out
    assert "birds.manifest: ok (400 objects; rounds of 200 + 200)" in out
    # round 1: 200 x (0.08 + 3 x 0.036) = 37.60; no baseline: rounds under 1,250 objects train no model
    assert cells(result, "1") + cells(result, "2") == [
        ["1", "birds.manifest", "1/2", "200", "no", "$37.60"],
        ["2", "birds.manifest", "2/2", "200", "no", "$37.60"],
    ]
    assert "humans label every object: Ground Truth auto-labels only rounds of 1,250 objects or more" in out
    assert (
        "Worst case (every object labeled by humans): $75.20 against budgetUsd $200.00 ($0.00 spent, "
        "$200.00 left): fits." in out
    )
    assert "birds.manifest: queued as round(s) 1, 2" in out
    assert "follow it with: gtchain watch birds" in out
    assert cli.cloud.get("chains/birds/chain.json") == spec.read_bytes()
    assert cli.cloud.get("chains/birds/inbox/birds.manifest") == birds.read_bytes()
    status = cli.status()
    assert status["state"] == "active" and status["running"]["round"] == 1
    assert [m["name"] for m in status["manifests"]] == ["birds.manifest"]


def test_the_plan_counts_a_baseline_beside_each_round_that_starts_from_a_model_and_warns_of_the_budget(
    cli: Cli,
) -> None:
    # Given rounds large enough to train a model (2 x 1,300 objects), a baseline, and a budget that one round fits
    spec = cli.spec_file(rounds=2, baseline=True, budgetUsd=400)
    birds = cli.manifest_file("birds", 2600)

    # When it is submitted (without waiting: the plan is printed before the upload)
    result = cli("submit", "birds", "--spec", str(spec), str(birds), "--no-wait")

    # Then round 2 starts from round 1's model, with a baseline beside it: twice the worst case
    assert result.exit_code == 0, result.output
    # 1,300 x 0.188 = 244.40
    assert cells(result, "1") + cells(result, "2") == [
        ["1", "birds.manifest", "1/2", "1,300", "no", "$244.40"],
        ["2", "birds.manifest", "2/2", "1,300", "yes", "$488.80"],
    ]
    assert "at worst the chain pauses before round 2 (raise budgetUsd to go on" in result.stdout
    assert "humans label every object" not in result.stdout


def test_watch_follows_the_chain_to_its_end_then_results_come_in_input_order(cli: Cli, tmp_path: Path) -> None:
    # Given a submitted chain
    spec = cli.spec_file(rounds=2, baseline=False)
    birds = cli.manifest_file("birds", 300)
    assert cli("submit", "birds", "--spec", str(spec), str(birds)).exit_code == 0

    # When it is watched
    watched = cli("watch", "birds", "--interval", "300")

    # Then watch printed each transition once, in order, and the jobs' progress, and returned when idle
    assert watched.exit_code == 0, watched.output
    out = watched.stdout
    assert in_order(out, ["chain created", "manifest queued", "round claimed", "job running", "round 1",
                          "job completed", "round claimed", "job running", "round 2", "job completed",
                          "manifest completed", "chain birds is idle"])  # fmt: skip
    assert out.count("manifest completed") == 1
    progress = [line for line in lines(watched) if " labeled; human " in line]
    assert {line.split()[1] for line in progress} == {"1", "2"}  # a line per job whenever its counters moved
    assert all(line.split()[2] in {job["LabelingJobName"] for job in cli.jobs()} for line in progress)
    # And the results are downloaded, one line per input line, in the input's order, each with its label
    fetched = cli("results", "birds", "--out", str(tmp_path / "out"))
    assert fetched.exit_code == 0, fetched.output
    assert f"{tmp_path / 'out' / 'birds.manifest'}: 300 lines" in fetched.stdout
    rows = [json.loads(line) for line in (tmp_path / "out" / "birds.manifest").read_text().splitlines()]
    inputs = [json.loads(line) for line in birds.read_text().splitlines()]
    assert [row["source-ref"] for row in rows] == [line["source-ref"] for line in inputs]
    assert all("annotations" in row["category"] and "category-metadata" in row for row in rows)
    # And one manifest can go to stdout
    single = cli("results", "birds", "birds", "--out", "-")
    assert single.exit_code == 0 and single.stdout.encode() == (tmp_path / "out" / "birds.manifest").read_bytes()


def test_status_json_is_status_json_with_the_live_counters(cli: Cli) -> None:
    # Given a chain whose first round is part way (humans label 50 objects per iteration)
    spec = cli.spec_file(rounds=2, baseline=False, budgetUsd=500, maxConcurrentTasks=50)
    assert cli("submit", "birds", "--spec", str(spec), str(cli.manifest_file("birds", 300))).exit_code == 0
    cli.run_until(lambda: cli.jobs()[0]["LabelCounters"]["TotalLabeled"] > 0)
    job = cli.jobs()[0]

    # When status is asked for as JSON
    result = cli("status", "birds", "--json")

    # Then it is status.json, field by field, plus liveJobs from DescribeLabelingJob
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    document = cli.status()
    assert {k: v for k, v in shown.items() if k != "liveJobs"} == document
    assert shown["chainId"] == "birds" and shown["state"] == "active" and shown["reason"] is None
    assert shown["specVersion"] == cli.cloud.s3.head_object(Bucket=cli.cloud.bucket,
                                                            Key="chains/birds/chain.json")["VersionId"]  # fmt: skip
    running = shown["running"]
    assert (running["round"], running["manifest"], running["part"], running["objects"]) == (1, "birds.manifest",
                                                                                            "1/2", 150)  # fmt: skip
    assert running["job"]["name"] == job["LabelingJobName"] and running["job"]["status"] == "running"
    assert running["baseline"] is None
    assert [(q["round"], q["part"], q["objects"], q["attempt"]) for q in shown["queued"]] == [(2, "2/2", 150, 0)]
    assert [(m["name"], m["objects"], m["rounds"], m["status"]) for m in shown["manifests"]] == [
        ("birds.manifest", 300, [1, 2], "in progress")]  # fmt: skip
    assert (shown["budgetUsd"], shown["spentUsd"]) == ("500.00", "28.20")  # 150 x 0.188, the running worst case
    assert Decimal(shown["budgetLeftUsd"]) == Decimal("471.80")
    assert shown["rejected"] == [] and shown["waitingManifests"] == []
    assert [t["event"] for t in shown["transitions"]][:2] == ["job running", "round claimed"]
    counters = job["LabelCounters"]
    assert shown["liveJobs"] == [{
        "round": 1, "role": "round", "name": job["LabelingJobName"], "status": "InProgress", "objects": 150,
        "labeled": counters["TotalLabeled"], "human": counters["HumanLabeled"],
        "machine": counters["MachineLabeled"], "failed": counters["FailedNonRetryableError"], "live": True,
    }]  # fmt: skip

    # And the table shows the same, one line per chain without a chain id
    table = cli("status")
    assert table.exit_code == 0, table.output
    [row] = cells(table, "birds")
    assert row == ["birds", "active", "1", job["LabelingJobName"], f"{counters['TotalLabeled']}/150",
                   "$28.20 / $500.00", "1"]  # fmt: skip
    assert counters["TotalLabeled"] > 0  # live: the reconciler has not copied them into status.json yet
    listed = json.loads(cli("status", "--json").stdout)
    assert [(c["chainId"], c["state"], c["running"]["job"], c["queuedRounds"]) for c in listed] == [
        ("birds", "active", job["LabelingJobName"], 1)]  # fmt: skip
    detail = cli("status", "birds")
    assert detail.exit_code == 0
    assert in_order(detail.stdout, ["chain birds", "active", "Running jobs", job["LabelingJobName"], "InProgress",
                                    "Queued rounds", "Manifests", "birds.manifest", "in progress",
                                    "spent $28.20 of budget $500.00", "last transitions"])  # fmt: skip


def test_report_downloads_the_chain_report_and_builds_any_jobs_report(cli: Cli, tmp_path: Path) -> None:
    # Given a chain whose round completed and was reported
    spec = cli.spec_file(rounds=1, baseline=False)
    assert cli("submit", "birds", "--spec", str(spec), str(cli.manifest_file("birds", 200))).exit_code == 0
    assert cli("watch", "birds", "--interval", "600").exit_code == 0
    job = cli.jobs()[0]["LabelingJobName"]

    # When the chain's report is downloaded
    chain_report = cli("report", "birds", "--out", str(tmp_path / "report"))

    # Then report.html and the summaries are there, laid out as in the bucket so the page's links work
    assert chain_report.exit_code == 0, chain_report.output
    assert (tmp_path / "report" / "chain" / "report.html").is_file()
    assert json.loads((tmp_path / "report" / job / "summary.json").read_text())["jobName"] == job
    assert f"open {tmp_path / 'report' / 'chain' / 'report.html'}" in chain_report.stdout

    # And the job's own report is built again by the report function's code, to a directory
    built = cli("report", "--job", job, "--out", str(tmp_path / "job"))
    assert built.exit_code == 0, built.output
    summary = json.loads((tmp_path / "job" / "summary.json").read_text())
    stored = json.loads(cli.cloud.get(f"chains/birds/reports/{job}/summary.json"))
    assert {k: v for k, v in summary.items() if k != "generatedAt"} == {
        k: v for k, v in stored.items() if k != "generatedAt"}  # fmt: skip
    assert (tmp_path / "job" / "report.png").read_bytes().startswith(b"\x89PNG")
    assert f"summaryUri: {tmp_path / 'job' / 'summary.json'}" in built.stdout
    assert Exit.OK == 0
