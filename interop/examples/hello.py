"""Subscribe, register, publish and call with AutobahnPython (Twisted)."""
import os

from autobahn.twisted.component import Component, run
from autobahn.wamp.types import PublishOptions
from twisted.internet.defer import Deferred

component = Component(
    transports=os.environ.get("GATEWAY_URL", "ws://127.0.0.1:8080/ws"),
    realm="realm1",
)


@component.on_join
async def joined(session, details):
    received = Deferred()
    await session.subscribe(received.callback, "com.example.hello")
    await session.register(lambda a, b: a + b, "com.example.add")
    await session.publish("com.example.hello", "Hello, world!",
                          options=PublishOptions(acknowledge=True, exclude_me=False))
    print("event received:", await received)
    print("call result:", await session.call("com.example.add", 2, 3))
    await session.leave()


if __name__ == "__main__":
    run([component], log_level=None)
