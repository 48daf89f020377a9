"""template.yaml, translated as SAM deploys it, keeps every house rule; a copy breaking one rule is caught,
with the resource named."""

from collections.abc import Callable
from typing import Any

import pytest

from tests.infrastructure import cfn, invariants

Change = Callable[[cfn.Template], None]


def test_template_keeps_every_invariant() -> None:
    violations = invariants.violations(cfn.deployed())

    assert not violations, "template.yaml breaks its invariants:\n" + "\n".join(violations)


def _resource(template: cfn.Template, logical_id: str) -> dict[str, Any]:
    resource: dict[str, Any] = template["Resources"][logical_id]
    return resource


def _properties(template: cfn.Template, logical_id: str) -> dict[str, Any]:
    properties: dict[str, Any] = _resource(template, logical_id)["Properties"]
    return properties


def _statement(template: cfn.Template, logical_id: str, sid: str) -> dict[str, Any]:
    """A statement by Sid, in a managed policy or in a SAM function's inline policy statements."""
    resource = _properties(template, logical_id)
    documents = [resource["PolicyDocument"]] if "PolicyDocument" in resource else resource["Policies"]
    for document in documents:
        for statement in document.get("Statement", []) if isinstance(document, dict) else []:
            if statement.get("Sid") == sid:
                return statement  # the template's own dict, so a change edits the template
    raise KeyError(f"{logical_id} has no statement {sid}")


def _event(template: cfn.Template, function_id: str, event_id: str) -> dict[str, Any]:
    properties: dict[str, Any] = _properties(template, function_id)["Events"][event_id]["Properties"]
    return properties


def _dlq_senders(template: cfn.Template, policy_id: str) -> dict[str, Any]:
    condition: dict[str, Any] = _properties(template, policy_id)["PolicyDocument"]["Statement"][0]["Condition"]
    senders: dict[str, Any] = condition["ArnEquals"]
    return senders


def _add_statement(function_id: str, statement: dict[str, Any]) -> Change:
    def change(template: cfn.Template) -> None:
        _properties(template, function_id)["Policies"].append({"Statement": [statement]})

    return change


