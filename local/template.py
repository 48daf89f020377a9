"""template.yaml, read the way CloudFormation (with the SAM transform) would read it, for the local stack.

`Template` loads the YAML with CloudFormation's short tags and, when the template declares the SAM transform,
translates it to plain CloudFormation with aws-sam-translator, the library SAM itself runs (Globals, function
roles, event rules, EventInvokeConfig: all as SAM writes them). It then fills in parameters (defaults or
overrides), evaluates conditions, gives every resource a physical name and ARN the way CloudFormation names them
(deterministically here), and resolves `Ref`, `Fn::GetAtt`, `Fn::Sub`, `Fn::If`, `Fn::Join`, `Fn::Split`,
`Fn::Select`, `Fn::Equals`/`Not`/`And`/`Or` and `Fn::FindInMap`. `plan()` turns the resolved template into what
the local stack provisions.
"""

import copy
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import boto3
import yaml
from samtranslator.model.exceptions import InvalidDocumentException
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator
from samtranslator.utils.py27hash_fix import to_py27_compatible_template, undo_mark_unicode_str_in_template

_NO_VALUE = object()
_SHORT_TAGS = (
    "Ref", "GetAtt", "Sub", "If", "Equals", "Not", "And", "Or", "Join", "Split", "Select", "FindInMap",
    "GetAZs", "Base64", "Condition", "ImportValue", "Cidr",
)  # fmt: skip


class TemplateError(ValueError):
    pass


class _Loader(yaml.SafeLoader):  # type: ignore[misc]
    """SafeLoader that turns `!Ref X` into {"Ref": "X"}, `!GetAtt A.B` into {"Fn::GetAtt": ["A", "B"]}, etc."""


def _short_tag(tag: str) -> Any:
    key = tag if tag in ("Ref", "Condition") else f"Fn::{tag}"

    def construct(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
        if isinstance(node, yaml.ScalarNode):
            value: Any = loader.construct_scalar(node)
            if tag == "GetAtt":
                value = value.split(".", 1)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)
        return {key: value}

    return construct


for _tag in _SHORT_TAGS:
    _Loader.add_constructor(f"!{_tag}", _short_tag(_tag))


def load_template(path: Path) -> dict[str, Any]:
    document = yaml.load(path.read_text(), Loader=_Loader)  # noqa: S506 (a SafeLoader subclass)
    if not isinstance(document, dict) or "Resources" not in document:
        raise TemplateError(f"{path} is not a CloudFormation template")
    return document


SAM_TRANSFORM = "AWS::Serverless-2016-10-31"
# `sam package` uploads each function's and layer's code directory and names the S3 object in the template; here the
# directory goes into the key, under this bucket, so the translated template still says where the code is.
LOCAL_CODE_BUCKET = "local-code"
_CODE_PROPERTIES = {"AWS::Serverless::Function": "CodeUri", "AWS::Serverless::LayerVersion": "ContentUri"}


def transforms(document: dict[str, Any]) -> list[str]:
    declared = document.get("Transform", [])
    return [declared] if isinstance(declared, str) else list(declared)


def sam_translate(
    document: dict[str, Any], parameters: dict[str, Any] | None = None, region: str = "us-east-1"
) -> dict[str, Any]:
    """The template as CloudFormation deploys it after the SAM transform, translated offline by aws-sam-translator:
    local code directories become s3://local-code/<directory> first, as `sam package` would upload them."""
    packaged = copy.deepcopy(document)
    holders = [(packaged.get("Globals", {}).get("Function", {}), "CodeUri")]
    holders += [
        (resource.setdefault("Properties", {}), _CODE_PROPERTIES[resource["Type"]])
        for resource in packaged.get("Resources", {}).values()
        if resource.get("Type") in _CODE_PROPERTIES
    ]
    for properties, key in holders:
        uri = properties.get(key)
        if isinstance(uri, str) and not uri.startswith("s3://"):
            properties[key] = f"s3://{LOCAL_CODE_BUCKET}/{uri.rstrip('/')}"
    values = dict(parameters or {})
    to_py27_compatible_template(packaged, values)
    # The template names AWS-managed policies by ARN only, so SAM never needs the account's policy list.
    translator = Translator(None, Parser(), boto_session=boto3.session.Session(region_name=region))
    try:
        translated = translator.translate(packaged, parameter_values=values, get_managed_policy_map=dict)
    except InvalidDocumentException as exc:
        raise TemplateError("SAM cannot translate the template: " + "; ".join(c.message for c in exc.causes)) from exc
    finally:
        translator.metrics.publish()  # to nobody (SAM's dummy publisher), so SAM does not warn of unpublished metrics
    result: dict[str, Any] = undo_mark_unicode_str_in_template(translated)
    return result


