"""A test function behind the local HTTP API: answers with the event it received, or with the request body.

Headers steer it: ``x-echo: body`` sends the request body back as binary; ``x-echo-crash`` raises;
``x-echo-sleep: <seconds>`` hangs that long first; ``x-echo-size: <bytes>`` answers with a body that large.
Every answer names the worker process in ``X-Echo-Pid``.
"""

import base64
import json
import os
import time


def lambda_handler(event, context):
    headers = event.get("headers") or {}
    if "x-echo-crash" in headers:
        raise RuntimeError("echo crashed on purpose")
    if "x-echo-sleep" in headers:
        time.sleep(float(headers["x-echo-sleep"]))
    if "x-echo-size" in headers:
        raw = b"x" * int(headers["x-echo-size"])
        content_type = "application/octet-stream"
    elif headers.get("x-echo") == "body":
        body = event.get("body") or ""
        raw = base64.b64decode(body) if event.get("isBase64Encoded") else body.encode("utf-8")
        content_type = "application/octet-stream"
    else:
        raw = json.dumps(event).encode("utf-8")
        content_type = "application/json"
    return {
        "statusCode": 200,
        "headers": {"Content-Type": content_type, "X-Echo": "a,b", "X-Echo-Pid": str(os.getpid())},
        "cookies": ["session=abc; Path=/; HttpOnly", "theme=dark; Max-Age=60"],
        "body": base64.b64encode(raw).decode("ascii"),
        "isBase64Encoded": True,
    }