# (check, change to template.yaml, the violation expected, naming the resource)
BROKEN: dict[str, tuple[str, Change, str]] = {
    "log group missing": (
        "log_groups",
        lambda t: t["Resources"].pop("AdvanceLogGroup"),
        "AdvanceFunction: no explicit log group",
    ),
    "log group without retention": (
        "log_groups",
        lambda t: _properties(t, "ReportLogGroup").pop("RetentionInDays"),
        "ReportFunction: log group ReportLogGroup has no RetentionInDays",
    ),
    "function without on-failure destination": (
        "on_failure_destinations",
        lambda t: _properties(t, "StartFunction")["EventInvokeConfig"].pop("DestinationConfig"),
        "StartFunction: invoked asynchronously but has no on-failure destination queue",
    ),
    "function without EventInvokeConfig": (
        "on_failure_destinations",
        lambda t: _properties(t, "ReconcileFunction").pop("EventInvokeConfig"),
        "ReconcileFunction: invoked asynchronously but has no on-failure destination queue",
    ),
    "rule without retry policy": (
        "rule_delivery",
        lambda t: _event(t, "StartFunction", "ManifestCreated").pop("RetryPolicy"),
        "StartFunctionManifestCreated: target StartFunctionManifestCreatedLambdaTarget has no RetryPolicy",
    ),
    "rule without DLQ": (
        "rule_delivery",
        lambda t: _event(t, "AdvanceFunction", "LabelingJobStateChanged").pop("DeadLetterConfig"),
        "AdvanceFunctionLabelingJobStateChanged: target AdvanceFunctionLabelingJobStateChangedLambdaTarget has no "
        "dead-letter queue",
    ),
    "DLQ the rule may not write to": (
        "rule_delivery",
        lambda t: _dlq_senders(t, "StartDeliveryDLQPolicy").update(
            {"aws:SourceArn": {"Fn::GetAtt": ["StartFunctionChainSpecCreated", "Arn"]}}
        ),
        "StartFunctionManifestCreated: dead-letter queue StartDeliveryDLQ has no queue policy letting this rule send",
    ),
    "sweep schedule without retry policy": (
        "rule_delivery",
        lambda t: _event(t, "ReconcileFunction", "Sweep").pop("RetryPolicy"),
        "ReconcileFunctionSweep: target ReconcileFunctionSweepLambdaTarget has no RetryPolicy",
    ),
    "reconciler's DLQ letting only the tick's schedule write": (
        "rule_delivery",
        lambda t: _dlq_senders(t, "ReconcileDeliveryDLQPolicy").update(
            {"aws:SourceArn": {"Fn::GetAtt": ["ReconcileFunctionScheduled", "Arn"]}}
        ),
        "ReconcileFunctionSweep: dead-letter queue ReconcileDeliveryDLQ has no queue policy letting this rule send",
    ),
    "queue without alarm": (
        "queue_alarms",
        lambda t: t["Resources"].pop("ReportDeliveryAlarm"),
        "ReportDeliveryDLQ: no alarm on ApproximateNumberOfMessagesVisible > 0",
    ),
    "alarm that notifies nobody": (
        "queue_alarms",
        lambda t: _properties(t, "StartFailureAlarm").update({"AlarmActions": []}),
        "StartFailureQueue: its alarm does not notify the topic",
    ),
    "unencrypted queue": (
        "queue_alarms",
        lambda t: _properties(t, "AdvanceFailureQueue").pop("SqsManagedSseEnabled"),
        "AdvanceFailureQueue: not encrypted",
    ),
    "environment without TOPIC_ARN": (
        "function_environment",
        lambda t: t["Globals"]["Function"]["Environment"]["Variables"].pop("TOPIC_ARN"),
        "StartFunction: environment lacks TOPIC_ARN",
    ),
    "wildcard action": (
        "wildcard_actions",
        _add_statement("ReportFunction", {"Sid": "Everything", "Effect": "Allow", "Action": "*", "Resource": "*"}),
        "ReportFunctionRole (statement Everything): allows Action '*'",
    ),
    "whole-service action": (
        "wildcard_actions",
        lambda t: _statement(t, "ChainRunnerPolicy", "ReadChainObjects").update({"Action": "s3:*"}),
        "ChainRunnerPolicy (statement ReadChainObjects): allows Action 's3:*'",
    ),
    "wildcard resource": (
        "wildcard_resources",
        lambda t: _statement(t, "StartFunction", "ReadAndWriteRejected").update({"Resource": "*"}),
        "StartFunctionRole (statement ReadAndWriteRejected): Resource '*' for s3:GetObject, s3:PutObject",
    ),
    "customer managed policy from elsewhere": (
        "wildcard_resources",
        lambda t: _properties(t, "AdvanceFunction")["Policies"].append("arn:aws:iam::123456789012:policy/Anything"),
        "AdvanceFunctionRole: attaches a managed policy that is neither AWS's nor this stack's",
    ),
    "PassRole to any service": (
        "pass_role",
        lambda t: _statement(t, "ChainRunnerPolicy", "PassLabelingRole").pop("Condition"),
        "ChainRunnerPolicy (statement PassLabelingRole): iam:PassRole without iam:PassedToService sagemaker",
    ),
    "PassRole on another role": (
        "pass_role",
        lambda t: _statement(t, "ChainRunnerPolicy", "PassLabelingRole").update(
            {"Resource": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/admin"}}
        ),
        "ChainRunnerPolicy (statement PassLabelingRole): iam:PassRole on something other than the labeling role",
    ),
    "labeling role passing any role": (
        "pass_role",
        lambda t: _properties(t, "LabelingRolePassSelfPolicy")["PolicyDocument"]["Statement"][0].update(
            {"Resource": "*"}
        ),
        "LabelingRolePassSelfPolicy: iam:PassRole on something other than the labeling role",
    ),
    "PutEvents for any source": (
        "put_events",
        lambda t: _statement(t, "ReportFunction", "PublishGtchainEvents").pop("Condition"),
        "ReportFunctionRole (statement PublishGtchainEvents): events:PutEvents without the condition",
    ),
    "PutEvents as another source": (
        "put_events",
        lambda t: _statement(t, "ChainRunnerPolicy", "PublishGtchainEvents").update(
            {"Condition": {"StringEquals": {"events:source": "aws.s3"}}}
        ),
        "ChainRunnerPolicy (statement PublishGtchainEvents): events:PutEvents without the condition",
    ),
    "SageMaker on every labeling job": (
        "sagemaker_scope",
        lambda t: _statement(t, "ChainRunnerPolicy", "RunLabelingJobs").update(
            {"Resource": {"Fn::Sub": "arn:${AWS::Partition}:sagemaker:${AWS::Region}:${AWS::AccountId}:labeling-job/*"}}
        ),
        "ChainRunnerPolicy (statement RunLabelingJobs): sagemaker:CreateLabelingJob",
    ),
    "report function writing the table": (
        "table_readers",
        lambda t: _properties(t, "ReportFunction")["Policies"].append(
            {"DynamoDBCrudPolicy": {"TableName": {"Ref": "ChainTable"}}}
        ),
        "ReportFunctionRole: only reads the table (the report function reads one round (GetItem) for its spec "
        "snapshot) but is allowed dynamodb:BatchWriteItem, dynamodb:DeleteItem, dynamodb:PutItem, dynamodb:UpdateItem",
    ),
    "report function with every DynamoDB action": (
        "table_readers",
        lambda t: _statement(t, "ReportFunction", "ReadChain").update({"Action": "dynamodb:*"}),
        "ReportFunctionRole: only reads the table",
    ),
    "bucket unencrypted": (
        "buckets",
        lambda t: _properties(t, "DataBucket").pop("BucketEncryption"),
        "DataBucket: no default encryption",
    ),
    "bucket partly public": (
        "buckets",
        lambda t: _properties(t, "DataBucket")["PublicAccessBlockConfiguration"].update(
            {"RestrictPublicBuckets": False}
        ),
        "DataBucket: public access not fully blocked",
    ),
    "bucket unversioned": (
        "buckets",
        lambda t: _properties(t, "DataBucket")["VersioningConfiguration"].update({"Status": "Suspended"}),
        "DataBucket: versioning not enabled",
    ),
    "bucket without Ground Truth's CORS rule": (
        "buckets",
        lambda t: _properties(t, "DataBucket")["CorsConfiguration"]["CorsRules"][0].update({"ExposedHeaders": []}),
        "DataBucket: no CORS rule for Ground Truth",
    ),
    "bucket without EventBridge": (
        "buckets",
        lambda t: _properties(t, "DataBucket").pop("NotificationConfiguration"),
        "DataBucket: EventBridge notifications not enabled",
    ),
    "bucket accepting plain HTTP": (
        "buckets",
        lambda t: t["Resources"].pop("DataBucketPolicy"),
        "DataBucket: no bucket policy denying requests without TLS",
    ),
    "bucket deleted with the stack": (
        "buckets",
        lambda t: _resource(t, "DataBucket").update({"DeletionPolicy": "Delete"}),
        "DataBucket: DeletionPolicy is not Retain",
    ),
    "table without point-in-time recovery": (
        "tables",
        lambda t: _properties(t, "ChainTable").pop("PointInTimeRecoverySpecification"),
        "ChainTable: point-in-time recovery not enabled",
    ),
    "table unencrypted": (
        "tables",
        lambda t: _properties(t, "ChainTable").pop("SSESpecification"),
        "ChainTable: SSESpecification.SSEEnabled is not true",
    ),
    "table replaced on update": (
        "tables",
        lambda t: _resource(t, "ChainTable").pop("UpdateReplacePolicy"),
        "ChainTable: UpdateReplacePolicy is not Retain",
    ),
    "topic under the AWS-managed key": (
        "topics",
        lambda t: _properties(t, "NotificationsTopic").update({"KmsMasterKeyId": "alias/aws/sns"}),
        "NotificationsTopic: not encrypted with a customer-managed key of this stack",
    ),
    "key CloudWatch may not use": (
        "topics",
        lambda t: _properties(t, "NotificationsKey")["KeyPolicy"]["Statement"].pop(1),
        "NotificationsKey: key policy does not let CloudWatch alarms use it for NotificationsTopic",
    ),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_broken_copy_is_caught_naming_the_resource(case: str) -> None:
    # Given a copy of template.yaml with one rule broken
    check, change, expected = BROKEN[case]
    template = cfn.source()
    change(template)

    # When it is translated and checked
    found = invariants.CHECKS[check](cfn.translate(template))

    # Then that check reports it, naming the resource
    assert any(expected in violation for violation in found), found


def test_every_invariant_has_a_broken_copy() -> None:
    assert {check for check, _, _ in BROKEN.values()} == set(invariants.CHECKS)


def _allowed(template: cfn.Template, role_id: str, service: str) -> dict[str, list[Any]]:
    """Action -> the resources a role may use it on, for one service's actions."""
    allowed: dict[str, list[Any]] = {}
    for statement in invariants.role_statements(template, role_id):
        for action in invariants.as_list(statement.get("Action", [])):
            if str(action).startswith(f"{service}:"):
                allowed.setdefault(action, []).extend(invariants.each(statement.get("Resource", [])))
    return allowed


def test_report_function_only_reads_the_table_and_pages_the_training_logs() -> None:
    # The reporter reads a round for its spec snapshot and, for exports, the chain and its manifests (GetItem,
    # Query), and training logs by listing a job's streams and paging one (DescribeLogStreams, GetLogEvents).
    deployed = cfn.deployed()

    table = [{"Fn::GetAtt": ["ChainTable", "Arn"]}]
    assert _allowed(deployed, "ReportFunctionRole", "dynamodb") == {"dynamodb:GetItem": table, "dynamodb:Query": table}
    assert set(_allowed(deployed, "ReportFunctionRole", "logs")) == {"logs:DescribeLogStreams", "logs:GetLogEvents"}
