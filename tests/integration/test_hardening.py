"""Regression tests for what an adversarial review found: request framing,
smuggling, nesting depth, HEAD, and slot release during a request."""
import json
import os
import sqlite3
import time

import lib
from lib import Server

S = None


def server():
    global S
    if S is None:
        S = Server("hardening").start()
    return S


def teardown():
    if S is not None:
        assert S.stop() == 0


def raw_request(s, method, target, body=b"", extra=(), ctype=None,
                signed=True):
    h = s.signed_headers(method, target, body, ctype=ctype) if signed \
        else [("Host", s.host)]
    head = ("%s %s HTTP/1.1\r\n" % (method, target)).encode()
    for k, v in list(h) + list(extra):
        head += ("%s: %s\r\n" % (k, v)).encode()
    return head + b"\r\n" + body


def read_all(sock, want=1, timeout=10):
    """Read until `want` complete responses or EOF; return them."""
    sock.settimeout(timeout)
    out, responses = b"", []
    while len(responses) < want:
        while b"\r\n\r\n" not in out:
            try:
                d = sock.recv(65536)
            except OSError:
                d = b""
            if not d:
                return responses
            out += d
        head, _, rest = out.partition(b"\r\n\r\n")
        n = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                n = int(line.split(b":")[1])
        while len(rest) < n:
            d = sock.recv(65536)
            if not d:
                break
            rest += d
        responses.append(head + b"\r\n\r\n" + rest[:n])
        out = rest[n:]
    return responses


def alive(s):
    s.close_conn()
    assert s.call("GET", "/api/health").status == 200