def _digest(*parts: str, length: int = 12) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:length]


@dataclass(frozen=True)
class Physical:
    """What Ref and Fn::GetAtt give for a resource."""

    ref: str
    attributes: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RulePlan:
    logical_id: str
    name: str
    arn: str
    function: str  # the target function's logical id
    bus: str = "default"
    pattern: dict[str, Any] | None = None
    schedule: str | None = None
    input: str | None = None  # a schedule target's constant Input: EventBridge sends it in place of the event


@dataclass(frozen=True)
class FunctionPlan:
    logical_id: str
    name: str
    arn: str
    module: str  # e.g. functions.start.app
    handler: str  # attribute of the module, e.g. lambda_handler
    environment: dict[str, str]
    layers: list[str]  # each layer's ContentUri
    timeout: int
    memory: int
    maximum_retry_attempts: int
    on_failure: str | None  # ARN of the on-failure destination (an SQS queue here)
    rules: list[RulePlan]


@dataclass
class StackPlan:
    buckets: dict[str, dict[str, Any]] = field(default_factory=dict)  # logical id -> resolved properties
    tables: dict[str, dict[str, Any]] = field(default_factory=dict)
    topics: dict[str, dict[str, Any]] = field(default_factory=dict)
    queues: dict[str, dict[str, Any]] = field(default_factory=dict)
    roles: dict[str, dict[str, Any]] = field(default_factory=dict)
    functions: dict[str, FunctionPlan] = field(default_factory=dict)
    not_emulated: list[tuple[str, str]] = field(default_factory=list)  # (logical id, type)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # resources whose Condition is false
    outputs: dict[str, Any] = field(default_factory=dict)


EMULATED_TYPES = frozenset(
    {
        "AWS::S3::Bucket",
        "AWS::DynamoDB::Table",
        "AWS::SNS::Topic",
        "AWS::SQS::Queue",
        "AWS::IAM::Role",
        "AWS::Lambda::Function",
        "AWS::Lambda::LayerVersion",  # its directory goes on the function's import path
        "AWS::Lambda::EventInvokeConfig",  # the function's retries and on-failure destination
        "AWS::Events::Rule",  # a pattern rule routes to its function, a schedule fires on the emulated clock
    }
)
_NAME_PROPERTIES = {
    "AWS::S3::Bucket": "BucketName",
    "AWS::DynamoDB::Table": "TableName",
    "AWS::SNS::Topic": "TopicName",
    "AWS::SQS::Queue": "QueueName",
    "AWS::IAM::Role": "RoleName",
    "AWS::IAM::ManagedPolicy": "ManagedPolicyName",
    "AWS::Lambda::Function": "FunctionName",
    "AWS::Lambda::LayerVersion": "LayerName",
    "AWS::Logs::LogGroup": "LogGroupName",
    "AWS::CloudWatch::Alarm": "AlarmName",
    "AWS::Events::Rule": "Name",
}


