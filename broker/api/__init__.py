"""The native REST API: resource-oriented JSON over ``BrokerService`` and ``TopicService``, with
an OpenAPI document.

``/v1/queues[/{queue}[/messages|/attributes|/tags|/purge|/redrive...]]``,
``/v1/topics[/{topic}[/attributes|/tags|/subscriptions|/messages]]`` and
``/v1/subscriptions/{arn}``; buses will take ``/v1/buses``. See docs/rest-api.md.
"""

from broker.api.admin import admin_routes
from broker.api.endpoint import api_routes
from broker.api.queues import QUEUE_OPERATIONS
from broker.api.topics import TOPIC_OPERATIONS

__all__ = ["QUEUE_OPERATIONS", "TOPIC_OPERATIONS", "admin_routes", "api_routes"]
