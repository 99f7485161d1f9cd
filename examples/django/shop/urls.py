"""URLs of the example shop."""
from django.urls import path

from orders import views

urlpatterns = [
    path("gateway/ticket", views.gateway_ticket, name="gateway-ticket"),
    path("orders/live", views.live_orders, name="live-orders"),
]
