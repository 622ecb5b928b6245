"""A self-hosted, durable message broker on PostgreSQL with SQS, SNS and EventBridge wire protocols."""

__version__ = "0.1.0"
