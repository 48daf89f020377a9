"""template.yaml read as CloudFormation would read it, for the local stack."""

import importlib.util
from pathlib import Path

import pytest

from gtchain.config import Settings
from local.template import Template, TemplateError

ROOT = Path(__file__).resolve().parents[3]
ACCOUNT, REGION = "123456789012", "us-east-1"


def real(parameters: dict[str, str] | None = None) -> Template:
    return Template(ROOT / "template.yaml", stack_name="s", account=ACCOUNT, region=REGION, parameters=parameters)


def inline(tmp_path: Path, body: str, parameters: dict[str, str] | None = None) -> Template:
    path = tmp_path / "template.yaml"
    path.write_text(body)
    return Template(path, stack_name="demo", account=ACCOUNT, region=REGION, parameters=parameters)


def test_every_function_gets_its_handler_layers_and_the_settings_it_reads() -> None:
    plan = real().plan()
    assert set(plan.functions) >= {"StartFunction", "AdvanceFunction", "ReconcileFunction"}
    for function in plan.functions.values():
        assert importlib.util.find_spec(function.module) is not None, function.module
        assert function.handler == "lambda_handler"
        assert function.layers == ["layers/gtchain"]
        settings = Settings.model_validate(function.environment | {"AWS_REGION": REGION})
        assert settings.data_bucket == real().physical("DataBucket").ref
        assert function.on_failure is not None and function.on_failure.startswith(f"arn:aws:sqs:{REGION}:{ACCOUNT}:")


