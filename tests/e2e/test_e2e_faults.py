"""What goes wrong on AWS, through the emulator's fault knobs: the chain must come out right anyway."""

from datetime import timedelta

from tests.e2e.conftest import CHAIN, Chain, tags


def _advance_invocations_for(chain: Chain, job_suffix: str) -> list[str]:
    return [
        str(invocation.result and invocation.result.get("action"))
        for invocation in chain.cloud.runtime.history
        if invocation.function == "AdvanceFunction" and invocation.event["resources"][0].endswith(job_suffix)
    ]


def test_a_state_change_delivered_three_times_moves_the_chain_once(chain: Chain) -> None:
    # Given round 1's Completed event will arrive three times
    chain.cloud.faults.duplicate_job_event("*-r1-a1", copies=3)
    chain.upload_spec(rounds=2, baseline=False)
    chain.drop_manifest("birds", 200)

    # When the chain runs
    chain.cloud.run()

    # Then the advance function saw all three, applied one, and exactly one round 2 job exists
    assert sorted(_advance_invocations_for(chain, "-r1-a1")) == ["applied", "duplicate", "duplicate"]
    assert [job["LabelingJobName"][-5:] for job in chain.jobs()] == ["r1-a1", "r2-a1"]
    completed = [e for e in chain.recorder.of_type("Round Completed") if e["round"] == 1]
    assert len(completed) == 1


def test_a_lost_state_change_is_repaired_by_the_reconciler_within_one_period(chain: Chain) -> None:
    # Given round 1's Completed event is lost
    chain.cloud.faults.drop_job_event("*-r1-a1")
    chain.upload_spec(rounds=2, baseline=False)
    chain.drop_manifest("birds", 200)

    # When the chain runs
    chain.cloud.run()

    # Then no event reached the advance function, yet round 2 started within one reconcile period (10 minutes)
    assert _advance_invocations_for(chain, "-r1-a1") == []
    first, second = chain.jobs()
    assert first["LabelingJobStatus"] == second["LabelingJobStatus"] == "Completed"
    assert timedelta(0) <= second["CreationTime"] - first["LastModifiedTime"] <= timedelta(minutes=10)
    assert len(chain.results("birds")) == 200


def test_a_failed_job_pauses_the_chain_and_a_new_chain_json_retries_it(chain: Chain) -> None:
    # Given round 1's job fails after its first iteration
    reason = "ClientError: the workers could not load 3 images"
    chain.cloud.faults.fail_job("*-r1-a1", reason, after_iterations=1)
    chain.upload_spec(rounds=2, baseline=False)
    chain.drop_manifest("birds", 200)

    # When the chain runs
    chain.cloud.run()

    # Then the job failed with its reason and the chain paused: nothing else started
    (failed,) = chain.jobs()
    assert failed["LabelingJobStatus"] == "Failed"
    assert failed["FailureReason"] == reason
    assert "LabelingJobOutput" not in failed
    status = chain.status()
    assert status["state"] == "paused"
    assert reason in status["reason"]
    assert any(reason in event["reason"] for event in chain.recorder.of_type("Chain Paused"))

    # When chain.json is uploaded again (the user's "resume")
    chain.upload_spec(rounds=2, baseline=False)
    chain.cloud.run()

    # Then round 1 is retried under a new name and the chain finishes
    names = [job["LabelingJobName"][-5:] for job in chain.jobs()]
    assert names == ["r1-a1", "r1-a2", "r2-a1"]
    assert [job["LabelingJobStatus"] for job in chain.jobs()] == ["Failed", "Completed", "Completed"]
    assert chain.status()["state"] == "idle"
    assert len(chain.results("birds")) == 200


def test_stopping_the_chain_stops_its_running_job(chain: Chain) -> None:
    # Given round 1 is in progress
    chain.upload_spec(rounds=2, baseline=False)
    chain.drop_manifest("birds", 200)
    chain.cloud.run(until=lambda: any(job["LabelingJobStatus"] == "InProgress" for job in chain.jobs()))

    # When chain.json says "stopped"
    chain.upload_spec(rounds=2, baseline=False, state="stopped")
    chain.cloud.pump()

    # Then StopLabelingJob made the job Stopping at once, and Stopped a little later
    (job,) = chain.jobs()
    assert job["LabelingJobStatus"] == "Stopping"
    chain.cloud.run()
    (job,) = chain.jobs()
    assert job["LabelingJobStatus"] == "Stopped"
    assert job["LabelCounters"]["TotalLabeled"] < 100
    # And nothing else started
    assert chain.status()["state"] == "stopped"


def test_output_that_appears_late_still_gets_its_report(chain: Chain) -> None:
    # Given Ground Truth writes round 1's output half an hour after the job is Completed
    chain.cloud.faults.delay_output("*-r1-a1", timedelta(minutes=30))
    chain.upload_spec(rounds=1, baseline=False)
    chain.drop_manifest("birds", 100)

    # When the chain runs
    chain.cloud.run()

    # Then the reporter failed while the output was missing (retried twice, then the on-failure queue)...
    failures = chain.cloud.queue_messages("ReportFailureQueue")
    assert failures, "the reporter should have given up at least once while the output was missing"
    assert failures[0]["requestContext"]["approximateInvokeCount"] == 3
    assert failures[0]["requestPayload"]["detail-type"] == "Round Completed"
    # ...and the reconciler asked again later, so the report exists in the end
    (job,) = chain.jobs()
    assert f"chains/{CHAIN}/reports/{job['LabelingJobName']}/summary.json" in chain.cloud.keys(
        f"chains/{CHAIN}/reports/"
    )
    assert tags(job)["gtchain:round"] == "1"
