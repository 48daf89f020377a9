"""Configuration from environment variables, validated when a handler is invoked (not at import)."""

import os
from functools import cached_property

from pydantic import BaseModel, ConfigDict, Field


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True)

    data_bucket: str = Field(alias="DATA_BUCKET", min_length=3)
    table_name: str = Field(alias="TABLE_NAME", min_length=3)
    topic_arn: str = Field(alias="TOPIC_ARN", pattern=r"^arn:aws[a-z\-]*:sns:")
    event_bus_name: str = Field(alias="EVENT_BUS_NAME", default="default")
    job_name_prefix: str = Field(alias="JOB_NAME_PREFIX", pattern=r"^[a-z][a-z0-9]{0,11}$")
    labeling_role_arn: str = Field(alias="LABELING_ROLE_ARN", pattern=r"^arn:aws[a-z\-]*:iam::\d{12}:role/")
    allowed_source_buckets_csv: str = Field(alias="ALLOWED_SOURCE_BUCKETS", default="")
    region: str = Field(alias="AWS_REGION", min_length=1)

    @cached_property
    def allowed_source_buckets(self) -> frozenset[str]:
        """The data bucket plus the stack parameter's list: the only buckets workers may be shown."""
        extra = {b.strip() for b in self.allowed_source_buckets_csv.split(",") if b.strip()}
        return frozenset({self.data_bucket, *extra})

    @classmethod
    def from_env(cls) -> "Settings":
        names = [f.alias for f in cls.model_fields.values() if f.alias]
        return cls.model_validate({name: os.environ[name] for name in names if name in os.environ})
