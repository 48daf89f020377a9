"""Where the commands act: a deployed stack (--stack NAME) or the local endpoint (--local).

A stack is found by its CloudFormation outputs (DataBucketName, ChainTableName, <Name>FunctionName), with the
user's AWS profile and region. The local endpoint is described by `.gtchain/local.json`, which `make local`
writes (keys endpoint, region, dataBucket, table, functions); any credentials do, so fixed fake ones are used.
GTCHAIN_STACK and GTCHAIN_LOCAL set the default; a flag wins over the environment.
"""

import json
import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from gtchain.adapters.errors import error_code
from gtchain_cli.errors import CliError, Exit

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBServiceResource
    from mypy_boto3_logs import CloudWatchLogsClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sagemaker import SageMakerClient

LOCAL_CONFIG = Path(".gtchain") / "local.json"
REQUIRED_OUTPUTS = ("DataBucketName", "ChainTableName")
LOCAL_KEYS = ("endpoint", "region", "dataBucket", "table")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}
# A person waits on these calls: fewer retries than the functions' (throttling still backs off).
AWS_CONFIG = Config(retries={"mode": "standard", "max_attempts": 4}, connect_timeout=5, read_timeout=60)
LOCAL_CONFIG_RETRIES = Config(retries={"mode": "standard", "max_attempts": 2}, connect_timeout=2, read_timeout=60)


@dataclass
class Target:
    kind: Literal["stack", "local"]
    label: str  # "stack gtchain in eu-west-1", "local endpoint http://127.0.0.1:4566"
    session: boto3.Session
    region: str
    bucket: str
    table: str
    endpoint: str | None = None
    functions: dict[str, str] = field(default_factory=dict)  # logical id (StartFunction) -> function name
    allowed_buckets: frozenset[str] = frozenset()
    config_path: Path | None = None  # the local endpoint's local.json

    @property
    def _config(self) -> Config:
        return LOCAL_CONFIG_RETRIES if self.kind == "local" else AWS_CONFIG

    def client(self, service: str) -> Any:
        """A client for a service without stubs here (cloudformation, lambda)."""
        session: Any = self.session
        return session.client(service, region_name=self.region, endpoint_url=self.endpoint, config=self._config)

    @cached_property
    def s3(self) -> "S3Client":
        return self.session.client("s3", region_name=self.region, endpoint_url=self.endpoint, config=self._config)

    @cached_property
    def sagemaker(self) -> "SageMakerClient":
        return self.session.client(
            "sagemaker", region_name=self.region, endpoint_url=self.endpoint, config=self._config
        )

    @cached_property
    def logs(self) -> "CloudWatchLogsClient":
        return self.session.client("logs", region_name=self.region, endpoint_url=self.endpoint, config=self._config)

    @cached_property
    def dynamodb(self) -> "DynamoDBServiceResource":
        return self.session.resource(
            "dynamodb", region_name=self.region, endpoint_url=self.endpoint, config=self._config
        )


def flag(value: str | None) -> bool | None:
    """An environment variable as a yes/no; None when it is neither (GTCHAIN_LOCAL may hold a path)."""
    text = (value or "").strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    return None


@dataclass(frozen=True)
class Choice:
    stack: str | None = None
    local: Path | None = None  # the local.json to read (found later when it is the default)
    local_default: bool = False


def choose(stack: str | None, local: bool) -> Choice:
    """The target from the flags, else from GTCHAIN_STACK / GTCHAIN_LOCAL."""
    if stack and local:
        raise CliError("choose one target: --stack NAME or --local, not both", Exit.USAGE)
    if stack:
        return Choice(stack=stack)
    if local:
        return Choice(local_default=True)
    env_stack = os.environ.get("GTCHAIN_STACK", "").strip()
    env_local = os.environ.get("GTCHAIN_LOCAL", "")
    wants_local = flag(env_local)
    local_path = Path(env_local).expanduser() if wants_local is None else None
    if env_stack and (wants_local or local_path):
        raise CliError("GTCHAIN_STACK and GTCHAIN_LOCAL are both set: unset one, or pass --stack NAME or --local",
                       Exit.USAGE)  # fmt: skip
    if env_stack:
        return Choice(stack=env_stack)
    if local_path is not None:
        return Choice(local=local_path)
    if wants_local:
        return Choice(local_default=True)
    raise CliError("no target: pass --stack NAME (a deployed gtchain stack) or --local (the endpoint `make local` "
                   "runs), or set GTCHAIN_STACK or GTCHAIN_LOCAL=1", Exit.USAGE)  # fmt: skip