def test_rule_patterns_and_the_schedule_are_resolved() -> None:
    template = real()
    plan = template.plan()
    rules = {rule.logical_id: rule for rule in template.iter_rules(plan)}
    spec_rule = rules["StartFunctionChainSpecCreated"]
    assert spec_rule.pattern is not None
    assert spec_rule.pattern["detail"]["bucket"]["name"] == [template.physical("DataBucket").ref]
    advance = rules["AdvanceFunctionLabelingJobStateChanged"].pattern
    assert advance is not None
    assert advance["resources"] == [{"prefix": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:labeling-job/gtchain-"}]
    assert rules["ReconcileFunctionScheduled"].schedule == "rate(10 minutes)"
    assert rules["ReconcileFunctionScheduled"].input is None
    sweep = rules["ReconcileFunctionSweep"]
    assert (sweep.schedule, sweep.input) == ("rate(1 hour)", '{"reconcile": "sweep"}')


def test_parameters_and_conditions_change_what_is_provisioned() -> None:
    # Given an existing labeling role and another schedule
    role = f"arn:aws:iam::{ACCOUNT}:role/existing"
    plan = real({"LabelingRoleArn": role, "ReconcileSchedule": "rate(1 hour)", "JobNamePrefix": "birds"}).plan()
    # Then the template's own role is not created and every function is told to use the given one
    assert "LabelingRole" not in plan.roles
    assert ("LabelingRole", "AWS::IAM::Role") in plan.skipped
    assert {f.environment["LABELING_ROLE_ARN"] for f in plan.functions.values()} == {role}
    assert {f.environment["JOB_NAME_PREFIX"] for f in plan.functions.values()} == {"birds"}
    assert plan.functions["ReconcileFunction"].rules[0].schedule == "rate(1 hour)"


def test_what_is_not_emulated_is_listed_by_name() -> None:
    listed = dict(real().plan().not_emulated)
    assert listed["NotificationsKey"] == "AWS::KMS::Key"
    assert listed["StartFailureAlarm"] == "AWS::CloudWatch::Alarm"
    assert listed["StartLogGroup"] == "AWS::Logs::LogGroup"
    assert "DataBucket" not in listed and "StartFunction" not in listed


SAM_TEMPLATE = """
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Runtime: python3.13
    Handler: app.handler
    MemorySize: 256
    Layers: [!Ref Lib]
    Environment: {Variables: {SHARED: one, OVERRIDDEN: global}}
Resources:
  Lib: {Type: AWS::Serverless::LayerVersion, Properties: {ContentUri: lib/}}
  Failures: {Type: AWS::SQS::Queue}
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: fn/
      Timeout: 30
      Environment: {Variables: {OVERRIDDEN: own, QUEUE: !Ref Failures}}
      EventInvokeConfig:
        MaximumRetryAttempts: 1
        DestinationConfig: {OnFailure: {Type: SQS, Destination: !GetAtt Failures.Arn}}
      Events:
        Uploaded: {Type: EventBridgeRule, Properties: {Pattern: {source: [aws.s3]}}}
        Hourly: {Type: Schedule, Properties: {Schedule: rate(1 hour)}}
"""


def test_sam_resources_are_what_aws_sam_translator_makes_of_them(tmp_path: Path) -> None:
    # Given a SAM function with Globals, a layer, an on-failure destination, a pattern rule and a schedule
    (tmp_path / "fn").mkdir()
    (tmp_path / "fn" / "app.py").write_text("def handler(event, context): ...\n")
    template = inline(tmp_path, SAM_TEMPLATE)

    # When it is planned
    plan = template.plan()

    # Then the function is SAM's translation: Globals merged (maps merge, the function's own values win) ...
    function = plan.functions["Fn"]
    assert (function.module, function.handler, function.layers) == ("fn.app", "handler", ["lib"])
    assert (function.memory, function.timeout) == (256, 30)
    queue = template.physical("Failures")
    assert function.environment == {"SHARED": "one", "OVERRIDDEN": "own", "QUEUE": queue.ref}
    # ... its EventInvokeConfig and event rules, named as SAM names them
    assert (function.maximum_retry_attempts, function.on_failure) == (1, queue.attributes["Arn"])
    rules = {rule.logical_id: rule for rule in function.rules}
    assert {rule_id: (rule.pattern, rule.schedule) for rule_id, rule in rules.items()} == {
        "FnUploaded": ({"source": ["aws.s3"]}, None),
        "FnHourly": (None, "rate(1 hour)"),
    }
    assert rules["FnUploaded"].arn == f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{template.physical('FnUploaded').ref}"
    # ... and what SAM writes besides that the local stack does not create is listed
    assert {"FnRole", "FnUploadedPermission"} <= {logical_id for logical_id, _ in plan.not_emulated}


def test_intrinsic_functions_resolve(tmp_path: Path) -> None:
    template = inline(
        tmp_path,
        """
Parameters:
  Stage: {Type: String, Default: dev}
  Names: {Type: CommaDelimitedList, Default: "a,b,c"}
Mappings:
  Sizes: {dev: {Memory: "256"}}
Conditions:
  IsDev: !Equals [!Ref Stage, dev]
  IsProd: !Not [!Condition IsDev]
Resources:
  Bucket: {Type: AWS::S3::Bucket, Properties: {BucketName: !Sub "data-${Stage}-${AWS::Region}"}}
  Queue:
    Type: AWS::SQS::Queue
    Properties:
      Tags:
        - {Key: arn, Value: !Sub "${Bucket.Arn}/x/${!Literal}"}
        - {Key: joined, Value: !Join ["+", !Split [",", !Ref Names]]}
        - {Key: second, Value: !Select [1, !Split [",", !Ref Names]]}
        - {Key: memory, Value: !FindInMap [Sizes, !Ref Stage, Memory]}
        - {Key: vars, Value: !Sub ["${X}-${Bucket}", {X: !If [IsProd, prod, not-prod]}]}
        - !If [IsProd, {Key: gone, Value: x}, !Ref AWS::NoValue]
""",
    )
    plan = template.plan()
    assert template.physical("Bucket").ref == "data-dev-us-east-1"
    assert plan.queues["Queue"]["Tags"] == [
        {"Key": "arn", "Value": "arn:aws:s3:::data-dev-us-east-1/x/${Literal}"},
        {"Key": "joined", "Value": "a+b+c"},
        {"Key": "second", "Value": "b"},
        {"Key": "memory", "Value": "256"},
        {"Key": "vars", "Value": "not-prod-data-dev-us-east-1"},
    ]
    assert template.physical("Queue").attributes["Arn"].startswith(f"arn:aws:sqs:{REGION}:{ACCOUNT}:demo-Queue-")


def test_mistakes_are_clear_errors(tmp_path: Path) -> None:
    body = "Resources:\n  Bucket: {Type: AWS::S3::Bucket, Properties: {Tags: [{Key: a, Value: !GetAtt Bucket.Nope}]}}\n"
    with pytest.raises(TemplateError, match="no attribute Nope"):
        inline(tmp_path, body).plan()
    with pytest.raises(TemplateError, match="unknown parameters: Missing"):
        inline(tmp_path, body, {"Missing": "x"})
    with pytest.raises(TemplateError, match="transform AWS::LanguageExtensions is not emulated"):
        inline(tmp_path, "Transform: [AWS::LanguageExtensions, AWS::Serverless-2016-10-31]\n" + body)
    unknown_event = SAM_TEMPLATE.replace("Type: Schedule", "Type: Telepathy")
    with pytest.raises(TemplateError, match=r"SAM cannot translate the template: .*Telepathy"):
        inline(tmp_path, unknown_event)
