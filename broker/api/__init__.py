"""The native REST API: resource-oriented JSON over ``BrokerService``, with an OpenAPI document.

``/v1/queues[/{queue}[/messages|/attributes|/tags|/purge|/redrive...]]``; topics and buses will
take ``/v1/topics`` and ``/v1/buses``. See docs/rest-api.md.
"""

from broker.api.endpoint import api_routes
from broker.api.queues import QUEUE_OPERATIONS

__all__ = ["QUEUE_OPERATIONS", "api_routes"]
