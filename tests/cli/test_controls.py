"""pause, stop, resume: one command each, a conditional write of chain.json, a bounded wait for status.json."""

import json
from datetime import timedelta
from typing import Any

import pytest

from gtchain_cli import control
from gtchain_cli.bucket import DataBucket, WriteConflictError
from gtchain_cli.errors import Exit
from tests.cli.conftest import Cli, one_line


def _running(cli: Cli, rounds: int = 2, objects: int = 300) -> str:
    """A submitted chain whose first round's job is in progress (humans label 50 objects an iteration)."""
    spec = cli.spec_file(rounds=rounds, baseline=False, maxConcurrentTasks=50)
    assert cli("submit", "birds", "--spec", str(spec), str(cli.manifest_file("birds", objects))).exit_code == 0
    cli.run_until(lambda: cli.jobs()[0]["LabelingJobStatus"] == "InProgress")
    return str(cli.jobs()[0]["LabelingJobName"])


def _without_state(document: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in document.items() if k != "state"}


def test_pause_while_a_round_runs_lets_it_finish_and_starts_no_new_round_until_resumed(cli: Cli) -> None:
    # Given a chain whose round 1 is running, round 2 queued
    job = _running(cli)
    before = cli.spec_in_bucket()

    # When it is paused
    paused = cli("pause", "birds")

    # Then chain.json says paused (nothing else changed) and the command returned once status.json said so
    assert paused.exit_code == 0, paused.output
    assert 'chain.json of birds: "state" active -> paused, version ' in paused.stdout
    assert "chain birds is paused: chain.json says paused" in paused.stdout
    assert cli.spec_in_bucket() == {**before, "state": "paused"}
    assert cli.status()["state"] == "paused"
    # And the running job goes on to the end and is recorded; round 2 does not start, even a day later
    cli.run_until(lambda: cli.jobs()[0]["LabelingJobStatus"] == "Completed")
    cli.cloud.advance(timedelta(days=1))
    assert [j["LabelingJobName"] for j in cli.jobs()] == [job]
    status = cli.status()
    assert (status["state"], status["running"], [q["round"] for q in status["queued"]]) == ("paused", None, [2])
    assert status["roundsCompleted"] == 1
    # And pausing again changes nothing
    again = cli("pause", "birds")
    assert again.exit_code == 0 and 'already says "state": paused' in again.stdout
    assert len(cli.spec_versions()) == 2

    # When it is resumed
    resumed = cli("resume", "birds")

    # Then round 2 starts
    assert resumed.exit_code == 0, resumed.output
    assert 'chain.json of birds: "state" paused -> active' in resumed.stdout
    assert "chain birds is active" in resumed.stdout
    assert cli.spec_in_bucket() == {**before, "state": "active"}
    cli.run_until(lambda: len(cli.jobs()) == 2)
    assert cli.status()["running"]["round"] == 2


def test_stop_stops_the_running_job_and_starts_nothing(cli: Cli) -> None:
    # Given a chain whose round 1 is running
    job = _running(cli)

    # When it is stopped
    stopped = cli("stop", "birds")

    # Then status says stopped, the job was sent StopLabelingJob, and it ends Stopped; nothing else starts
    assert stopped.exit_code == 0, stopped.output
    assert "chain birds is stopped: chain.json says stopped" in stopped.stdout
    assert cli.jobs()[0]["LabelingJobStatus"] in ("Stopping", "Stopped")
    cli.run_until(lambda: cli.jobs()[0]["LabelingJobStatus"] == "Stopped")
    cli.cloud.advance(timedelta(hours=12))
    assert [(j["LabelingJobName"], j["LabelingJobStatus"]) for j in cli.jobs()] == [(job, "Stopped")]
    status = cli.status()
    assert (status["state"], status["running"]) == ("stopped", None)
    assert any(t["event"] == "job stopped" for t in status["transitions"])

    # When it is resumed, the stopped round is retried under a new name (attempt 2)
    assert cli("resume", "birds").exit_code == 0
    cli.run_until(lambda: len(cli.jobs()) == 2)
    assert cli.jobs()[1]["LabelingJobName"] == job.replace("-a1", "-a2")


