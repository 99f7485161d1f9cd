"""The orders app: publishes an event to the gateway whenever an order is created."""
from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"

    def ready(self):
        from . import signals  # noqa: F401  (connects the post_save receiver)
