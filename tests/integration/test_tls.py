"""Issue 3: TLS in front of civetweb, checked with curl, openssl s_client
and Python clients.  Every connection goes to 127.0.0.1."""
import concurrent.futures
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import time

import lib
from lib import Server

S = None


def server():
    global S
    if S is None:
        S = Server("tls", tls=True,
                   args=["--handshake-timeout", "2000"]).start()
    return S


def teardown():
    if S is not None:
        assert S.stop() == 0


def need(tool):
    if shutil.which(tool) is None:
        raise lib.Skip("%s is not installed" % tool)


def s_client(s, *args, data=b"", timeout=20):
    need("openssl")
    return subprocess.run(["openssl", "s_client", "-connect", s.host,
                           "-servername", "localhost", "-CAfile", s.cafile,
                           *args], input=data, capture_output=True,
                          timeout=timeout)


def test_curl_cacert_gets_signed_200():
    need("curl")
    s = server()
    h = s.signed_headers("GET", "/api/whoami")
    cmd = ["curl", "-sS", "--cacert", s.cafile, "-o", "-", "-w",
           "\n%{http_code}", "https://127.0.0.1:%d/api/whoami" % s.port]
    for k, v in h:
        if k != "Host":
            cmd += ["-H", "%s: %s" % (k, v)]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    body, code = p.stdout.rsplit("\n", 1)
    assert code == "200", p.stdout
    assert json.loads(body)["key_id"] == "admin"
    # Without the CA, curl refuses the self-signed certificate.
    p = subprocess.run(["curl", "-sS", "https://127.0.0.1:%d/" % s.port],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode != 0


def test_only_tls12_is_offered():
    s = server()
    p = s_client(s, "-tls1_2")
    assert p.returncode == 0, p.stderr
    assert b"Protocol  : TLSv1.2" in p.stdout or b"TLSv1.2" in p.stdout
    assert b"Verify return code: 0 (ok)" in p.stdout
    p = s_client(s, "-tls1_1")
    assert p.returncode != 0
    p = s_client(s, "-tls1_3")
    assert p.returncode != 0


def test_cbc_and_rsa_key_exchange_suites_are_refused():
    s = server()
    for suite in ("ECDHE-ECDSA-AES128-SHA", "ECDHE-ECDSA-AES256-SHA384",
                  "AES128-GCM-SHA256", "ECDHE-ECDSA-DES-CBC3-SHA"):
        p = s_client(s, "-tls1_2", "-cipher", suite)
        assert p.returncode != 0, suite
    for suite in ("ECDHE-ECDSA-AES128-GCM-SHA256",
                  "ECDHE-ECDSA-CHACHA20-POLY1305"):
        p = s_client(s, "-tls1_2", "-cipher", suite)
        assert p.returncode == 0, (suite, p.stderr)


def test_session_is_resumed():
    s = server()
    sess = os.path.join(lib.TMP_ROOT, "tls.sess")
    p = s_client(s, "-tls1_2", "-sess_out", sess)
    assert p.returncode == 0 and b"New, " in p.stdout
    p = s_client(s, "-tls1_2", "-sess_in", sess)
    assert p.returncode == 0
    assert b"Reused, " in p.stdout, p.stdout[-800:]


def test_keepalive_carries_100_requests_on_one_connection():
    s = server()
    s.close_conn()
    s.call("GET", "/api/health")
    sock = s.conn.sock
    for i in range(100):
        r = s.call("GET", "/api/whoami?i=%d" % i)
        assert r.status == 200, (i, r)
        assert s.conn is not None and s.conn.sock is sock


def test_1mib_signed_post_round_trips():
    s = server()
    payload = {"blob": "z" * (1024 * 1024 - 11)}
    body = json.dumps(payload, separators=(",", ":")).encode()
    assert len(body) == 1024 * 1024
    r = s.call("POST", "/api/data", body)
    assert r.status == 200, r
    assert r.json()["received"] == payload


def test_200_concurrent_tls_clients():
    s = server()
    cred = s.admin()

    def one(i):
        c = s.clone()
        try:
            return c.call("GET", "/api/whoami?c=%d" % i, cred=cred).status
        finally:
            c.close_conn()

    with concurrent.futures.ThreadPoolExecutor(200) as ex:
        statuses = list(ex.map(one, range(200), timeout=120))
    assert statuses == [200] * 200, sorted(set(statuses))


def test_bad_clients_do_not_delay_a_good_one():
    s = server()
    bad = []
    try:
        for i in range(20):        # garbage instead of a ClientHello
            b = socket.create_connection(("127.0.0.1", s.port), 5)
            b.sendall(os.urandom(512))
            bad.append(b)
        for i in range(20):        # stop mid-handshake
            b = socket.create_connection(("127.0.0.1", s.port), 5)
            b.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")
            bad.append(b)
        for i in range(20):        # connect and stay silent
            bad.append(socket.create_connection(("127.0.0.1", s.port), 5))
        t0 = time.time()
        s.close_conn()
        r = s.call("GET", "/api/whoami")
        took = time.time() - t0
        assert r.status == 200
        # Handshake timeout is 2 s here; a good client must not wait it.
        assert took < 2.0, took
        # The silent and half-done ones are dropped after the timeout.
        time.sleep(3)
        closed = 0
        for b in bad:
            b.settimeout(1)
            try:
                # Garbage that starts like a plain HTTP request gets a
                # short 400 before the close; read to the end.
                for _ in range(8):
                    if b.recv(4096) == b"":
                        closed += 1
                        break
            except socket.timeout:
                pass
            except OSError:
                closed += 1
        assert closed == 60, closed
    finally:
        for b in bad:
            b.close()


def test_private_civetweb_port_refuses_direct_connections():
    s = server()
    m = re.search(r"-> 127\.0\.0\.1:(\d+)", s.log())
    assert m, "front end did not log its backend port"
    port = int(m.group(1))
    c = socket.create_connection(("127.0.0.1", port), 5)
    c.settimeout(3)
    c.sendall(b"GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n")
    try:
        data = c.recv(4096)
    except socket.timeout:
        data = b""
    c.close()
    assert not data.startswith(b"HTTP/1.1 2"), data
    assert b"api" not in data and b"status" not in data, data
    assert "no front-end connection owns" in s.log()


def test_threads_4_with_16_keepalive_clients_all_answered():
    s = Server("tls-threads4", args=["--threads", "4"]).start()
    cred = s.admin()
    try:
        def client(i):
            c = s.clone()
            out = []
            try:
                for j in range(5):
                    out.append(c.call("GET", "/api/whoami?c=%d&j=%d"
                                      % (i, j), cred=cred).status)
            finally:
                c.close_conn()
            return out

        with concurrent.futures.ThreadPoolExecutor(16) as ex:
            results = list(ex.map(client, range(16), timeout=120))
        flat = [st for r in results for st in r]
        assert len(flat) == 80
        # Queued (200) or refused (503), never left hanging.
        assert set(flat) <= {200, 503}, set(flat)
        assert flat.count(200) >= 40, flat
    finally:
        s.stop()


def test_plain_http_only_on_loopback_and_warned():
    p = subprocess.run([lib.BIN, "--insecure-http", "--listen",
                        "0.0.0.0:0", "--data-dir",
                        os.path.join(lib.TMP_ROOT, "plain-refused")],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 2 and "loopback" in p.stderr, p
    s = Server("plain", tls=False).start()
    try:
        assert s.call("GET", "/api/whoami").status == 200
        assert "PLAIN HTTP" in s.log()
    finally:
        s.stop()


def test_cert_verb_makes_a_certificate_openssl_accepts():
    need("openssl")
    out = os.path.join(lib.TMP_ROOT, "certverb")
    p = subprocess.run([lib.BIN, "cert", "--out", out, "--name",
                        "edge.example.test", "--name", "127.0.0.1",
                        "--name", "::1"], capture_output=True, text=True,
                       timeout=30)
    assert p.returncode == 0, p.stderr
    cert, key = os.path.join(out, "cert.pem"), os.path.join(out, "key.pem")
    assert os.stat(key).st_mode & 0o777 == 0o600
    p = subprocess.run(["openssl", "verify", "-CAfile", cert, cert],
                       capture_output=True, text=True)
    assert p.returncode == 0 and "OK" in p.stdout, p
    p = subprocess.run(["openssl", "x509", "-in", cert, "-noout", "-text"],
                       capture_output=True, text=True)
    assert "DNS:edge.example.test" in p.stdout
    assert "IP Address:127.0.0.1" in p.stdout
    assert "ecdsa-with-SHA256" in p.stdout
    assert "CA:FALSE" in p.stdout
    # And a server runs on it.
    s = Server("certverb-srv", args=["--cert", cert, "--key", key]).start()
    try:
        ctx = ssl.create_default_context(cafile=cert)
        with socket.create_connection(("127.0.0.1", s.port), 5) as raw:
            with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as t:
                assert t.version() == "TLSv1.2"
    finally:
        s.stop()


def test_bad_cert_files_refuse_start_with_message():
    d = os.path.join(lib.TMP_ROOT, "badcert")
    os.makedirs(d, exist_ok=True)
    junk = os.path.join(d, "junk.pem")
    with open(junk, "w") as f:
        f.write("not a certificate\n")
    p = subprocess.run([lib.BIN, "--listen", "127.0.0.1:0", "--data-dir", d,
                        "--cert", junk, "--key", junk],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 1 and "cannot start" in p.stderr, p
    p = subprocess.run([lib.BIN, "--listen", "127.0.0.1:0", "--data-dir", d,
                        "--cert", junk], capture_output=True, text=True,
                       timeout=30)
    assert p.returncode == 2 and "--key" in p.stderr, p


def test_plain_http_on_the_tls_port_gets_a_clear_answer():
    s = server()
    c = socket.create_connection(("127.0.0.1", s.port), 5)
    c.sendall(b"GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n")
    out = b""
    try:
        while True:
            d = c.recv(4096)
            if not d:
                break
            out += d
    except OSError:
        pass
    c.close()
    assert out.startswith(b"HTTP/1.1 400"), out
    assert out.endswith(b'{"error":"use_https"}\n'), out
    # The TLS port still serves TLS.
    s.close_conn()
    assert s.call("GET", "/api/health").status == 200


def test_rsa_certificate_and_pkcs1_key_serve_ecdhe_rsa():
    need("openssl")
    d = os.path.join(lib.TMP_ROOT, "rsa")
    os.makedirs(d)
    cert, k8, k1 = (os.path.join(d, n) for n in ("c.pem", "k8.pem",
                                                 "k1.pem"))
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048",
                    "-nodes", "-keyout", k8, "-out", cert, "-days", "2",
                    "-subj", "/CN=localhost", "-addext",
                    "subjectAltName=IP:127.0.0.1"], check=True,
                   capture_output=True, timeout=60)
    subprocess.run(["openssl", "rsa", "-in", k8, "-traditional", "-out",
                    k1], check=True, capture_output=True, timeout=60)
    for key in (k8, k1):
        s = Server("rsa-" + os.path.basename(key),
                   args=["--cert", cert, "--key", key]).start()
        try:
            ctx = ssl.create_default_context(cafile=cert)
            with socket.create_connection(("127.0.0.1", s.port), 5) as raw:
                with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as t:
                    assert t.cipher()[0].startswith("ECDHE-RSA-"), t.cipher()
            s.ssl_context = lambda: ssl.create_default_context(cafile=cert)
            assert s.call("GET", "/api/whoami").status == 200
        finally:
            s.stop()