def test_resume_re_uploads_an_unchanged_chain_json_for_a_chain_paused_by_its_budget(cli: Cli) -> None:
    # Given a chain paused by its budget before round 2 (each round's worst case is 150 x 0.188 = $28.20)
    spec = cli.spec_file(rounds=2, baseline=False, budgetUsd=30)
    assert cli("submit", "birds", "--spec", str(spec), str(cli.manifest_file("birds", 300))).exit_code == 0
    cli.run_until(lambda: cli.status()["state"] == "paused")
    assert cli.status()["reason"].startswith("budget: round 2 could cost up to $28.20")

    # When it is resumed without raising the budget
    resumed = cli("resume", "birds")

    # Then chain.json was uploaded again unchanged, the service tried, and the chain paused again: exit 9
    assert resumed.exit_code == Exit.HALTED, resumed.output
    assert 'chain.json of birds: "state" active -> active' in resumed.stdout
    assert "chain birds is paused: budget: round 2 could cost up to $28.20" in resumed.stdout
    assert [v.get("budgetUsd") for v in cli.spec_versions()] == [30, 30]


def test_two_concurrent_commands_leave_chain_json_in_one_of_their_states_and_lose_no_edit(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a stopped chain
    _running(cli)
    assert cli("stop", "birds").exit_code == 0
    original = DataBucket.put
    interleaved: list[str] = []

    def put(self: DataBucket, key: str, body: bytes, **kwargs: Any) -> str:
        if not interleaved:
            # Between `pause`'s read and its write, `resume` runs to the end, and someone raises the budget
            interleaved.append("resume")
            other = cli("resume", "birds", "--no-wait")
            assert other.exit_code == 0, other.output
            assert 'chain.json of birds: "state" stopped -> active' in other.stdout
            document = cli.spec_in_bucket()
            cli.cloud.put("chains/birds/chain.json", json.dumps({**document, "budgetUsd": 999}))
        return original(self, key, body, **kwargs)

    monkeypatch.setattr(DataBucket, "put", put)

    # When pause runs concurrently with them
    paused = cli("pause", "birds", "--no-wait")

    # Then pause's first write was refused (the ETag changed), it read chain.json again and applied its change
    # to what it found: chain.json ends in pause's state, with the budget edit kept
    assert paused.exit_code == 0, paused.output
    assert 'chain.json of birds: "state" active -> paused' in paused.stdout
    assert "after 1 concurrent edit(s)" in paused.stdout
    versions = cli.spec_versions()
    assert [(v.get("state", "active"), v.get("budgetUsd")) for v in versions] == [
        ("active", None), ("stopped", None), ("active", None), ("active", 999), ("paused", 999),
    ]  # fmt: skip
    assert _without_state(versions[-1]) == _without_state({**versions[0], "budgetUsd": 999})
    # And the service applies the last one
    cli.cloud.advance(timedelta(minutes=1))
    assert (cli.status()["state"], cli.status()["specVersion"]) == (
        "paused",
        cli.cloud.s3.head_object(Bucket=cli.cloud.bucket, Key="chains/birds/chain.json")["VersionId"],
    )


def test_a_command_that_keeps_losing_the_race_stops_with_exit_7_and_writes_nothing(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    _running(cli)
    tries: list[str] = []

    def put(self: DataBucket, key: str, body: bytes, **kwargs: Any) -> str:
        tries.append(key)
        raise WriteConflictError(key)

    monkeypatch.setattr(DataBucket, "put", put)

    result = cli("pause", "birds")

    assert result.exit_code == Exit.CONFLICT
    assert one_line(result) == (
        f"error: chain.json of birds kept changing while this command changed it ({control.ATTEMPTS} attempts): "
        "someone else is editing it; run the command again when they are done"
    )
    assert len(tries) == control.ATTEMPTS
    assert "state" not in cli.spec_in_bucket() and len(cli.spec_versions()) == 1


def test_a_pause_the_service_never_applies_times_out_with_exit_8(cli: Cli) -> None:
    # Given a running chain whose start function never sees the next upload (its S3 event is lost)
    _running(cli)
    cli.cloud.faults.drop_s3_event("chains/birds/chain.json")

    # When it is paused with a short wait (the reconciler would apply it within 10 minutes)
    result = cli("pause", "birds", "--timeout", "60", "--interval", "10")

    # Then the command says what it uploaded and where to look
    assert result.exit_code == Exit.TIMEOUT, result.output
    line = one_line(result)
    assert line.startswith("error: chain.json version ") and line.endswith(
        "was uploaded, but status.json does not show it after 60 s: see `gtchain status birds` and "
        "`gtchain errors birds` (the StartFunction's logs say more)")  # fmt: skip
