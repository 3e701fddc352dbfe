"""Issue 2: the guard, the routes and the nonce store, end to end against
the real binary over TLS."""
import concurrent.futures
import json
import os
import re
import sqlite3
import time

import lib
from lib import Server, replace_header

S = None


def server():
    global S
    if S is None:
        S = Server("core").start()
    return S


def teardown():
    if S is not None:
        assert S.stop() == 0


def nonce_rows(srv):
    db = sqlite3.connect(os.path.join(srv.data_dir, "apiserver.db"))
    try:
        tables = [r[0] for r in db.execute(
            "SELECT name FROM sqlite_master WHERE type='table' "
            "AND name LIKE 'nonce%'")]
        return sum(db.execute("SELECT count(*) FROM %s" % t).fetchone()[0]
                   for t in tables)
    finally:
        db.close()


def test_first_start_writes_admin_credential_0600():
    s = server()
    path = os.path.join(s.data_dir, "admin.credential")
    assert os.stat(path).st_mode & 0o777 == 0o600
    cred = s.admin()
    assert cred["key_id"] == "admin" and cred["version"] == "1"
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", cred["secret"])
    if s.tls:
        key = os.path.join(s.data_dir, "certs", "key.pem")
        assert os.stat(key).st_mode & 0o777 == 0o600


def test_each_route_succeeds_signed():
    s = server()
    r = s.call("GET", "/api/whoami")
    assert r.status == 200, r
    assert r.json() == {"key_id": "admin", "version": 1, "role": "admin"}
    assert re.fullmatch(r"[0-9a-f]{20}", r.header("X-Request-Id"))
    r = s.call("GET", "/api/health")
    assert r.status == 200 and r.json()["status"] == "ok", r
    body = {"temp": 21.5, "unit": "C", "tags": ["a", "\u00e9"]}
    r = s.call("POST", "/api/data", json.dumps(body))
    assert r.status == 200, r
    assert r.json() == {"status": "ok", "received": body}


def test_invalid_json_is_400():
    r = server().call("POST", "/api/data", "{not json")
    assert r.status == 400 and r.json()["error"] == "invalid_json", r


def test_replay_is_401():
    s = server()
    h = s.signed_headers("GET", "/api/whoami")
    assert s.send("GET", "/api/whoami", h).status == 200
    r = s.send("GET", "/api/whoami", h)
    assert r.status == 401, r


def test_timestamp_outside_window_is_401():
    s = server()
    now = int(time.time())
    assert s.call("GET", "/api/whoami", ts=now - 301).status == 401
    assert s.call("GET", "/api/whoami", ts=now + 301).status == 401
    assert s.call("GET", "/api/whoami", ts=now - 290).status == 200
    assert s.call("GET", "/api/whoami", ts=now + 290).status == 200


def test_wrong_secret_unknown_key_unknown_version_are_401():
    s = server()
    cred = dict(s.admin())
    bad = dict(cred, secret=cred["secret"][:-1] + ("A" if cred["secret"][-1] != "A" else "B"))
    assert s.call("GET", "/api/whoami", cred=bad).status == 401
    assert s.call("GET", "/api/whoami",
                  cred=dict(cred, key_id="nobody")).status == 401
    assert s.call("GET", "/api/whoami",
                  cred=dict(cred, version="2")).status == 401


def test_tampering_any_signed_part_is_401():
    s = server()
    body = b'{"a":1}'
    cases = {
        "method": lambda: s.send("PUT", "/api/data", s.signed_headers(
            "POST", "/api/data", body, ctype="application/json"), body),
        "path": lambda: s.send("GET", "/api/health", s.signed_headers(
            "GET", "/api/whoami")),
        "query": lambda: s.send("GET", "/api/whoami?a=2", s.signed_headers(
            "GET", "/api/whoami?a=1")),
        "body": lambda: s.send("POST", "/api/data", s.signed_headers(
            "POST", "/api/data", body, ctype="application/json"),
            b'{"a":2}'),
        "host": lambda: s.send("GET", "/api/whoami", replace_header(
            s.signed_headers("GET", "/api/whoami"), "Host", "evil:1")),
        "content-type": lambda: s.send("POST", "/api/data", replace_header(
            s.signed_headers("POST", "/api/data", body,
                             ctype="application/json"),
            "Content-Type", "text/plain"), body),
        "nonce": lambda: s.send("GET", "/api/whoami", replace_header(
            s.signed_headers("GET", "/api/whoami"), "X-Nonce",
            lib.new_nonce())),
    }
    for name, fn in cases.items():
        r = fn()
        assert r.status == 401, (name, r)


def test_host_is_compared_lowercased():
    s = server()
    r = s.call("GET", "/api/whoami", host="LOCALHOST:%d" % s.port)
    assert r.status == 200, r


