"""Locust side of bench/peers.sh: one guest conversation per task, the same as the other tools.

Connect, configureSession and wait for the SessionResponse, then twice: say `ping` and wait for
the bot's `pong` (an Outbound StructuredMessage; the guest's own Inbound echo is skipped). Each
reply wait is reported to Locust as a request named `say -> pong` whose response time is
measured here, from just before the frame is written to the arrival of the matching reply
(Locust keeps whole milliseconds below 100 ms). The whole conversation is reported as
`conversation`. With WMT_PEER_THINK, the user waits that long before each say. Rate: each user starts a conversation every PACING seconds (constant_pacing),
so USERS / PACING conversations per second.
"""

import json
import os
import time
import uuid

import websocket  # websocket-client, made cooperative by Locust's gevent monkey-patching
from locust import User, constant_pacing, events, task

URL = os.environ["WMT_PEER_URL"]
DEPLOYMENT = os.environ.get("WMT_PEER_DEPLOYMENT", "bench")
PACING = float(os.environ.get("WMT_PEER_PACING", "1"))
THINK = float(os.environ.get("WMT_PEER_THINK", "0"))
TIMEOUT = 10.0


def report(name, started, exception=None):
    events.request.fire(
        request_type="WS",
        name=name,
        response_time=(time.perf_counter() - started) * 1000.0,
        response_length=0,
        exception=exception,
        context={},
    )


def wait_for(ws, matches):
    deadline = time.monotonic() + TIMEOUT
    while True:
        ws.settimeout(max(0.001, deadline - time.monotonic()))
        frame = json.loads(ws.recv())
        if matches(frame):
            return frame


def is_session(frame):
    return frame.get("class") == "SessionResponse"


def is_pong(frame):
    body = frame.get("body")
    return (
        frame.get("class") == "StructuredMessage"
        and isinstance(body, dict)
        and body.get("direction") == "Outbound"
        and "pong" in (body.get("text") or "")
    )


class Guest(User):
    wait_time = constant_pacing(PACING)

    @task
    def conversation(self):
        started = time.perf_counter()
        ws = None
        try:
            ws = websocket.create_connection(URL, timeout=TIMEOUT)
            token = str(uuid.uuid4())
            ws.send(json.dumps({"action": "configureSession", "deploymentId": DEPLOYMENT, "token": token}))
            wait_for(ws, is_session)
            for _ in range(2):
                if THINK > 0:
                    time.sleep(THINK)  # cooperative: Locust patches time.sleep with gevent
                said = time.perf_counter()
                ws.send(json.dumps({"action": "onMessage", "token": token, "message": {"type": "Text", "text": "ping"}}))
                wait_for(ws, is_pong)
                report("say -> pong", said)
            report("conversation", started)
        except Exception as e:  # a failed conversation counts once, as Locust failures do
            report("conversation", started, e)
        finally:
            if ws is not None:
                ws.close()
