"""CreateLabelingJob requests, built from a round's record and the chain's spec snapshot."""

from decimal import Decimal
from typing import Any

from gtchain.domain.labeling_job import TAG_CHAIN, TAG_INCARNATION, TAG_ROLE, TAG_ROUND
from gtchain.domain.names import Role
from gtchain.domain.pricing import JobPricing
from gtchain.domain.spec import ChainSpec
from gtchain.domain.tasks import public_workteam_arn


def pricing_for(spec: ChainSpec) -> JobPricing:
    return JobPricing(spec.pricing.per_object_usd, spec.workers_per_object, spec.task_price_usd())


def _amount_in_usd(price: Decimal) -> dict[str, int]:
    tenths_of_cent = int(price * 1000)
    return {
        "Dollars": tenths_of_cent // 1000,
        "Cents": tenths_of_cent % 1000 // 10,
        "TenthFractionsOfACent": tenths_of_cent % 10,
    }


def job_tags(chain_id: str, incarnation: str, round_number: int, role: Role) -> list[dict[str, str]]:
    return [
        {"Key": TAG_CHAIN, "Value": chain_id},
        {"Key": TAG_INCARNATION, "Value": incarnation},
        {"Key": TAG_ROUND, "Value": str(round_number)},
        {"Key": TAG_ROLE, "Value": role},
    ]


def build_request(
    *,
    name: str,
    spec: ChainSpec,
    region: str,
    role_arn: str,
    input_uri: str,
    output_uri: str,
    ui_template_uri: str,
    label_config_uri: str,
    initial_model_arn: str | None,
    tags: list[dict[str, str]],
) -> dict[str, Any]:
    profile = spec.profile
    workforce = spec.workforce
    human: dict[str, Any] = {
        "WorkteamArn": workforce.workteam_arn or public_workteam_arn(region),
        "UiConfig": {"UiTemplateS3Uri": ui_template_uri},
        "PreHumanTaskLambdaArn": profile.pre_lambda_arn(region),
        "TaskKeywords": list(spec.instructions.keywords),
        "TaskTitle": spec.instructions.title,
        "TaskDescription": spec.instructions.description,
        "NumberOfHumanWorkersPerDataObject": spec.workers_per_object,
        "TaskTimeLimitInSeconds": spec.task_time_limit_seconds,
        "TaskAvailabilityLifetimeInSeconds": spec.task_availability_seconds,
        "MaxConcurrentTaskCount": spec.max_concurrent_tasks,
        "AnnotationConsolidationConfig": {"AnnotationConsolidationLambdaArn": profile.acs_lambda_arn(region)},
    }
    if workforce.type == "public" and workforce.price_per_task_usd is not None:
        human["PublicWorkforceTaskPrice"] = {"AmountInUsd": _amount_in_usd(workforce.price_per_task_usd)}
    request: dict[str, Any] = {
        "LabelingJobName": name,
        "LabelAttributeName": spec.label_attribute_name,
        "InputConfig": {"DataSource": {"S3DataSource": {"ManifestS3Uri": input_uri}}},
        "OutputConfig": {"S3OutputPath": output_uri},
        "RoleArn": role_arn,
        "LabelCategoryConfigS3Uri": label_config_uri,
        "HumanTaskConfig": human,
        "Tags": tags,
    }
    if workforce.content_classifiers:
        request["InputConfig"]["DataAttributes"] = {"ContentClassifiers": list(workforce.content_classifiers)}
    if spec.auto_labeling:
        algorithms: dict[str, Any] = {"LabelingJobAlgorithmSpecificationArn": profile.algorithm_arn(region)}
        if initial_model_arn:
            algorithms["InitialActiveLearningModelArn"] = initial_model_arn
        request["LabelingJobAlgorithmsConfig"] = algorithms
    return request