def test_deep_json_is_400_and_the_server_lives():
    s = server()
    for depth, want in ((32, 200), (33, 400), (300, 400), (5000, 400)):
        body = b"[" * depth + b"]" * depth
        r = s.call("POST", "/api/data", body)
        assert r.status == want, (depth, r)
        alive(s)
    body = json.dumps({"key_id": "x", "n": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[
        [[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]})
    assert s.call("POST", "/admin/keys", body).status == 400
    alive(s)


def test_nothing_pipelined_after_an_error_reply_runs():
    s = server()
    first = raw_request(s, "GET", "/api/whoami", extra=[("Host", "x")])
    body = b'{"key_id":"smuggled-1"}'
    second = raw_request(s, "POST", "/admin/keys", body,
                         ctype="application/json",
                         extra=[("Content-Length", str(len(body)))])
    sock = s.raw_socket()
    sock.sendall(first + second)
    got = read_all(sock, want=2, timeout=5)
    sock.close()
    assert len(got) == 1 and got[0].startswith(b"HTTP/1.1 400"), got
    assert b"Connection: close" in got[0]
    r = s.call("GET", "/admin/keys")
    assert b"smuggled-1" not in r.body, r


def test_more_than_63_headers_is_431():
    s = server()
    extra = [("X-Filler-%d" % i, "v") for i in range(70)]
    sock = s.raw_socket()
    sock.sendall(raw_request(s, "GET", "/api/whoami", extra=extra))
    got = read_all(sock)
    sock.close()
    assert got and got[0].startswith(b"HTTP/1.1 431"), got
    # A duplicate Host hidden past header 64 cannot slip through.
    extra = [("X-Filler-%d" % i, "v") for i in range(64)] + [("Host", "y")]
    sock = s.raw_socket()
    sock.sendall(raw_request(s, "GET", "/api/whoami", extra=extra))
    got = read_all(sock)
    sock.close()
    assert got and not got[0].startswith(b"HTTP/1.1 2"), got


def test_transfer_encoding_is_411():
    s = server()
    body = b'{"grace_seconds":0}'
    chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
    for te_body in (chunked, b"zz\r\n" + body + b"\r\n0\r\n\r\n"):
        sock = s.raw_socket()
        sock.sendall(raw_request(s, "POST", "/admin/keys/admin/rotate",
                                 te_body, ctype="application/json",
                                 extra=[("Transfer-Encoding", "chunked")]))
        got = read_all(sock)
        sock.close()
        assert got and got[0].startswith(b"HTTP/1.1 411"), got
    assert s.call("GET", "/api/whoami").json()["version"] == 1


def test_malformed_content_length_and_header_names_are_400():
    s = server()
    for cl in ("1 0", "+2", "0x2", "-1"):
        sock = s.raw_socket()
        sock.sendall(raw_request(s, "POST", "/api/data", b"{}",
                                 ctype="application/json",
                                 extra=[("Content-Length", cl)]))
        got = read_all(sock)
        sock.close()
        assert got and got[0][:12] in (b"HTTP/1.1 400", b"HTTP/1.1 411"), \
            (cl, got)
    sock = s.raw_socket()
    sock.sendall(raw_request(s, "GET", "/api/whoami",
                             extra=[("Bad Name", "v")]))
    got = read_all(sock)
    sock.close()
    assert got and got[0].startswith(b"HTTP/1.1 400"), got


def test_head_reply_has_no_body():
    s = server()
    sock = s.raw_socket()
    sock.sendall(raw_request(s, "HEAD", "/api/whoami") +
                 raw_request(s, "GET", "/api/health"))
    sock.settimeout(5)
    data = b""
    while data.count(b"HTTP/1.1 ") < 2 or not data.endswith(b"}"):
        d = sock.recv(65536)
        if not d:
            break
        data += d
    sock.close()
    first, second = data.split(b"HTTP/1.1 ")[1:3]
    assert first.startswith(b"405") or first.startswith(b"404") or \
        first.startswith(b"401"), first
    assert first.endswith(b"\r\n\r\n"), first
    assert second.startswith(b"200"), second


def test_body_after_100_continue_pause_reaches_the_handler():
    s = Server("continue", args=["--threads", "3"]).start()
    try:
        body = b'{"slow":true}'
        sock = s.raw_socket()
        sock.sendall(raw_request(s, "POST", "/api/data", body,
                                 ctype="application/json",
                                 extra=[("Content-Length", str(len(body))),
                                        ("Expect", "100-continue")]))
        sock.settimeout(5)
        first = sock.recv(4096)
        assert first.startswith(b"HTTP/1.1 100"), first
        time.sleep(2.5)          # past the front end's idle release
        sock.sendall(body)
        got = read_all(sock)
        sock.close()
        assert got and got[0].startswith(b"HTTP/1.1 200"), got
        assert b'"slow":true' in got[0]
    finally:
        s.stop()


def test_unsigned_large_body_is_refused_before_it_is_read():
    s = server()
    sock = s.raw_socket()
    head = raw_request(s, "POST", "/api/data", b"", signed=False,
                       extra=[("Content-Length", str(1024 * 1024))])
    sock.sendall(head)       # headers only: the body never comes
    t0 = time.time()
    got = read_all(sock, timeout=5)
    sock.close()
    assert got and got[0].startswith(b"HTTP/1.1 401"), got
    assert time.time() - t0 < 3
    assert b"Connection: close" in got[0]


def test_partial_request_heads_do_not_pin_the_workers():
    s = Server("slowheads", args=["--threads", "4"]).start()
    pinned = []
    try:
        for _ in range(8):      # twice as many as there are workers
            p = s.raw_socket(timeout=15)
            p.sendall(b"GET /api/whoami HTTP/1.1\r\nHost: x\r\n")
            pinned.append(p)
        time.sleep(0.5)
        t0 = time.time()
        s.close_conn()
        r = s.call("GET", "/api/whoami")
        # Stalled heads get no worker: a whole request is served at once.
        assert r.status == 200, r
        assert time.time() - t0 < 2, time.time() - t0
        closed = 0
        for p in pinned:
            p.settimeout(10)
            try:
                if p.recv(1) == b"":
                    closed += 1
            except OSError:
                closed += 1
        assert closed == len(pinned), closed
    finally:
        for p in pinned:
            p.close()
        s.stop()


def test_json_with_too_many_values_is_400():
    s = server()
    ok = b"[" + b",".join([b"1"] * 20000) + b"]"
    r = s.call("POST", "/api/data", ok)
    assert r.status == 200, r
    big = b"[" + b",".join([b"{}"] * 20001) + b"]"
    r = s.call("POST", "/api/data", big)
    assert r.status == 400 and r.json()["error"] == "invalid_json", r
    # Commas inside strings are not values.
    r = s.call("POST", "/api/data", json.dumps({"s": "," * 50000}))
    assert r.status == 200, r
    alive(s)


def test_a_one_second_window_needs_few_nonce_tables():
    s = Server("window1", args=["--window", "1"]).start()
    try:
        for _ in range(5):
            assert s.call("GET", "/api/whoami").status == 200
        db = sqlite3.connect(os.path.join(s.data_dir, "apiserver.db"))
        n = db.execute("SELECT count(*) FROM sqlite_schema WHERE type = "
                       "'table' AND name LIKE 'nonce\\_%' ESCAPE '\\'"
                       ).fetchone()[0]
        db.close()
        assert 1 <= n <= 2, n
    finally:
        s.stop()


def test_a_head_split_over_tls_records_is_still_served():
    s = server()
    h = s.signed_headers("GET", "/api/whoami")
    req = ("GET /api/whoami HTTP/1.1\r\n" + "".join(
        "%s: %s\r\n" % kv for kv in h) + "\r\n").encode()
    sock = s.raw_socket(timeout=15)
    sock.sendall(req[:40])       # one TLS record ...
    time.sleep(0.3)
    sock.sendall(req[40:])       # ... and the rest in another
    got = read_all(sock, timeout=15)
    sock.close()
    assert got and got[0].startswith(b"HTTP/1.1 200"), got