class Template:
    def __init__(
        self,
        path: Path,
        *,
        stack_name: str,
        account: str,
        region: str,
        parameters: dict[str, str] | None = None,
    ) -> None:
        self.path = path
        self.root = path.parent
        self.source = load_template(path)  # as written
        self.stack_name = stack_name
        self.account = account
        self.region = region
        self.parameters = self._parameters(parameters or {})
        self.document = self._transformed(self.source)  # as CloudFormation deploys it
        self.resources: dict[str, dict[str, Any]] = self.document["Resources"]
        self.conditions: dict[str, bool] = {}
        for name, expression in self.document.get("Conditions", {}).items():
            self.conditions[name] = bool(self.resolve(expression))
        self._physical: dict[str, Physical] = {}
        self._naming: set[str] = set()

    def _transformed(self, source: dict[str, Any]) -> dict[str, Any]:
        declared = transforms(source)
        others = [name for name in declared if name != SAM_TRANSFORM]
        if others:
            raise TemplateError(f"transform {', '.join(others)} is not emulated: the local stack runs SAM's only")
        return sam_translate(source, self.parameters, self.region) if declared else source

    # ---- parameters, pseudo parameters, conditions -------------------------------------------------

    def _parameters(self, overrides: dict[str, str]) -> dict[str, Any]:
        declared: dict[str, Any] = self.source.get("Parameters", {})
        unknown = set(overrides) - set(declared)
        if unknown:
            raise TemplateError(f"unknown parameters: {', '.join(sorted(unknown))}")
        values: dict[str, Any] = {}
        for name, spec in declared.items():
            if name in overrides:
                values[name] = overrides[name]
            elif "Default" in spec:
                values[name] = spec["Default"]
            else:
                raise TemplateError(f"parameter {name} has no default: pass a value")
            if spec.get("Type") == "Number":
                values[name] = str(values[name])
        return values

    def _pseudo(self, name: str) -> Any:
        pseudo = {
            "AWS::Region": self.region,
            "AWS::AccountId": self.account,
            "AWS::StackName": self.stack_name,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackId": f"arn:aws:cloudformation:{self.region}:{self.account}:stack/{self.stack_name}/"
            + _digest(self.stack_name, length=36),
            "AWS::NoValue": _NO_VALUE,
        }
        if name not in pseudo:
            raise TemplateError(f"unknown pseudo parameter {name}")
        return pseudo[name]

    def active(self, logical_id: str) -> bool:
        condition = self.resources[logical_id].get("Condition")
        return condition is None or self.conditions[condition]

    # ---- physical names ----------------------------------------------------------------------------

    def _generated_name(self, logical_id: str, resource_type: str) -> str:
        suffix = _digest(self.stack_name, logical_id).upper()
        if resource_type == "AWS::S3::Bucket":
            return f"{self.stack_name}-{logical_id}-{suffix}".lower()[:63]
        if resource_type == "AWS::Lambda::Function":
            return f"{self.stack_name}-{logical_id}-{suffix}"[:64]
        return f"{self.stack_name}-{logical_id}-{suffix}"

    def physical(self, logical_id: str) -> Physical:
        if logical_id in self._physical:
            return self._physical[logical_id]
        if logical_id in self._naming:
            raise TemplateError(f"circular reference through {logical_id}")
        self._naming.add(logical_id)
        try:
            physical = self._name(logical_id)
        finally:
            self._naming.discard(logical_id)
        self._physical[logical_id] = physical
        return physical

    def _name(self, logical_id: str) -> Physical:
        region, account = self.region, self.account
        if logical_id not in self.resources:
            raise TemplateError(f"unknown resource {logical_id}")
        resource_type = self.resources[logical_id]["Type"]
        properties = self.resources[logical_id].get("Properties", {})
        name_property = _NAME_PROPERTIES.get(resource_type)
        name = (
            str(self.resolve(properties[name_property]))
            if name_property and name_property in properties
            else self._generated_name(logical_id, resource_type)
        )
        match resource_type:
            case "AWS::S3::Bucket":
                return Physical(name, {"Arn": f"arn:aws:s3:::{name}", "DomainName": f"{name}.s3.amazonaws.com"})
            case "AWS::DynamoDB::Table":
                return Physical(name, {"Arn": f"arn:aws:dynamodb:{region}:{account}:table/{name}"})
            case "AWS::SNS::Topic":
                arn = f"arn:aws:sns:{region}:{account}:{name}"
                return Physical(arn, {"TopicArn": arn, "TopicName": name})
            case "AWS::SQS::Queue":
                url = f"https://sqs.{region}.amazonaws.com/{account}/{name}"
                return Physical(url, {"Arn": f"arn:aws:sqs:{region}:{account}:{name}", "QueueName": name,
                                      "QueueUrl": url})  # fmt: skip
            case "AWS::IAM::Role":
                return Physical(name, {"Arn": f"arn:aws:iam::{account}:role/{name}", "RoleId": f"AROA{_digest(name)}"})
            case "AWS::IAM::ManagedPolicy":
                return Physical(f"arn:aws:iam::{account}:policy/{name}")
            case "AWS::KMS::Key":
                key_id = str(_uuid_from(self.stack_name, logical_id))
                return Physical(key_id, {"Arn": f"arn:aws:kms:{region}:{account}:key/{key_id}", "KeyId": key_id})
            case "AWS::Lambda::Function":
                return Physical(name, {"Arn": f"arn:aws:lambda:{region}:{account}:function:{name}"})
            case "AWS::Lambda::LayerVersion":
                return Physical(f"arn:aws:lambda:{region}:{account}:layer:{name}:1")
            case "AWS::Logs::LogGroup":
                return Physical(name, {"Arn": f"arn:aws:logs:{region}:{account}:log-group:{name}:*"})
            case "AWS::Events::Rule":
                return Physical(name, {"Arn": f"arn:aws:events:{region}:{account}:rule/{name}"})
            case "AWS::CloudWatch::Alarm":
                return Physical(name, {"Arn": f"arn:aws:cloudwatch:{region}:{account}:alarm:{name}"})
            case _:
                return Physical(name)

    # ---- intrinsic functions -----------------------------------------------------------------------

    def resolve(self, value: Any) -> Any:
        """Resolve every intrinsic function in value; AWS::NoValue entries disappear."""
        if isinstance(value, list):
            items = [self.resolve(v) for v in value]
            return [v for v in items if v is not _NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (key, argument), = value.items()  # fmt: skip
            if key == "Ref" or key.startswith("Fn::") or key == "Condition":
                return self._intrinsic(key, argument)
        resolved = {k: self.resolve(v) for k, v in value.items()}
        return {k: v for k, v in resolved.items() if v is not _NO_VALUE}

    def _intrinsic(self, key: str, argument: Any) -> Any:
        match key:
            case "Ref":
                return self._ref(argument)
            case "Condition":
                return self.conditions[argument]
            case "Fn::GetAtt":
                logical_id, attribute = argument if isinstance(argument, list) else argument.split(".", 1)
                return self._get_att(logical_id, attribute)
            case "Fn::Sub":
                return self._sub(argument)
            case "Fn::If":
                name, when_true, when_false = argument
                return self.resolve(when_true if self.conditions[name] else when_false)
            case "Fn::Equals":
                left, right = (self.resolve(a) for a in argument)
                return str(left) == str(right)
            case "Fn::Not":
                return not self.resolve(argument[0])
            case "Fn::And":
                return all(self.resolve(a) for a in argument)
            case "Fn::Or":
                return any(self.resolve(a) for a in argument)
            case "Fn::Join":
                delimiter, items = argument
                return str(delimiter).join(str(i) for i in self.resolve(items))
            case "Fn::Split":
                delimiter, source = argument
                return str(self.resolve(source)).split(delimiter)
            case "Fn::Select":
                index, items = argument
                return self.resolve(items)[int(self.resolve(index))]
            case "Fn::FindInMap":
                name, first, second = (self.resolve(a) for a in argument)
                return self.document["Mappings"][name][first][second]
            case "Fn::GetAZs":
                return [f"{self.region}{zone}" for zone in "abc"]
            case _:
                raise TemplateError(f"{key} is not supported by the local stack")

    def _ref(self, name: str) -> Any:
        if name.startswith("AWS::"):
            return self._pseudo(name)
        if name in self.parameters:
            return self.parameters[name]
        return self.physical(name).ref

    def _get_att(self, logical_id: str, attribute: str) -> str:
        physical = self.physical(logical_id)
        if attribute not in physical.attributes:
            raise TemplateError(f"{logical_id} has no attribute {attribute} in the local stack")
        return physical.attributes[attribute]

    def _sub(self, argument: Any) -> str:
        text, variables = (argument, {}) if isinstance(argument, str) else (argument[0], argument[1])
        values = {name: self.resolve(v) for name, v in variables.items()}
        out: list[str] = []
        position = 0
        while (start := text.find("${", position)) >= 0:
            end = text.index("}", start)
            out.append(text[position:start])
            expression = text[start + 2 : end]
            if expression.startswith("!"):
                out.append("${" + expression[1:] + "}")
            elif expression in values:
                out.append(str(values[expression]))
            elif "." in expression and not expression.startswith("AWS::"):
                out.append(self._get_att(*expression.split(".", 1)))
            else:
                out.append(str(self._ref(expression)))
            position = end + 1
        out.append(text[position:])
        return "".join(out)

    # ---- the plan ----------------------------------------------------------------------------------

    def _code_directory(self, logical_id: str, code: Any) -> str:
        """The local directory behind a function's Code or a layer's Content (see LOCAL_CODE_BUCKET)."""
        if not isinstance(code, dict) or code.get("S3Bucket") != LOCAL_CODE_BUCKET or "S3Key" not in code:
            raise TemplateError(f"{logical_id}: its code is not a local directory (CodeUri/ContentUri)")
        return str(code["S3Key"])

    def _function_of(self, value: Any) -> str | None:
        """The function a Ref X / Fn::GetAtt X.Arn names, if X is a function of this template."""
        if not isinstance(value, dict):
            return None
        get_att = value.get("Fn::GetAtt")
        logical_id = value.get("Ref") or (get_att[0] if isinstance(get_att, list) and get_att[1:] == ["Arn"] else None)
        if logical_id in self.resources and self.resources[logical_id]["Type"] == "AWS::Lambda::Function":
            return str(logical_id)
        return None

    def _rule_plan(self, logical_id: str) -> RulePlan | None:
        """What the local stack does with an EventBridge rule that targets one of the template's functions."""
        properties = self.resources[logical_id].get("Properties", {})
        targets = [
            (f, target) for target in properties.get("Targets", []) if (f := self._function_of(target.get("Arn")))
        ]
        if not targets:
            return None
        if len(targets) > 1:
            raise TemplateError(f"{logical_id}: a rule with several function targets is not emulated")
        [(function, target)] = targets
        physical = self.physical(logical_id)
        bus = str(self.resolve(properties.get("EventBusName", "default")))
        rule = RulePlan(logical_id, physical.ref, physical.attributes["Arn"], function, bus)
        if "ScheduleExpression" in properties:
            given = target.get("Input")
            return replace(rule, schedule=str(self.resolve(properties["ScheduleExpression"])),
                           input=None if given is None else str(self.resolve(given)))  # fmt: skip
        return replace(rule, pattern=self.resolve(properties["EventPattern"]))

    def _function_plan(self, logical_id: str, invoke: dict[str, Any], rules: list[RulePlan]) -> FunctionPlan:
        properties = self.resolve(self.resources[logical_id].get("Properties", {}))
        code_uri = self._code_directory(logical_id, properties.get("Code"))
        module_file, _, handler = str(properties["Handler"]).rpartition(".")
        module = ".".join([*Path(code_uri).parts, *module_file.split("/")])
        if not (self.root / code_uri / f"{module_file}.py").is_file():
            raise TemplateError(f"{logical_id}: handler file {code_uri}/{module_file}.py does not exist")
        layers = []
        for layer_arn in properties.get("Layers", []):
            layer_id = next(
                (lid for lid, r in self.resources.items()
                 if r["Type"] == "AWS::Lambda::LayerVersion" and self.physical(lid).ref == layer_arn),
                None,
            )  # fmt: skip
            if layer_id is None:
                raise TemplateError(f"{logical_id}: layer {layer_arn} is not defined in the template")
            layers.append(self._code_directory(layer_id, self.resources[layer_id]["Properties"].get("Content")))
        on_failure = invoke.get("DestinationConfig", {}).get("OnFailure", {})
        physical = self.physical(logical_id)
        environment = {k: str(v) for k, v in properties.get("Environment", {}).get("Variables", {}).items()}
        return FunctionPlan(
            logical_id=logical_id,
            name=physical.ref,
            arn=physical.attributes["Arn"],
            module=module,
            handler=handler,
            environment=environment,
            layers=layers,
            timeout=int(properties.get("Timeout", 3)),
            memory=int(properties.get("MemorySize", 128)),
            maximum_retry_attempts=int(invoke.get("MaximumRetryAttempts", 2)),
            on_failure=on_failure.get("Destination"),
            rules=rules,
        )

    def plan(self) -> StackPlan:
        plan = StackPlan()
        targets = {
            "AWS::S3::Bucket": plan.buckets,
            "AWS::DynamoDB::Table": plan.tables,
            "AWS::SNS::Topic": plan.topics,
            "AWS::SQS::Queue": plan.queues,
            "AWS::IAM::Role": plan.roles,
        }
        functions: list[str] = []
        invoke: dict[str, dict[str, Any]] = {}  # function -> its EventInvokeConfig (resolved)
        rules: dict[str, list[RulePlan]] = {}  # function -> the rules that invoke it
        for logical_id, resource in self.resources.items():
            resource_type = resource["Type"]
            if not self.active(logical_id):
                plan.skipped.append((logical_id, resource_type))
            elif resource_type == "AWS::IAM::Role" and logical_id not in self.source["Resources"]:
                # Roles SAM writes for functions are not created: nothing local checks IAM (the handlers run with
                # the emulator's credentials), and moto refuses SAM's inline policies, which leave out Version.
                plan.not_emulated.append((logical_id, resource_type))
            elif resource_type in targets:
                targets[resource_type][logical_id] = self.resolve(resource.get("Properties", {}))
            elif resource_type == "AWS::Lambda::Function":
                functions.append(logical_id)
            elif resource_type == "AWS::Lambda::EventInvokeConfig":
                properties = resource.get("Properties", {})
                if (function := self._function_of(properties.get("FunctionName"))) is None:
                    raise TemplateError(f"{logical_id}: EventInvokeConfig of a function not in the template")
                invoke[function] = self.resolve(properties)
            elif resource_type == "AWS::Events::Rule":
                if (rule := self._rule_plan(logical_id)) is None:
                    plan.not_emulated.append((logical_id, resource_type))
                else:
                    rules.setdefault(rule.function, []).append(rule)
            elif resource_type not in EMULATED_TYPES:
                plan.not_emulated.append((logical_id, resource_type))
        for logical_id in functions:
            plan.functions[logical_id] = self._function_plan(
                logical_id, invoke.get(logical_id, {}), rules.get(logical_id, [])
            )
        for name, output in self.document.get("Outputs", {}).items():
            if "Condition" not in output or self.conditions[output["Condition"]]:
                plan.outputs[name] = self.resolve(output["Value"])
        return plan

    def iter_rules(self, plan: StackPlan) -> Iterator[RulePlan]:
        for function in plan.functions.values():
            yield from function.rules


def _uuid_from(*parts: str) -> str:
    digest = _digest(*parts, length=32)
    return f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"
