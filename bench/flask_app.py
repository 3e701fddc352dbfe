"""The seed's design, for the benchmark: a Flask app that checks the same
APIHMAC1 signature in Python and records each nonce in sqlite (one INSERT
and one COMMIT per request, WAL, synchronous=FULL like the apiserver's
default), run under gunicorn with TLS.

Environment: BENCH_CRED (an apiserver admin.credential file),
BENCH_NONCE_DB (sqlite file; the table is created by the driver),
BENCH_WINDOW (seconds, default 300).  Only for bench/run.sh.
"""
import hashlib
import hmac
import json
import os
import re
import sqlite3
import threading
import time

from flask import Flask, Response, request

CRED = {}
with open(os.environ["BENCH_CRED"]) as f:
    for line in f:
        if "=" in line:
            k, v = line.strip().split("=", 1)
            CRED[k] = v
KEYS = {(CRED["key_id"], CRED["version"]): (CRED["secret"].encode(), "admin")}
DB = os.environ["BENCH_NONCE_DB"]
WINDOW = int(os.environ.get("BENCH_WINDOW", "300"))
NONCE_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
local = threading.local()
app = Flask(__name__)


def db():
    c = getattr(local, "conn", None)
    if c is None:
        c = sqlite3.connect(DB, timeout=10, isolation_level=None)
        c.execute("PRAGMA journal_mode=WAL")
        c.execute("PRAGMA synchronous=FULL")
        local.conn = c
    return c


def unauthorized():
    return Response('{"error":"unauthorized"}', 401,
                    content_type="application/json")


@app.before_request
def guard():
    h = request.headers
    key_id, version = h.get("X-Key-Id", ""), h.get("X-Key-Version", "")
    ts, nonce = h.get("X-Timestamp", ""), h.get("X-Nonce", "")
    sig = h.get("X-API-Signature", "")
    key = KEYS.get((key_id, version))
    if key is None or not ts.isdigit() or not NONCE_RE.match(nonce):
        return unauthorized()
    if abs(int(ts) - time.time()) > WINDOW:
        return unauthorized()
    raw = request.environ.get("RAW_URI", request.full_path)
    path, _, query = raw.partition("?")
    body = request.get_data(cache=True)
    canon = "\n".join([
        "APIHMAC1", request.method, h.get("Host", "").lower(), path, query,
        h.get("Content-Type", ""), key_id, version, ts, nonce,
        hashlib.sha256(body).hexdigest()])
    want = hmac.new(key[0], canon.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(want, sig):
        return unauthorized()
    try:
        db().execute("INSERT INTO nonces (key_id, nonce, ts) VALUES (?,?,?)",
                     (key_id, nonce, int(ts)))
    except sqlite3.IntegrityError:
        return unauthorized()
    request.environ["bench.role"] = key[1]
    return None


@app.get("/api/whoami")
def whoami():
    return Response(json.dumps({"key_id": CRED["key_id"],
                                "version": int(CRED["version"]),
                                "role": "admin"}, separators=(",", ":")),
                    content_type="application/json")


@app.post("/api/data")
def data():
    try:
        doc = json.loads(request.get_data(cache=True))
    except ValueError:
        return Response('{"error":"bad json"}', 400,
                        content_type="application/json")
    return Response(json.dumps({"status": "ok", "received": doc},
                               separators=(",", ":")),
                    content_type="application/json")
