"""The one gateway proxy of the project, built from the shared configuration file."""
import functools

from django.conf import settings

from gateway_proxy import GatewayProxy


@functools.lru_cache(maxsize=1)
def proxy():
    """Returns the project's GatewayProxy (reads settings.GATEWAY_CONFIG once)."""
    return GatewayProxy.from_config(settings.GATEWAY_CONFIG)
