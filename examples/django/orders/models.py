"""An order, whose creation is published to the gateway."""
from django.conf import settings
from django.db import models


class Order(models.Model):
    customer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    amount = models.IntegerField(help_text="in cents")
    created = models.DateTimeField(auto_now_add=True)
