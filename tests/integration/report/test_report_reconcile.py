"""A report is late, never lost: the reconciler asks again for completed jobs whose report is missing."""

from datetime import datetime, timedelta
from typing import Any

import boto3

from gtchain.service.reconcile import Repairs, request_missing_reports
from tests.fixtures.job_outputs import IterationPlan, OutputPlan
from tests.integration.chain.flow import reconcile
from tests.integration.report.report_flow import complete, report, reports_key, start_chain, write_output
from tests.support import DATA_BUCKET, REGION, TABLE, Stack

PLAN = OutputPlan((IterationPlan(1250),))


def _requested(stack: Stack, after: timedelta) -> list[str]:
    """What the reconciler asks for, `after` the round's job finished."""
    rounds = stack.ports.store.list_rounds("birds")
    assert rounds[0].job is not None and rounds[0].job.finished_at is not None
    repairs = Repairs()
    now = datetime.fromisoformat(rounds[0].job.finished_at) + after
    request_missing_reports(stack.ports, "birds", rounds, repairs, now=now)
    return repairs.reports_requested


def test_a_missing_report_is_asked_for_after_the_reporters_own_retries(
    report_stack: Stack, spec_document: dict[str, Any]
) -> None:
    # Given a completed round whose report was never written
    name = start_chain(report_stack, spec_document)
    complete(report_stack, name, write_output(name, PLAN, curves=False))

    # Then it is left to the reporter's own retries at first, asked for again later, and given up after a day
    assert _requested(report_stack, timedelta(minutes=5)) == []
    assert report_stack.published() == []
    assert _requested(report_stack, timedelta(minutes=20)) == [name]
    [event] = report_stack.published()
    assert (event["detail-type"], event["detail"]["jobName"], event["detail"]["round"]) == ("Round Completed", name, 1)
    assert _requested(report_stack, timedelta(days=2)) == []

    # And once the report exists, nothing is asked for
    report(event["detail"])
    assert _requested(report_stack, timedelta(minutes=20)) == []


def test_the_scheduled_reconciler_re_emits_round_completed_and_the_report_follows(
    report_stack: Stack, spec_document: dict[str, Any]
) -> None:
    # Given a round that completed an hour ago and has no report (its event was lost)
    name = start_chain(report_stack, spec_document)
    complete(report_stack, name, write_output(name, PLAN, curves=False))
    an_hour_ago = (datetime.now().astimezone() - timedelta(hours=1)).isoformat()
    boto3.resource("dynamodb", region_name=REGION).Table(TABLE).update_item(
        Key={"PK": "CHAIN#birds", "SK": "ROUND#0001"}, UpdateExpression="SET job.finished_at = :t",
        ExpressionAttributeValues={":t": an_hour_ago},
    )  # fmt: skip

    # When the reconciler runs, and its event reaches the report function
    reconcile()
    [event] = [e for e in report_stack.published() if e["detail-type"] == "Round Completed"]
    report(event["detail"])

    # Then the report is there
    listed = report_stack.s3.list_objects_v2(Bucket=DATA_BUCKET, Prefix=reports_key(name))
    assert listed["KeyCount"] == 1
