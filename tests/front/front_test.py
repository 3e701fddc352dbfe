#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Exercise the front end through tests/front/front_harness on 127.0.0.1.

usage: front_test.py HARNESS CERT KEY [WRAPPER...]
Every loop is bounded in count and time; every socket goes to 127.0.0.1.
"""
import http.client
import os
import socket
import ssl
import subprocess
import sys
import threading
import time

HARNESS, CERT, KEY = sys.argv[1:4]
WRAP = sys.argv[4:]
FAILS = []


def check(name, cond, detail=""):
    print(("ok   " if cond else "FAIL ") + name + (" " + detail if detail else ""))
    if not cond:
        FAILS.append(name)


class Harness:
    def __init__(self, *args):
        cmd = WRAP + [HARNESS, "--cert", CERT, "--key", KEY] + list(args)
        self.p = subprocess.Popen(cmd, stdout=subprocess.PIPE,
                                  stderr=open("/tmp/fh/harness.%d.log" % os.getpid(), "a"),
                                  text=True)
        line = self.p.stdout.readline().split()
        self.port, self.backend = int(line[1]), int(line[3])

    def stop(self):
        self.p.send_signal(2)
        try:
            return self.p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.p.kill()
            return -1


def ctx():
    c = ssl.create_default_context(cafile=CERT)
    c.check_hostname = False
    return c


def https(port, timeout=10):
    return http.client.HTTPSConnection("127.0.0.1", port, timeout=timeout,
                                       context=ctx())


def get(port, path="/", body=None, timeout=10):
    h = https(port, timeout)
    h.request("POST" if body is not None else "GET", path, body=body)
    r = h.getresponse()
    data = r.read()
    h.close()
    return r.status, data


def basic(port, backend):
    st, data = get(port)
    check("GET through TLS", st == 200 and data.startswith(b"hello 127.0.0.1:"), repr(data[:40]))
    h = https(port)
    ok = 0
    for i in range(100):
        h.request("GET", "/k%d" % i)
        r = h.getresponse()
        if r.status == 200 and r.read().startswith(b"hello"):
            ok += 1
    h.close()
    check("100 keep-alive requests on one connection", ok == 100, str(ok))
    big = os.urandom(1024 * 1024)
    st, data = get(port, "/echo", big, timeout=30)
    check("1 MiB POST echo", st == 200 and data == big, str(len(data)))
    t0 = time.time()
    try:
        st, data = get(port, "/reject", os.urandom(4 * 1024 * 1024), timeout=15)
    except Exception as e:  # noqa
        st, data = repr(e), b""
    check("fw_front_finish: 413 reaches the client, body unread", st == 413 and data == b"too big\n",
          "%r %.2fs" % (st, time.time() - t0))
    s = socket.create_connection(("127.0.0.1", backend), timeout=5)
    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    got = b""
    try:
        while True:
            b = s.recv(4096)
            if not b:
                break
            got += b
    except socket.timeout:
        pass
    s.close()
    check("direct backend connect refused", b"hello" not in got and (got == b"" or b" 403 " in got), repr(got[:30]))


def concurrent(port, n=200):
    res = []
    lock = threading.Lock()

    def one():
        try:
            st, data = get(port, timeout=30)
            ok = st == 200 and data.startswith(b"hello")
        except Exception as e:  # noqa
            ok = False
        with lock:
            res.append(ok)
    ts = [threading.Thread(target=one) for _ in range(n)]
    t0 = time.time()
    for t in ts:
        t.start()
    for t in ts:
        t.join(60)
    check("%d concurrent clients" % n, sum(res) == n, "%d/%d in %.2fs" % (sum(res), n, time.time() - t0))


def abuse(port, hs_ms):
    socks = []
    for i in range(20):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.sendall(os.urandom(300))
        socks.append(s)
    for i in range(20):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        # a ClientHello header announcing 512 bytes, then only a few
        s.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + os.urandom(20))
        socks.append(s)
    for i in range(20):
        socks.append(socket.create_connection(("127.0.0.1", port), timeout=5))
    t0 = time.time()
    st, data = get(port)
    dt = time.time() - t0
    check("good client served during abuse", st == 200 and dt < hs_ms / 1000.0, "%.3fs" % dt)
    closed = 0
    deadline = time.time() + hs_ms / 1000.0 + 3
    for s in socks:
        s.settimeout(max(0.1, deadline - time.time()))
        try:
            while s.recv(4096):
                pass
            closed += 1
        except ConnectionResetError:
            closed += 1
        except socket.timeout:
            pass
        s.close()
    check("60 abusive connections dropped by the handshake timeout", closed == 60, "%d/60" % closed)


def openssl_cases(port):
    def sc(*args, stdin=b""):
        p = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % port] + list(args),
                           input=stdin, capture_output=True, timeout=10)
        return p.stdout.decode(errors="replace") + p.stderr.decode(errors="replace")
    out = sc("-tls1_2")
    check("s_client -tls1_2", "Cipher is ECDHE-" in out and "GCM" in out)
    check("X25519 preferred", "Server Temp Key: X25519" in out)
    out = sc("-tls1_1")
    check("s_client -tls1_1 refused", "Cipher is (NONE)" in out)
    out = sc("-tls1_2", "-cipher", "AES128-SHA")
    check("s_client -cipher AES128-SHA refused", "Cipher is (NONE)" in out)
    out = sc("-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA")
    check("s_client -cipher ECDHE-*-AES128-SHA refused", "Cipher is (NONE)" in out)
    out = sc("-tls1_2", "-cipher", "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305")
    check("ChaCha20 when the client only offers it", "CHACHA20" in out)
    out = sc("-tls1_2", "-reconnect")
    check("session resumption (-reconnect)", out.count("Reused, TLSv1.2") == 5, str(out.count("Reused")))
    out = sc("-tls1_2", "-legacy_renegotiation", stdin=b"R\n")
    check("renegotiation refused", "Cipher is ECDHE" in out)


def slots_keepalive(n=16, rounds=5):
    h = Harness("--civet-threads", "4", "--slots", "3", "--queue-ms", "5000")
    res = []
    lock = threading.Lock()

    def one(i):
        ok = 0
        try:
            c = https(h.port, 30)
            for r in range(rounds):
                c.request("GET", "/c%d/%d" % (i, r))
                resp = c.getresponse()
                if resp.status == 200 and resp.read().startswith(b"hello"):
                    ok += 1
                time.sleep(0.05)
            c.close()
        except Exception as e:  # noqa
            print("   client %d: %r" % (i, e))
        with lock:
            res.append(ok)
    ts = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    t0 = time.time()
    for t in ts:
        t.start()
    for t in ts:
        t.join(60)
    check("%d keep-alive clients over 3 backend slots" % n, sum(res) == n * rounds,
          "%d/%d in %.2fs" % (sum(res), n * rounds, time.time() - t0))
    check("clean stop (slots)", h.stop() == 0)


def busy_503():
    h = Harness("--civet-threads", "2", "--slots", "1", "--queue-ms", "300")
    out = {}

    def slow():
        out["slow"] = get(h.port, "/slow?ms=1500", timeout=10)
    t = threading.Thread(target=slow)
    t.start()
    time.sleep(0.3)
    t0 = time.time()
    st, data = get(h.port, "/fast")
    dt = time.time() - t0
    t.join(10)
    check("503 busy when no slot frees in time", st == 503 and data == b'{"error":"busy"}' and dt < 1.2,
          "%d %r %.2fs" % (st, data, dt))
    check("slow request still answered", out.get("slow", (0,))[0] == 200)
    check("clean stop (503)", h.stop() == 0)


def limits():
    h = Harness("--max-conn", "5", "--idle-ms", "600", "--hs-ms", "5000")
    conns = [ctx().wrap_socket(socket.create_connection(("127.0.0.1", h.port), timeout=5)) for _ in range(5)]
    s = socket.create_connection(("127.0.0.1", h.port), timeout=3)
    try:
        extra = s.recv(10)
    except ConnectionResetError:
        extra = b""
    check("connection N+1 closed at max_connections", extra == b"")
    s.close()
    time.sleep(1.2)
    dead = 0
    for c in conns:
        c.settimeout(2)
        try:
            if c.recv(10) == b"":
                dead += 1
        except (ssl.SSLError, ConnectionResetError, OSError):
            dead += 1
        c.close()
    check("idle TLS connections dropped after idle_timeout", dead == 5, "%d/5" % dead)
    st, _ = get(h.port)
    check("server fine after limits", st == 200)
    check("clean stop (limits)", h.stop() == 0)


def plain_halfclose():
    p = subprocess.Popen(WRAP + [HARNESS, "--plain"], stdout=subprocess.PIPE, text=True,
                         stderr=open("/tmp/fh/harness.%d.log" % os.getpid(), "a"))
    port = int(p.stdout.readline().split()[1])
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(b"POST /h HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello")
    s.shutdown(socket.SHUT_WR)
    got = b""
    try:
        while True:
            b = s.recv(4096)
            if not b:
                break
            got += b
    except socket.timeout:
        got += b"<timeout>"
    s.close()
    check("plain half-close: response then EOF", got.endswith(b"\r\n\r\nhello"), repr(got[-20:]))
    p.send_signal(2)
    check("clean stop (plain)", p.wait(timeout=30) == 0)


def main():
    h = Harness("--hs-ms", "3000")
    basic(h.port, h.backend)
    openssl_cases(h.port)
    concurrent(h.port)
    abuse(h.port, 3000)
    st, _ = get(h.port)
    check("server fine after abuse", st == 200)
    check("clean stop (main)", h.stop() == 0)
    slots_keepalive()
    busy_503()
    limits()
    plain_halfclose()
    print("%d failure(s)" % len(FAILS))
    sys.exit(1 if FAILS else 0)


main()
