"""The template's house rules, checked on the translated (deployed) template.

Each check returns violations as "<logical id>: <what is wrong>", so a failing test names the resource.
"""

import re
from collections.abc import Callable, Iterator
from typing import Any

from gtchain.config import Settings

Template = dict[str, Any]
Check = Callable[[Template], list[str]]

# Principals that invoke Lambda asynchronously (their failures need an on-failure destination).
ASYNC_PRINCIPALS = {"events.amazonaws.com", "s3.amazonaws.com", "sns.amazonaws.com", "scheduler.amazonaws.com"}
# Actions with no resource-level permissions in IAM: Resource "*" is the only way to grant them.
UNSCOPABLE_ACTIONS = {
    "xray:PutTraceSegments": "X-Ray has no resource types",
    "xray:PutTelemetryRecords": "X-Ray has no resource types",
    "cloudwatch:PutMetricData": "CloudWatch metrics have no resource types (scope with cloudwatch:namespace)",
}
LABELING_JOB_SCOPE = "arn:${AWS::Partition}:sagemaker:${AWS::Region}:${AWS::AccountId}:labeling-job/${JobNamePrefix}-*"
LABELING_ROLE_REFERENCES = ({"Fn::GetAtt": ["LabelingRole", "Arn"]}, {"Ref": "LabelingRoleArn"})
NO_VALUE = {"Ref": "AWS::NoValue"}


# ---- template helpers ------------------------------------------------------------------------------


def resources(cfn: Template, *types: str) -> Iterator[tuple[str, dict[str, Any]]]:
    for logical_id, resource in cfn.get("Resources", {}).items():
        if resource.get("Type") in types:
            yield logical_id, resource


def props(resource: dict[str, Any]) -> dict[str, Any]:
    properties: dict[str, Any] = resource.get("Properties", {})
    return properties


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def alternatives(value: Any) -> list[Any]:
    """Every value an Fn::If can take (both branches, recursively), without AWS::NoValue."""
    if isinstance(value, dict) and set(value) == {"Fn::If"}:
        _, when_true, when_false = value["Fn::If"]
        return alternatives(when_true) + alternatives(when_false)
    return [] if value == NO_VALUE else [value]


def each(value: Any) -> list[Any]:
    """The items of a list (or single value) with every Fn::If expanded."""
    return [choice for item in as_list(value) for choice in alternatives(item)]


def refers_to(value: Any, logical_id: str, attribute: str | None = None) -> bool:
    """True for Ref X / GetAtt X.attribute / Fn::Sub naming ${X} or ${X.attribute}."""
    if not isinstance(value, dict):
        return False
    if attribute is None and value.get("Ref") == logical_id:
        return True
    get_att = value.get("Fn::GetAtt")
    if isinstance(get_att, list) and get_att[0] == logical_id and (attribute is None or get_att[1] == attribute):
        return True
    sub = value.get("Fn::Sub")
    text = sub if isinstance(sub, str) else sub[0] if isinstance(sub, list) else ""
    wanted = f"${{{logical_id}}}" if attribute is None else f"${{{logical_id}.{attribute}}}"
    return wanted in text


