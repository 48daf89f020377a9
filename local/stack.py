"""Provision template.yaml's resources in moto, so the local stack cannot drift from the deployed one.

Buckets (versioning, EventBridge notifications, CORS, encryption), tables (keys, indexes, TTL, point-in-time
recovery), topics, queues, IAM roles, and each function's EventBridge rules: a pattern rule gets an SQS queue as
its target (the emulator drains it and invokes the function); a schedule rule is fired on the emulated clock.
What is not provisioned (alarms, KMS keys, log groups, policies, ...) is listed by name.
"""

import json
from dataclasses import dataclass, field
from typing import Any

import boto3

from local.template import RulePlan, StackPlan, Template

_TABLE_KEYS = (
    "KeySchema", "AttributeDefinitions", "BillingMode", "GlobalSecondaryIndexes", "LocalSecondaryIndexes",
    "ProvisionedThroughput", "StreamSpecification",
)  # fmt: skip
_QUEUE_ATTRIBUTES = (
    "DelaySeconds", "MaximumMessageSize", "MessageRetentionPeriod", "ReceiveMessageWaitTimeSeconds",
    "VisibilityTimeout", "FifoQueue", "ContentBasedDeduplication", "KmsMasterKeyId", "SqsManagedSseEnabled",
)  # fmt: skip

_CORS_NAMES = {"ExposedHeaders": "ExposeHeaders", "Id": "ID", "MaxAge": "MaxAgeSeconds"}


@dataclass(frozen=True)
class Route:
    rule: RulePlan
    queue_url: str  # the rule's target queue, drained by the emulator (pattern rules only)


@dataclass
class Stack:
    template: Template
    plan: StackPlan
    routes: list[Route] = field(default_factory=list)
    schedules: list[RulePlan] = field(default_factory=list)

    def name(self, logical_id: str) -> str:
        return self.template.physical(logical_id).ref

    def output(self, name: str) -> Any:
        return self.plan.outputs[name]

    def not_emulated(self) -> list[str]:
        return [f"{logical_id} ({kind})" for logical_id, kind in self.plan.not_emulated]


def _create_bucket(s3: Any, name: str, properties: dict[str, Any], region: str) -> None:
    if region == "us-east-1":
        s3.create_bucket(Bucket=name)
    else:
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": region})
    if status := properties.get("VersioningConfiguration", {}).get("Status"):
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": status})
    eventbridge = properties.get("NotificationConfiguration", {}).get("EventBridgeConfiguration", {})
    if eventbridge.get("EventBridgeEnabled"):
        s3.put_bucket_notification_configuration(
            Bucket=name, NotificationConfiguration={"EventBridgeConfiguration": {}}
        )
    if cors := properties.get("CorsConfiguration", {}).get("CorsRules"):
        # CloudFormation's CorsRule names three members differently from the S3 API's.
        renamed = [{_CORS_NAMES.get(key, key): value for key, value in rule.items()} for rule in cors]
        s3.put_bucket_cors(Bucket=name, CORSConfiguration={"CORSRules": renamed})
    if encryption := properties.get("BucketEncryption", {}).get("ServerSideEncryptionConfiguration"):
        rules = [
            {("ApplyServerSideEncryptionByDefault" if key == "ServerSideEncryptionByDefault" else key): value
             for key, value in rule.items()}
            for rule in encryption
        ]  # fmt: skip
        s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": rules})


def provision(template: Template, session: boto3.Session) -> Stack:
    plan = template.plan()
    stack = Stack(template, plan)
    region = template.region

    s3 = session.client("s3", region_name=region)
    for logical_id, properties in plan.buckets.items():
        _create_bucket(s3, stack.name(logical_id), properties, region)

    dynamodb = session.client("dynamodb", region_name=region)
    for logical_id, properties in plan.tables.items():
        kwargs = {key: properties[key] for key in _TABLE_KEYS if key in properties}
        table_name = stack.name(logical_id)
        dynamodb.create_table(TableName=table_name, **kwargs)
        if ttl := properties.get("TimeToLiveSpecification"):
            dynamodb.update_time_to_live(TableName=table_name, TimeToLiveSpecification=ttl)
        if recovery := properties.get("PointInTimeRecoverySpecification"):
            dynamodb.update_continuous_backups(TableName=table_name, PointInTimeRecoverySpecification=recovery)

    sns = session.client("sns", region_name=region)
    for logical_id, properties in plan.topics.items():
        name = template.physical(logical_id).attributes["TopicName"]
        display = {"DisplayName": str(properties["DisplayName"])} if "DisplayName" in properties else {}
        sns.create_topic(Name=name, Attributes=display)

    sqs = session.client("sqs", region_name=region)
    for logical_id, properties in plan.queues.items():
        attributes: dict[Any, str] = {
            key: _attribute(properties[key]) for key in _QUEUE_ATTRIBUTES if key in properties
        }
        if "RedrivePolicy" in properties:
            attributes["RedrivePolicy"] = json.dumps(properties["RedrivePolicy"])
        sqs.create_queue(QueueName=template.physical(logical_id).attributes["QueueName"], Attributes=attributes)

    iam = session.client("iam", region_name=region)
    for logical_id, properties in plan.roles.items():
        name = stack.name(logical_id)
        iam.create_role(
            RoleName=name,
            Path=properties.get("Path", "/"),
            AssumeRolePolicyDocument=json.dumps(properties["AssumeRolePolicyDocument"]),
            Description=properties.get("Description", ""),
        )
        for policy in properties.get("Policies", []):
            iam.put_role_policy(
                RoleName=name, PolicyName=policy["PolicyName"], PolicyDocument=json.dumps(policy["PolicyDocument"])
            )

    events = session.client("events", region_name=region)
    for rule in template.iter_rules(plan):
        if rule.bus != "default":
            events.create_event_bus(Name=rule.bus)
        if rule.schedule is not None:
            events.put_rule(Name=rule.name, ScheduleExpression=rule.schedule, EventBusName=rule.bus)
            stack.schedules.append(rule)
            continue
        events.put_rule(Name=rule.name, EventPattern=json.dumps(rule.pattern), EventBusName=rule.bus)
        queue_url = sqs.create_queue(QueueName=f"local-target-{rule.logical_id}"[:80])["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.put_targets(Rule=rule.name, EventBusName=rule.bus, Targets=[{"Id": rule.function, "Arn": queue_arn}])
        stack.routes.append(Route(rule, queue_url))
    return stack


def _attribute(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