def test_unsigned_requests_to_unknown_routes_are_401():
    s = server()
    for method in ("GET", "OPTIONS", "DELETE", "POST"):
        r = s.send(method, "/no/such/route", [("Host", s.host)])
        assert r.status == 401, (method, r)
    # Signed, an unknown route is 404; a known path with the wrong
    # method is 405.
    assert s.call("GET", "/no/such/route").status == 404
    assert s.call("DELETE", "/api/whoami").status == 405


def test_paths_a_router_would_normalise_are_400():
    s = server()
    for path in ("/api/../api/whoami", "/api/./whoami", "/api//whoami",
                 "/api%2Fwhoami", "/api%2fwhoami", "/api/%2e%2e/x",
                 "/api/%2E/whoami", "/api\\whoami"):
        r = s.call("GET", path)
        assert r.status == 400, (path, r)
        assert r.json()["error"] == "bad_request"


def test_routing_is_exact_and_case_sensitive():
    s = server()
    for path in ("/API/whoami", "/api/whoamix", "/api/whoami/",
                 "/api/whoami/x", "/api"):
        assert s.call("GET", path).status == 404, path


def test_missing_host_and_duplicate_headers_are_400():
    s = server()
    h = [x for x in s.signed_headers("GET", "/api/whoami") if x[0] != "Host"]
    assert s.send("GET", "/api/whoami", h).status == 400
    for name in ("Host", "X-Key-Id", "X-Key-Version", "X-Timestamp",
                 "X-Nonce", "X-API-Signature"):
        h = s.signed_headers("GET", "/api/whoami")
        r = s.send("GET", "/api/whoami", h + [(name, dict(h)[name])],
                   fresh=True)
        assert r.status == 400, (name, r)
    body = b'{"a":1}'
    h = s.signed_headers("POST", "/api/data", body, ctype="application/json")
    h += [("Content-Length", "7"), ("Content-Length", "7")]
    r = s.send("POST", "/api/data", h, body, fresh=True)
    assert r.status == 400, r


def test_body_limits():
    s = server()
    big = b"x" * (1024 * 1024 + 1)
    r = s.call("POST", "/api/data", big, ctype="application/octet-stream")
    assert r.status == 413, r
    exact = json.dumps({"p": "y" * (1024 * 1024 - 9)}).encode()
    assert len(exact) == 1024 * 1024
    r = s.call("POST", "/api/data", exact)
    assert r.status == 200, r


def short_body(s, hold):
    body = b'{"a":1}'
    h = s.signed_headers("POST", "/api/data", body, ctype="application/json")
    req = b"POST /api/data HTTP/1.1\r\n" + b"".join(
        ("%s: %s\r\n" % kv).encode() for kv in h) + \
        b"Content-Length: 20\r\n\r\n" + body
    sock = s.raw_socket(timeout=10)
    sock.sendall(req)
    if not hold:
        sock.shutdown(1)       # plain TCP: the body ends here
    out = b""
    try:
        while b"\r\n\r\n" not in out:
            c = sock.recv(4096)
            if not c:
                break
            out += c
    except OSError:
        pass
    sock.close()
    assert out.startswith(b"HTTP/1.1 400"), out[:200]


def test_short_body_is_400_not_passed_on():
    # Over TLS the client keeps the connection open; the request timeout
    # ends the wait.
    s = Server("shortbody", args=["--request-timeout", "1000"]).start()
    try:
        t0 = time.time()
        short_body(s, hold=True)
        assert time.time() - t0 < 8
        assert "body shorter than Content-Length" in s.log()
    finally:
        s.stop()
    # In plain HTTP a half-close ends the body at once.
    s = Server("shortbody-plain", tls=False).start()
    try:
        short_body(s, hold=False)
    finally:
        s.stop()


def test_expect_100_continue():
    s = server()
    body = b'{"e":100}'
    h = s.signed_headers("POST", "/api/data", body, ctype="application/json")
    sock = s.raw_socket()
    sock.sendall(b"POST /api/data HTTP/1.1\r\n" + b"".join(
        ("%s: %s\r\n" % kv).encode() for kv in h) +
        b"Content-Length: %d\r\nExpect: 100-continue\r\n\r\n" % len(body))
    first = sock.recv(4096)
    assert first.startswith(b"HTTP/1.1 100 Continue"), first
    sock.sendall(body)
    out = first.split(b"\r\n\r\n", 1)[1]
    while b'"e":100' not in out:
        c = sock.recv(4096)
        if not c:
            break
        out += c
    sock.close()
    assert b"HTTP/1.1 200" in out, out


def test_401_bodies_identical_but_request_id():
    s = server()
    bodies = set()
    for r in (s.send("GET", "/api/whoami", [("Host", s.host)]),
              s.call("GET", "/api/whoami", ts=1),
              s.call("GET", "/api/whoami",
                     cred=dict(s.admin(), key_id="ghost")),
              s.call("GET", "/nowhere", cred=dict(s.admin(), secret="x" * 43))):
        assert r.status == 401
        rid = r.header("X-Request-Id")
        assert r.json()["request_id"] == rid
        bodies.add(r.body.replace(rid.encode(), b"RID"))
    assert bodies == {b'{"error":"unauthorized","request_id":"RID"}'}, bodies


