"""Publishes order.created events to the gateway from a model signal."""
import logging

from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from gateway_proxy import GatewayError

from .gateway import proxy
from .models import Order

log = logging.getLogger(__name__)


@receiver(post_save, sender=Order)
def publish_order_created(sender, instance, created, **kwargs):
    if not created:
        return

    def publish():
        # Event class "order.created" (the gateway validates the payload against its schema);
        # only the customer's own sessions and the staff role receive it.
        try:
            proxy().publish(
                None,
                kwargs={"order": instance.pk, "amount": instance.amount,
                        "customer": instance.customer.get_username()},
                cls="order.created",
                eligible_authid=[instance.customer.get_username()],
            )
        except GatewayError as e:
            log.error("order %s not published: %s (%s)", instance.pk, e.message, e.uri)

    # Publish once the order is committed, never for a rolled-back one.
    transaction.on_commit(publish)
