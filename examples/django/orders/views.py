"""Views that let the browser of a logged-in user connect to the gateway."""
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_POST

from gateway_proxy import GatewayError

from .gateway import proxy


@login_required
@require_POST
def gateway_ticket(request):
    """Issues a one-time ticket for request.user: the page's Autobahn|JS authenticates with it."""
    try:
        t = proxy().issue_ticket(request.user.get_username(), "user", ttl=60)
    except GatewayError as e:
        return JsonResponse({"error": e.uri, "message": e.message}, status=503)
    return JsonResponse({"ticket": t["ticket"], "authid": t["authid"], "expires": t["expires"],
                         "url": settings.GATEWAY_WS_URL, "realm": settings.GATEWAY_REALM})


@login_required
def live_orders(request):
    """A page that shows the user's new orders as they are created."""
    return render(request, "orders/live.html", {})
