"""End-to-end tests of the example against a running gateway.

Run by interop/django_test.go, which starts a gateway with a matching configuration and sets
GATEWAY_CONFIG, GATEWAY_WS_URL and GATEWAY_REALM. A real WAMP client (AutobahnPython, in
wamp_listener.py) checks what browsers would see.
"""
import json
import os
import subprocess
import sys
import threading
import queue

from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client, TransactionTestCase

from .models import Order

LISTENER = os.path.join(settings.BASE_DIR, "wamp_listener.py")


class Listener:
    """wamp_listener.py in a subprocess; lines() yields what it printed."""

    def __init__(self, *args):
        self.proc = subprocess.Popen(
            ["/usr/bin/python3", LISTENER, "--url", settings.GATEWAY_WS_URL, "--realm", settings.GATEWAY_REALM, *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.out = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.out.put(json.loads(line))
        self.out.put(None)

    def next(self, timeout=10):
        try:
            item = self.out.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError("the WAMP listener printed nothing within %ss" % timeout)
        if item is None:
            raise AssertionError("the WAMP listener ended: " + self.proc.stderr.read())
        return item

    def close(self):
        self.proc.kill()
        self.proc.wait()


class GatewayIntegrationTest(TransactionTestCase):
    def setUp(self):
        self.alice = get_user_model().objects.create_user("alice", password="pw")
        self.bob = get_user_model().objects.create_user("bob", password="pw")
        self.client = Client(enforce_csrf_checks=False)

    def test_ticket_view_lets_the_browser_join_as_the_user(self):
        self.assertEqual(self.client.post("/gateway/ticket").status_code, 302, "anonymous users get no ticket")
        self.client.login(username="alice", password="pw")
        r = self.client.post("/gateway/ticket")
        self.assertEqual(r.status_code, 200)
        t = r.json()
        self.assertEqual(t["url"], settings.GATEWAY_WS_URL)
        lst = Listener("--authid", "alice", "--ticket=" + t["ticket"])
        try:
            welcome = lst.next()
            self.assertEqual(welcome, {"welcome": {"authid": "alice", "authrole": "user", "authmethod": "ticket"}})
        finally:
            lst.close()
        # One-time: the same ticket is refused afterwards.
        again = Listener("--authid", "alice", "--ticket=" + t["ticket"])
        try:
            self.assertEqual(again.next()["abort"], "wamp.error.authentication_failed")
        finally:
            again.close()

    def test_new_order_reaches_only_its_customer(self):
        self.client.login(username="alice", password="pw")
        alice = Listener("--authid", "alice", "--ticket=" + self.client.post("/gateway/ticket").json()["ticket"],
                         "--topic", "com.shop.order.created")
        self.client.login(username="bob", password="pw")
        bob = Listener("--authid", "bob", "--ticket=" + self.client.post("/gateway/ticket").json()["ticket"],
                       "--topic", "com.shop.order.created")
        try:
            for lst in (alice, bob):
                self.assertIn("welcome", lst.next())
                self.assertEqual(lst.next(), {"subscribed": "com.shop.order.created"})
            order = Order.objects.create(customer=self.alice, amount=1999)
            ev = alice.next()["event"]
            self.assertEqual(ev["kwargs"], {"order": order.pk, "amount": 1999, "customer": "alice"})
            with self.assertRaises(AssertionError):
                bob.next(timeout=1)
        finally:
            alice.close()
            bob.close()

    def test_live_page_renders_for_logged_in_users(self):
        self.assertEqual(self.client.get("/orders/live").status_code, 302)
        self.client.login(username="alice", password="pw")
        r = self.client.get("/orders/live")
        self.assertContains(r, "com.shop.order.created")
        self.assertContains(r, "/gateway/ticket")