def test_401_reason_in_log_with_request_id():
    s = server()
    r = s.call("GET", "/api/whoami", ts=1)
    rid = r.header("X-Request-Id")
    deadline = time.time() + 5
    while rid not in s.log() and time.time() < deadline:
        time.sleep(0.05)
    line = [l for l in s.log().splitlines() if rid in l and "401" in l]
    assert line and "timestamp outside window" in line[0], line


def test_access_log_line_fields():
    s = server()
    r = s.call("GET", "/api/whoami?x=1")
    rid = r.header("X-Request-Id")
    time.sleep(0.1)
    line = [l for l in s.log().splitlines()
            if "access id=%s" % rid in l]
    assert line, s.log()[-1000:]
    m = re.search(r"peer=127\.0\.0\.1:(\d+) method=GET "
                  r"path=\"/api/whoami\" status=200 bytes=\d+ us=\d+ "
                  r"key_id=admin", line[0])
    assert m, line[0]
    # The peer port is the client's, not the front end's loopback one.
    assert int(m.group(1)) == s.conn.sock.getsockname()[1]


def test_nonce_lands_in_sqlite_and_unsigned_traffic_does_not():
    s = server()
    before = nonce_rows(s)
    for _ in range(20):
        s.send("GET", "/api/whoami", [("Host", s.host)])
        s.call("GET", "/api/whoami", ts=1)
    assert nonce_rows(s) == before
    assert s.call("GET", "/api/whoami").status == 200
    assert nonce_rows(s) == before + 1


def test_nonce_survives_restart_and_kill9():
    s = Server("restart").start()
    h1 = s.signed_headers("GET", "/api/whoami")
    assert s.send("GET", "/api/whoami", h1).status == 200
    s.restart()
    assert s.send("GET", "/api/whoami", h1, fresh=True).status == 401
    h2 = s.signed_headers("GET", "/api/whoami")
    assert s.send("GET", "/api/whoami", h2).status == 200
    s.kill9()
    s.start()
    assert s.send("GET", "/api/whoami", h2, fresh=True).status == 401
    assert s.call("GET", "/api/whoami").status == 200
    assert s.stop() == 0


def test_50_concurrent_clients_50_nonces():
    s = Server("fifty").start()
    cred = s.admin()

    def one(i):
        c = s.clone()
        try:
            return c.call("POST", "/api/data", json.dumps({"i": i}),
                          cred=cred).status
        finally:
            c.close_conn()

    with concurrent.futures.ThreadPoolExecutor(50) as ex:
        statuses = list(ex.map(one, range(50), timeout=60))
    assert statuses == [200] * 50, statuses
    assert nonce_rows(s) == 50
    assert s.stop() == 0


def test_dev_mode_shows_reason_and_canonical():
    s = Server("dev", args=["--dev"]).start()
    r = s.call("GET", "/api/whoami?q=1",
               cred=dict(s.admin(), secret="y" * 43))
    assert r.status == 401
    j = r.json()
    assert j["reason"] == "signature mismatch"
    assert j["canonical"].startswith("APIHMAC1\nGET\n127.0.0.1:%d\n"
                                     "/api/whoami\nq=1\n" % s.port)
    assert s.stop() == 0


def test_header_limit_at_n_and_n_plus_1():
    s = server()
    for total, want in ((16384, b"HTTP/1.1 200"), (16385, b"HTTP/1.1 400")):
        h = s.signed_headers("GET", "/api/whoami")
        head = b"GET /api/whoami HTTP/1.1\r\n" + b"".join(
            ("%s: %s\r\n" % kv).encode() for kv in h)
        pad = total - len(head) - len(b"X-Pad: \r\n\r\n")
        req = head + b"X-Pad: " + b"a" * pad + b"\r\n\r\n"
        assert len(req) == total
        out = s.raw(req)
        assert out.startswith(want), (total, out[:80])
        assert b"civetweb" not in out.lower()


def test_nonce_length_limits_at_n_and_n_plus_1():
    s = server()
    for n, want in ((15, 401), (16, 200), (64, 200), (65, 401)):
        nonce = "N" * (n - 8) + lib.new_nonce()[:8]
        r = s.call("GET", "/api/whoami", nonce=nonce)
        assert r.status == want, (n, r)


def test_no_access_log_flag_keeps_refusals_in_the_log():
    s = Server("quiet", args=["--no-access-log"]).start()
    try:
        ok = s.call("GET", "/api/whoami")
        bad = s.call("GET", "/api/whoami", ts=1)
        assert ok.status == 200 and bad.status == 401
        time.sleep(0.2)
        log = s.log()
        assert "access id=" not in log
        assert bad.header("X-Request-Id") in log
        assert ok.header("X-Request-Id") not in log
    finally:
        s.stop()