def resolve(choice: Choice, *, profile: str | None, region: str | None) -> Target:
    if choice.stack:
        return from_stack(choice.stack, profile=profile, region=region)
    return from_local(choice.local or find_local_config())


def aws_session(profile: str | None, region: str | None) -> boto3.Session:
    """The user's AWS session (profile, region); one line saying what to do when it has no region."""
    session = boto3.Session(profile_name=profile, region_name=region)
    if not session.region_name:
        raise CliError("no AWS region: pass --region, set AWS_REGION, or set a region in your AWS profile "
                       "(aws configure)", Exit.AWS_CONFIG)  # fmt: skip
    return session


def from_stack(name: str, *, profile: str | None, region: str | None) -> Target:
    session = aws_session(profile, region)
    where = f"{session.region_name}" + (f", profile {profile}" if profile else "")
    cloudformation = session.client("cloudformation", config=AWS_CONFIG)
    try:
        stacks = cloudformation.describe_stacks(StackName=name)["Stacks"]
    except ClientError as exc:
        if error_code(exc) == "ValidationError" and "does not exist" in str(exc):
            raise CliError(f"no stack named {name} in {where}: check the name (aws cloudformation list-stacks) or "
                           "pass --region / --profile", Exit.NO_TARGET) from None  # fmt: skip
        raise
    stack = stacks[0]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    missing = [key for key in REQUIRED_OUTPUTS if key not in outputs]
    if missing:
        raise CliError(f"stack {name} ({where}) has no {' or '.join(missing)} output: is it a gtchain stack? "
                       f"(status {stack.get('StackStatus', 'unknown')})", Exit.NO_TARGET)  # fmt: skip
    parameters = {p["ParameterKey"]: p.get("ParameterValue", "") for p in stack.get("Parameters", [])}
    allowed = {b.strip() for b in parameters.get("AllowedSourceBuckets", "").split(",") if b.strip()}
    bucket = outputs["DataBucketName"]
    return Target(
        kind="stack", label=f"stack {name} in {where}", session=session, region=str(session.region_name),
        bucket=bucket, table=outputs["ChainTableName"],
        functions={k.removesuffix("Name"): v for k, v in outputs.items() if k.endswith("FunctionName")},
        allowed_buckets=frozenset({bucket, *allowed}),
    )  # fmt: skip


def find_local_config(start: Path | None = None) -> Path:
    """.gtchain/local.json in the current directory or the nearest one above it."""
    here = (start or Path.cwd()).resolve()
    for directory in (here, *here.parents):
        if (directory / LOCAL_CONFIG).is_file():
            return directory / LOCAL_CONFIG
    raise CliError(f"no {LOCAL_CONFIG} here or above: start the local endpoint with `make local` in the gtchain "
                   "checkout (it writes the file), then run this from there", Exit.NO_TARGET)  # fmt: skip


def from_local(path: Path) -> Target:
    try:
        config = json.loads(path.read_text())
    except FileNotFoundError:
        raise CliError(f"{path} does not exist: start the local endpoint with `make local` (it writes the file)",
                       Exit.NO_TARGET) from None  # fmt: skip
    except (OSError, ValueError) as exc:
        raise CliError(f"{path} is not readable JSON ({exc}): restart `make local` to write it again",
                       Exit.NO_TARGET) from None  # fmt: skip
    missing = [key for key in LOCAL_KEYS if not isinstance(config, dict) or not config.get(key)]
    if missing:
        raise CliError(f"{path} has no {', '.join(missing)}: restart `make local` to write it again", Exit.NO_TARGET)
    functions = config.get("functions") or {}
    # Any credentials do for the endpoint; fixed fake ones keep the user's real ones out of it.
    session = boto3.Session(aws_access_key_id="local", aws_secret_access_key="local", region_name=config["region"])  # noqa: S106 (fake, for the emulator)
    bucket = str(config["dataBucket"])
    extra = config.get("allowedSourceBuckets") or []
    return Target(
        kind="local", label=f"local endpoint {config['endpoint']}", session=session, region=str(config["region"]),
        bucket=bucket, table=str(config["table"]), endpoint=str(config["endpoint"]),
        functions={str(k): str(v) for k, v in functions.items()} if isinstance(functions, dict) else {},
        allowed_buckets=frozenset({bucket, *(str(b) for b in extra)}), config_path=path,
    )  # fmt: skip