def sub_text(value: Any) -> str | None:
    """The template string of an Fn::Sub (or a plain string)."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Sub" in value:
        sub = value["Fn::Sub"]
        return sub if isinstance(sub, str) else str(sub[0])
    return None


def identity_policies(cfn: Template) -> Iterator[tuple[str, dict[str, Any]]]:
    """(owner logical id, policy document) for every identity policy the stack creates."""
    for logical_id, role in resources(cfn, "AWS::IAM::Role"):
        for policy in each(props(role).get("Policies", [])):
            yield logical_id, policy["PolicyDocument"]
    for logical_id, policy in resources(cfn, "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::IAM::RolePolicy"):
        yield logical_id, props(policy)["PolicyDocument"]


def allow_statements(cfn: Template) -> Iterator[tuple[str, dict[str, Any]]]:
    for owner, document in identity_policies(cfn):
        for statement in each(document.get("Statement", [])):
            if statement.get("Effect") == "Allow":
                yield owner, statement


def label(owner: str, statement: dict[str, Any]) -> str:
    return f"{owner} (statement {statement['Sid']})" if "Sid" in statement else owner


def string_equals(statement: dict[str, Any], key: str) -> list[Any]:
    return as_list(statement.get("Condition", {}).get("StringEquals", {}).get(key, []))


# ---- Lambda: logs, failure paths -----------------------------------------------------------------


def function_ids(cfn: Template) -> list[str]:
    return [logical_id for logical_id, _ in resources(cfn, "AWS::Lambda::Function")]


def log_groups(cfn: Template) -> list[str]:
    """Every function has an explicit log group, with a retention."""
    groups = dict(resources(cfn, "AWS::Logs::LogGroup"))
    violations = []
    for function_id, function in resources(cfn, "AWS::Lambda::Function"):
        configured = props(function).get("LoggingConfig", {}).get("LogGroup")
        named = [
            group_id
            for group_id, group in groups.items()
            if sub_text(props(group).get("LogGroupName")) == f"/aws/lambda/${{{function_id}}}"
            or refers_to(configured, group_id)
        ]
        if not named:
            violations.append(f"{function_id}: no explicit log group /aws/lambda/<function>")
        violations += [
            f"{function_id}: log group {group_id} has no RetentionInDays"
            for group_id in named
            if "RetentionInDays" not in props(groups[group_id])
        ]
    return violations


def async_functions(cfn: Template) -> list[str]:
    invoked = []
    for _, permission in resources(cfn, "AWS::Lambda::Permission"):
        if props(permission).get("Principal") in ASYNC_PRINCIPALS:
            invoked += [f for f in function_ids(cfn) if refers_to(props(permission).get("FunctionName"), f)]
    return sorted(set(invoked))


def on_failure_destinations(cfn: Template) -> list[str]:
    """Every asynchronously invoked function sends events it failed on (after Lambda's retries) to a queue."""
    queues = [queue_id for queue_id, _ in resources(cfn, "AWS::SQS::Queue")]
    configs = [props(config) for _, config in resources(cfn, "AWS::Lambda::EventInvokeConfig")]
    violations = []
    for function_id in async_functions(cfn):
        mine = [config for config in configs if refers_to(config.get("FunctionName"), function_id)]
        destination = [config.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination") for config in mine]
        if not any(refers_to(d, queue, "Arn") for d in destination for queue in queues):
            violations.append(f"{function_id}: invoked asynchronously but has no on-failure destination queue")
        if not any("MaximumRetryAttempts" in config for config in mine):
            violations.append(f"{function_id}: EventInvokeConfig does not set MaximumRetryAttempts")
    return violations


def _queue_policy_allows(cfn: Template, queue_id: str, rule_id: str) -> bool:
    for _, policy in resources(cfn, "AWS::SQS::QueuePolicy"):
        if not any(refers_to(queue, queue_id) for queue in as_list(props(policy).get("Queues", []))):
            continue
        for statement in each(props(policy)["PolicyDocument"].get("Statement", [])):
            principal = statement.get("Principal", {})
            sources = [
                arn
                for operator in ("ArnEquals", "ArnLike")
                for arn in as_list(statement.get("Condition", {}).get(operator, {}).get("aws:SourceArn", []))
            ]
            if (
                statement.get("Effect") == "Allow"
                and "events.amazonaws.com" in as_list(principal.get("Service", []))
                and "sqs:SendMessage" in as_list(statement.get("Action"))
                and any(refers_to(source, rule_id, "Arn") for source in sources)
            ):
                return True
    return False


def rule_delivery(cfn: Template) -> list[str]:
    """Every EventBridge rule target retries deliveries and parks undeliverable events in a DLQ it may write."""
    queues = [queue_id for queue_id, _ in resources(cfn, "AWS::SQS::Queue")]
    violations = []
    for rule_id, rule in resources(cfn, "AWS::Events::Rule"):
        for target in props(rule).get("Targets", []):
            retry = target.get("RetryPolicy", {})
            if not {"MaximumRetryAttempts", "MaximumEventAgeInSeconds"} <= set(retry):
                violations.append(f"{rule_id}: target {target.get('Id')} has no RetryPolicy")
            dlq = [q for q in queues if refers_to(target.get("DeadLetterConfig", {}).get("Arn"), q, "Arn")]
            if not dlq:
                violations.append(f"{rule_id}: target {target.get('Id')} has no dead-letter queue")
            elif not _queue_policy_allows(cfn, dlq[0], rule_id):
                violations.append(f"{rule_id}: dead-letter queue {dlq[0]} has no queue policy letting this rule send")
    return violations


def queue_alarms(cfn: Template) -> list[str]:
    """Every queue (on-failure destinations, DLQs) is encrypted and has an alarm that notifies the topic."""
    topics = [topic_id for topic_id, _ in resources(cfn, "AWS::SNS::Topic")]
    alarms = [props(alarm) for _, alarm in resources(cfn, "AWS::CloudWatch::Alarm")]
    violations = []
    for queue_id, queue in resources(cfn, "AWS::SQS::Queue"):
        if not (props(queue).get("SqsManagedSseEnabled") is True or props(queue).get("KmsMasterKeyId")):
            violations.append(f"{queue_id}: not encrypted")
        watching = [
            alarm
            for alarm in alarms
            if alarm.get("Namespace") == "AWS/SQS"
            and alarm.get("MetricName") == "ApproximateNumberOfMessagesVisible"
            and any(
                d.get("Name") == "QueueName" and refers_to(d.get("Value"), queue_id, "QueueName")
                for d in alarm.get("Dimensions", [])
            )
            and alarm.get("ComparisonOperator") == "GreaterThanThreshold"
            and alarm.get("Threshold") == 0
        ]
        if not watching:
            violations.append(f"{queue_id}: no alarm on ApproximateNumberOfMessagesVisible > 0")
        elif not any(
            refers_to(action, topic)
            for alarm in watching
            for action in alarm.get("AlarmActions", [])
            for topic in topics
        ):
            violations.append(f"{queue_id}: its alarm does not notify the topic")
    return violations


def function_environment(cfn: Template) -> list[str]:
    """Every function gets each variable gtchain's Settings reads (Lambda itself sets AWS_REGION)."""
    wanted = {field.alias for field in Settings.model_fields.values() if field.alias} - {"AWS_REGION"}
    violations = []
    for function_id, function in resources(cfn, "AWS::Lambda::Function"):
        missing = wanted - set(props(function).get("Environment", {}).get("Variables", {}))
        if missing:
            violations.append(f"{function_id}: environment lacks {', '.join(sorted(missing))}")
    return violations


# ---- IAM -----------------------------------------------------------------------------------------


def wildcard_actions(cfn: Template) -> list[str]:
    """No Action "*" and no whole-service wildcard ("s3:*") in any identity policy; no NotAction."""
    violations = []
    for owner, statement in allow_statements(cfn):
        if "NotAction" in statement:
            violations.append(f"{label(owner, statement)}: allows NotAction")
        for action in as_list(statement.get("Action", [])):
            if action == "*" or re.fullmatch(r"[a-z0-9-]+:\*", str(action)):
                violations.append(f"{label(owner, statement)}: allows Action {action!r}")
    return violations


def wildcard_resources(cfn: Template) -> list[str]:
    """No Resource "*" except for actions AWS cannot scope; managed policies only AWS's own or the stack's."""
    managed_here = [policy_id for policy_id, _ in resources(cfn, "AWS::IAM::ManagedPolicy")]
    violations = []
    for owner, statement in allow_statements(cfn):
        if "NotResource" in statement:
            violations.append(f"{label(owner, statement)}: allows NotResource")
        if "*" in each(statement.get("Resource", [])):
            unscoped = [a for a in as_list(statement.get("Action", [])) if a not in UNSCOPABLE_ACTIONS]
            if unscoped:
                violations.append(f"{label(owner, statement)}: Resource '*' for {', '.join(map(str, unscoped))}")
    for role_id, role in resources(cfn, "AWS::IAM::Role"):
        for arn in each(props(role).get("ManagedPolicyArns", [])):
            aws_managed = re.fullmatch(r"arn:(aws[a-z-]*|\$\{AWS::Partition\}):iam::aws:policy/.+", sub_text(arn) or "")
            if not aws_managed and not any(refers_to(arn, policy_id) for policy_id in managed_here):
                violations.append(f"{role_id}: attaches a managed policy that is neither AWS's nor this stack's: {arn}")
    return violations


def pass_role(cfn: Template) -> list[str]:
    """iam:PassRole only on the labeling role, and only to SageMaker."""
    violations = []
    for owner, statement in allow_statements(cfn):
        if "iam:PassRole" not in as_list(statement.get("Action", [])):
            continue
        targets = each(statement.get("Resource", []))
        if not targets or any(target not in LABELING_ROLE_REFERENCES for target in targets):
            violations.append(f"{label(owner, statement)}: iam:PassRole on something other than the labeling role")
        if string_equals(statement, "iam:PassedToService") != ["sagemaker.amazonaws.com"]:
            violations.append(f"{label(owner, statement)}: iam:PassRole without iam:PassedToService sagemaker")
    return violations


def put_events(cfn: Template) -> list[str]:
    """events:PutEvents only on the default bus, and only with events:source = gtchain."""
    violations = []
    for owner, statement in allow_statements(cfn):
        if "events:PutEvents" not in as_list(statement.get("Action", [])):
            continue
        if string_equals(statement, "events:source") != ["gtchain"]:
            violations.append(
                f"{label(owner, statement)}: events:PutEvents without the condition events:source gtchain"
            )
        if any(not (sub_text(r) or "").endswith(":event-bus/default") for r in each(statement.get("Resource", []))):
            violations.append(f"{label(owner, statement)}: events:PutEvents on a bus other than the default one")
    return violations


def sagemaker_scope(cfn: Template) -> list[str]:
    """Every SageMaker action is scoped to labeling-job/<prefix>-*."""
    violations = []
    for owner, statement in allow_statements(cfn):
        actions = [a for a in as_list(statement.get("Action", [])) if str(a).startswith("sagemaker:")]
        if actions and any(sub_text(r) != LABELING_JOB_SCOPE for r in each(statement.get("Resource", []))):
            violations.append(f"{label(owner, statement)}: {', '.join(actions)} not scoped to labeling-job/<prefix>-*")
    return violations


# Roles that only read DynamoDB, and what their code reads.
TABLE_READERS = {"ReportFunctionRole": "the report function reads one round (GetItem) for its spec snapshot"}
DYNAMODB_READ_ACTIONS = {
    "dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:Scan", "dynamodb:DescribeTable",
    "dynamodb:ConditionCheckItem", "dynamodb:PartiQLSelect",
}  # fmt: skip


def role_statements(cfn: Template, role_id: str) -> Iterator[dict[str, Any]]:
    """Every Allow statement the stack gives a role: inline, in its managed policies, in AWS::IAM::Policy resources."""
    role = props(cfn["Resources"][role_id])
    documents = [policy["PolicyDocument"] for policy in each(role.get("Policies", []))]
    documents += [
        props(policy)["PolicyDocument"]
        for policy_id, policy in resources(cfn, "AWS::IAM::ManagedPolicy")
        if any(refers_to(arn, policy_id) for arn in each(role.get("ManagedPolicyArns", [])))
    ]
    documents += [
        props(policy)["PolicyDocument"]
        for _, policy in resources(cfn, "AWS::IAM::Policy", "AWS::IAM::RolePolicy")
        if any(refers_to(r, role_id) for r in each(props(policy).get("Roles", [props(policy).get("RoleName")])))
    ]
    for document in documents:
        yield from (s for s in each(document.get("Statement", [])) if s.get("Effect") == "Allow")


def table_readers(cfn: Template) -> list[str]:
    """Roles that only read the table get no DynamoDB action besides reads (no wildcards, no writes)."""
    violations = []
    for role_id, why in TABLE_READERS.items():
        actions = {
            str(action)
            for statement in role_statements(cfn, role_id)
            for action in as_list(statement.get("Action", []))
            if str(action).lower().startswith("dynamodb:") or action == "*"
        }
        if others := sorted(actions - DYNAMODB_READ_ACTIONS):
            violations.append(f"{role_id}: only reads the table ({why}) but is allowed {', '.join(others)}")
    return violations


# ---- storage and notifications -------------------------------------------------------------------


def _retained(logical_id: str, resource: dict[str, Any]) -> list[str]:
    return [
        f"{logical_id}: {policy} is not Retain"
        for policy in ("DeletionPolicy", "UpdateReplacePolicy")
        if resource.get(policy) != "Retain"
    ]


def _denies_insecure_transport(cfn: Template, bucket_id: str) -> bool:
    for _, policy in resources(cfn, "AWS::S3::BucketPolicy"):
        if not refers_to(props(policy).get("Bucket"), bucket_id):
            continue
        for statement in each(props(policy)["PolicyDocument"].get("Statement", [])):
            covered = each(statement.get("Resource", []))
            if (
                statement.get("Effect") == "Deny"
                and statement.get("Principal") in ("*", {"AWS": "*"})
                and statement.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") in ("false", False)
                and any(refers_to(r, bucket_id, "Arn") and (sub_text(r) or "").endswith("/*") for r in covered)
                and any(r == {"Fn::GetAtt": [bucket_id, "Arn"]} for r in covered)
            ):
                return True
    return False


def buckets(cfn: Template) -> list[str]:
    violations = []
    for bucket_id, bucket in resources(cfn, "AWS::S3::Bucket"):
        p = props(bucket)
        rules = p.get("BucketEncryption", {}).get("ServerSideEncryptionConfiguration", [])
        if not any(rule.get("ServerSideEncryptionByDefault", {}).get("SSEAlgorithm") for rule in rules):
            violations.append(f"{bucket_id}: no default encryption")
        block = p.get("PublicAccessBlockConfiguration", {})
        flags = ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets")
        if not all(block.get(flag) is True for flag in flags):
            violations.append(f"{bucket_id}: public access not fully blocked")
        if p.get("VersioningConfiguration", {}).get("Status") != "Enabled":
            violations.append(f"{bucket_id}: versioning not enabled")
        if not any(
            "GET" in rule.get("AllowedMethods", [])
            and "*" in rule.get("AllowedOrigins", [])
            and "Access-Control-Allow-Origin" in rule.get("ExposedHeaders", [])
            for rule in p.get("CorsConfiguration", {}).get("CorsRules", [])
        ):
            violations.append(f"{bucket_id}: no CORS rule for Ground Truth (GET from any origin, exposing ACAO)")
        if (
            p.get("NotificationConfiguration", {}).get("EventBridgeConfiguration", {}).get("EventBridgeEnabled")
            is not True
        ):
            violations.append(f"{bucket_id}: EventBridge notifications not enabled")
        if not _denies_insecure_transport(cfn, bucket_id):
            violations.append(f"{bucket_id}: no bucket policy denying requests without TLS")
        violations += _retained(bucket_id, bucket)
    return violations


def tables(cfn: Template) -> list[str]:
    violations = []
    for table_id, table in resources(cfn, "AWS::DynamoDB::Table"):
        p = props(table)
        if p.get("PointInTimeRecoverySpecification", {}).get("PointInTimeRecoveryEnabled") is not True:
            violations.append(f"{table_id}: point-in-time recovery not enabled")
        if p.get("SSESpecification", {}).get("SSEEnabled") is not True:
            violations.append(f"{table_id}: SSESpecification.SSEEnabled is not true")
        violations += _retained(table_id, table)
    return violations


def topics(cfn: Template) -> list[str]:
    """Topics are encrypted with a key of this stack whose policy lets CloudWatch alarms publish."""
    keys = dict(resources(cfn, "AWS::KMS::Key"))
    violations = []
    for topic_id, topic in resources(cfn, "AWS::SNS::Topic"):
        key_ids = [key_id for key_id in keys if refers_to(props(topic).get("KmsMasterKeyId"), key_id)]
        if not key_ids:
            violations.append(f"{topic_id}: not encrypted with a customer-managed key of this stack")
            continue
        statements = each(props(keys[key_ids[0]])["KeyPolicy"].get("Statement", []))
        if not any(
            s.get("Effect") == "Allow"
            and "cloudwatch.amazonaws.com" in as_list(s.get("Principal", {}).get("Service", []))
            and {"kms:Decrypt", "kms:GenerateDataKey*"} <= set(as_list(s.get("Action", [])))
            for s in statements
        ):
            violations.append(f"{key_ids[0]}: key policy does not let CloudWatch alarms use it for {topic_id}")
    return violations


CHECKS: dict[str, Check] = {
    "log_groups": log_groups,
    "on_failure_destinations": on_failure_destinations,
    "rule_delivery": rule_delivery,
    "queue_alarms": queue_alarms,
    "function_environment": function_environment,
    "wildcard_actions": wildcard_actions,
    "wildcard_resources": wildcard_resources,
    "pass_role": pass_role,
    "put_events": put_events,
    "sagemaker_scope": sagemaker_scope,
    "table_readers": table_readers,
    "buckets": buckets,
    "tables": tables,
    "topics": topics,
}


def violations(cfn: Template) -> list[str]:
    return [violation for check in CHECKS.values() for violation in check(cfn)]
