"""The AWS wire protocols (SigV4, JSON, Query/XML) and the services spoken over them."""

from broker.protocols.aws.routes import (
    DEFAULT_MAX_BODY_BYTES,
    AwsEndpoint,
    aws_endpoint,
    aws_routes,
)

__all__ = ["DEFAULT_MAX_BODY_BYTES", "AwsEndpoint", "aws_endpoint", "aws_routes"]
