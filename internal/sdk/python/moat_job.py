"""Client for the moat job gateway.

moat mounts this module into every python3 sandbox and puts it on
PYTHONPATH. It uses only the standard library. The gateway address and the
run's bearer token come from MOAT_GATEWAY_URL and MOAT_TOKEN, which moat sets
for each run; the token is useless after the run ends.

    import moat_job
    rows = moat_job.query("select hash, value from ethereum.transactions limit 5")
    moat_job.webhook("alerts", {"text": "large transfer", "tx": rows[0]["hash"]})

Big integers (wei, token amounts) arrive as exact Python ints or as decimal
strings, never as floats, so no precision is lost.
"""

import http.client
import json
import os
import urllib.parse

__all__ = ["GatewayError", "query", "webhook", "run_id", "org"]

_TIMEOUT_SECONDS = 120


class GatewayError(Exception):
    """The gateway rejected a call. `code` is a stable reason code such as
    "access_denied", "invalid_sql" or "unknown_webhook"; `status` is the HTTP
    status."""

    def __init__(self, code, message, status):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status


def run_id():
    """Return the id of the current run."""
    return os.environ.get("MOAT_RUN_ID", "")


def org():
    """Return the org the current run belongs to."""
    return os.environ.get("MOAT_ORG", "")


def query(sql):
    """Run one read-only SQL statement over the run's declared input datasets
    and return the rows as a list of dicts."""
    body = _call("/v1/query", {"sql": sql})
    rows = []
    for line in body.splitlines():
        if line.strip():
            rows.append(json.loads(line))
    return rows


def webhook(name, payload):
    """Send payload (any JSON value) to the webhook `name` that the bundle's
    moat.yaml declares. The platform delivers it; the call returns once the
    gateway has queued it."""
    path = "/v1/webhooks/" + urllib.parse.quote(name, safe="")
    body = _call(path, payload)
    return json.loads(body) if body.strip() else {}


def _call(path, payload):
    base = os.environ.get("MOAT_GATEWAY_URL")
    token = os.environ.get("MOAT_TOKEN")
    if not base or not token:
        raise GatewayError(
            "not_in_sandbox",
            "MOAT_GATEWAY_URL and MOAT_TOKEN are not set: run this job with 'moat run'",
            0,
        )

    url = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=_TIMEOUT_SECONDS)
    try:
        data = json.dumps(payload).encode("utf-8")
        headers = {
            "Authorization": "Bearer " + token,
            "Content-Type": "application/json",
        }
        conn.request("POST", path, body=data, headers=headers)
        resp = conn.getresponse()
        text = resp.read().decode("utf-8")
    finally:
        conn.close()

    if resp.status >= 300:
        raise _error_from(resp.status, text)
    return text


def _error_from(status, text):
    try:
        err = json.loads(text)["error"]
        return GatewayError(err.get("code", "unknown"), err.get("message", ""), status)
    except (ValueError, KeyError, TypeError):
        return GatewayError("unknown", text[:200], status)
