"""The one place the Powertools singletons live; every handler and module logs through these."""

from aws_lambda_powertools import Logger, Metrics, Tracer

SERVICE = "gtchain"

logger = Logger(service=SERVICE)
tracer = Tracer(service=SERVICE)
metrics = Metrics(namespace="gtchain", service=SERVICE)
