"""A self-hosted, durable message broker on PostgreSQL that speaks the AWS wire protocols."""

__version__ = "0.1.0"
