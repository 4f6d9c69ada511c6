# Requests to the gateway with a forged bearer token (same length as a real
# one) and with none. Each is reported as STATUS:CODE.
import base64
import http.client
import json
import os
import urllib.parse

from attack import report


def post(token):
    url = urllib.parse.urlsplit(os.environ["MOAT_GATEWAY_URL"])
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = "Bearer " + token
    try:
        conn.request("POST", "/v1/query", body=json.dumps({"sql": "select 1"}), headers=headers)
        resp = conn.getresponse()
        body = resp.read()
    finally:
        conn.close()
    code = json.loads(body)["error"]["code"] if resp.status >= 300 else "ok"
    return f"{resp.status}:{code}"


forged = base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode()
report("forged_token", post(forged))
report("missing_token", post(None))
