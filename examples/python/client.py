#!/usr/bin/env python3
"""A v1-signing client for apiserver, standard library only.

usage: client.py [--credential FILE] [--cacert FILE] BASE_URL
       client.py --vectors docs/v1-vectors.json

The credential file holds key_id=, version= and secret= lines (default:
$APISERVER_CREDENTIAL).  Does a signed GET /api/whoami?x=1&y=a+b and a
JSON POST /api/data, printing each response; exits 1 on any failure.
--vectors recomputes every test vector and exits 1 on a mismatch.
See docs/protocol.md for the scheme.
"""
import argparse
import base64
import hashlib
import hmac
import http.client
import json
import os
import secrets
import ssl
import sys
import time
import urllib.parse


def canonical(method, host, path, query, content_type, key_id, key_version,
              timestamp, nonce, body):
    """The 11-line canonical string (no trailing newline)."""
    return "\n".join([
        "APIHMAC1", method, host.lower(), path, query, content_type or "",
        key_id, str(key_version), str(timestamp), nonce,
        hashlib.sha256(body).hexdigest(),
    ])


def signature(secret, canon):
    return hmac.new(secret.encode("ascii"), canon.encode("utf-8"),
                    hashlib.sha256).hexdigest()


def read_credential(path):
    cred = {}
    with open(path) as f:
        for line in f:
            line = line.rstrip("\r\n")
            if "=" in line and not line.startswith("#"):
                k, v = line.split("=", 1)
                cred[k] = v
    for k in ("key_id", "version", "secret"):
        if not cred.get(k):
            raise SystemExit("%s: not a credential file (no %s=)" % (path, k))
    return cred


def signed_request(base, cred, cacert, method, target, body=b"",
                   content_type=None):
    """Sign and send one request; return (status, body bytes)."""
    u = urllib.parse.urlsplit(base)
    host = u.netloc                       # the authority, exactly as sent
    path, _, query = target.partition("?")
    if body and content_type is None:
        content_type = "application/json"
    ts = int(time.time())
    nonce = secrets.token_urlsafe(18)     # 24 characters
    canon = canonical(method, host, path, query, content_type,
                      cred["key_id"], cred["version"], ts, nonce, body)
    headers = {
        "Host": host,
        "X-Key-Id": cred["key_id"],
        "X-Key-Version": cred["version"],
        "X-Timestamp": str(ts),
        "X-Nonce": nonce,
        "X-API-Signature": signature(cred["secret"], canon),
        "Connection": "close",
    }
    if content_type is not None:
        headers["Content-Type"] = content_type
    if u.scheme == "https":
        ctx = ssl.create_default_context(cafile=cacert)
        conn = http.client.HTTPSConnection(u.hostname, u.port or 443,
                                           context=ctx, timeout=30)
    elif u.scheme == "http" and u.hostname in ("127.0.0.1", "localhost",
                                                "::1"):
        conn = http.client.HTTPConnection(u.hostname, u.port or 80,
                                          timeout=30)
    else:
        raise SystemExit("refusing %s: use https:// (plain http only to "
                         "loopback)" % base)
    try:
        # skip_host: our Host header is the one that was signed.
        conn.putrequest(method, target, skip_host=True,
                        skip_accept_encoding=True)
        for k, v in headers.items():
            conn.putheader(k, v)
        if body or method in ("POST", "PUT", "PATCH"):
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body or None)
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


def check_vectors(path):
    with open(path) as f:
        vectors = json.load(f)["vectors"]
    good = 0
    for v in vectors:
        body = base64.b64decode(v["body_base64"])
        path_, _, query = v["target"].partition("?")
        canon = canonical(v["method"], v["host"], path_, query,
                          v["content_type"], v["key_id"], v["key_version"],
                          v["timestamp"], v["nonce"], body)
        ok = canon == v["canonical"] and \
            signature(v["secret"], canon) == v["signature"]
        print("%s  %s" % ("ok  " if ok else "FAIL", v["description"]))
        good += ok
    print("vectors: %d/%d match" % (good, len(vectors)))
    return good == len(vectors)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--credential",
                    default=os.environ.get("APISERVER_CREDENTIAL"))
    ap.add_argument("--cacert", help="PEM file of the server certificate")
    ap.add_argument("--vectors", help="check the test vectors in FILE")
    ap.add_argument("base_url", nargs="?")
    a = ap.parse_args()
    if a.vectors:
        return 0 if check_vectors(a.vectors) else 1
    if not a.base_url or not a.credential:
        ap.error("need BASE_URL and --credential (or APISERVER_CREDENTIAL)")
    cred = read_credential(a.credential)
    base = a.base_url.rstrip("/")
    failed = False
    for method, target, body in (
            ("GET", "/api/whoami?x=1&y=a+b", b""),
            ("POST", "/api/data",
             json.dumps({"temp": 21.5, "unit": "C"}).encode())):
        try:
            status, data = signed_request(base, cred, a.cacert, method,
                                          target, body)
        except (OSError, http.client.HTTPException) as e:
            print("%s %s: %s" % (method, target, e), file=sys.stderr)
            return 1
        print("%s %s -> HTTP %d" % (method, target, status))
        print(data.decode("utf-8", "replace"))
        failed = failed or not 200 <= status < 300
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
