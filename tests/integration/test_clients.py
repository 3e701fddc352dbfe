"""Issue 5: the client tools (`apiserver call`, `apiserver sign`) and the
examples in examples/, against the real binary over TLS.

Every request goes to a server this file starts on 127.0.0.1.  The one
non-loopback address below (192.0.2.1, TEST-NET-1) is only ever an
argument that `call` must refuse before resolving or connecting."""
import json
import os
import re
import shutil
import subprocess
import time

import lib
from lib import Server

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
VECTORS = os.path.join(ROOT, "docs", "v1-vectors.json")
S = None
OTHER = None


def server():
    global S
    if S is None:
        S = Server("clients", args=["--max-body", "2097152"]).start()
        S.admin()    # registers the secret in lib.SECRETS
    return S


def other_server():
    global OTHER
    if OTHER is None:
        OTHER = Server("clients-other").start()
        OTHER.admin()
    return OTHER


def teardown():
    for s in (S, OTHER):
        if s is not None:
            assert s.stop() == 0


def scheme(s):
    return "https" if s.tls else "http"


def url(s, target):
    return "%s://%s%s" % (scheme(s), s.host, target)


def cred_path(s):
    return os.path.join(s.data_dir, "admin.credential")


def env_clean():
    env = dict(os.environ)
    env.pop("APISERVER_CREDENTIAL", None)
    return env


def run(args, timeout=60, stdin=None, env=None):
    return subprocess.run(args, capture_output=True, timeout=timeout,
                          stdin=stdin if stdin is not None
                          else subprocess.DEVNULL,
                          env=env or env_clean())


def call(s, *args, cacert=True, cred=None):
    cmd = [lib.BIN, "call", "--credential", cred or cred_path(s)]
    if cacert and s.tls:
        cmd += ["--cacert", s.cafile]
    return run(cmd + list(args))


def access_status(s, request_id, timeout=5):
    """The status the server logged for request_id."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        for line in s.log().splitlines():
            if "access" in line and "id=" + request_id in line:
                return int(re.search(r"status=(\d+)", line).group(1))
        time.sleep(0.05)
    raise AssertionError("no access line for " + request_id)


def assert_body_reached_handler(s, p):
    """400 invalid_json from the handler: the signature verified."""
    assert p.returncode == 22, (p.returncode, p.stderr)
    assert b"HTTP 400" in p.stderr, p.stderr
    r = json.loads(p.stdout)
    assert r["error"] == "invalid_json", r
    assert access_status(s, r["request_id"]) == 400


# ------------------------------------------------------------ refusals

def test_call_refuses_plain_http_to_non_loopback_before_connecting():
    for host in ("192.0.2.1", "apiserver-test.invalid"):
        t0 = time.time()
        p = run([lib.BIN, "call", "--credential", cred_path(server()),
                 "GET", "http://%s:8080/api/whoami" % host])
        assert p.returncode == 1, p
        assert b"refusing plain http://" in p.stderr, p.stderr
        assert b"not a loopback" in p.stderr, p.stderr
        assert time.time() - t0 < 2
        assert p.stdout == b""


def test_call_usage_errors_are_exit_2():
    s = server()
    for args in (["GET"], ["G E T", url(s, "/")], ["GET", "ftp://x/"],
                 ["GET", url(s, "/a b")], ["GET", url(s, "/#frag")],
                 ["-H", "X-Nonce: abc", "GET", url(s, "/")],
                 ["-H", "Bad Header", "GET", url(s, "/")],
                 ["--insecure", "--cacert", "x", "GET", url(s, "/")],
                 ["--nope", "GET", url(s, "/")]):
        p = run([lib.BIN, "call", "--credential", cred_path(s)] + args)
        assert p.returncode == 2, (args, p)
        assert p.stderr.startswith(b"apiserver call: "), (args, p.stderr)


def test_call_missing_credential_is_exit_1():
    s = server()
    p = run([lib.BIN, "call", "--credential", "/nonexistent/cred",
             "GET", url(s, "/api/whoami")])
    assert p.returncode == 1 and b"cannot read" in p.stderr, p


# ---------------------------------------------------------- call works

def test_call_get_and_post_succeed():
    s = server()
    p = call(s, "GET", url(s, "/api/whoami?x=1&y=a+b"))
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout) == {"key_id": "admin", "version": 1,
                                    "role": "admin"}
    assert p.stderr.strip() == b"HTTP 200", p.stderr
    body = {"temp": 21.5, "tags": ["a", "\u00e9"]}
    p = call(s, "-d", json.dumps(body), "POST", url(s, "/api/data"))
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout) == {"status": "ok", "received": body}


def test_call_include_shows_head():
    s = server()
    p = call(s, "-i", "GET", url(s, "/api/health"))
    assert p.returncode == 0, p.stderr
    head, _, body = p.stdout.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head
    assert re.search(rb"(?i)x-request-id: [0-9a-f]{20}", head), head
    assert json.loads(body)["status"] == "ok"


def test_call_reads_credential_from_env():
    s = server()
    env = env_clean()
    env["APISERVER_CREDENTIAL"] = cred_path(s)
    cmd = [lib.BIN, "call"] + (["--cacert", s.cafile] if s.tls else []) + \
        ["GET", url(s, "/api/whoami")]
    p = run(cmd, env=env)
    assert p.returncode == 0, p.stderr


def test_call_http_error_is_exit_22_with_body():
    s = server()
    p = call(s, "-d", "{not json", "POST", url(s, "/api/data"))
    assert_body_reached_handler(s, p)


def test_call_binary_1mib_body_arrives_intact():
    s = server()
    path = os.path.join(lib.TMP_ROOT, "random.bin")
    with open(path, "wb") as f:
        f.write(os.urandom(1 << 20))
    p = call(s, "-d", "@" + path, "-H",
             "Content-Type: application/octet-stream", "POST",
             url(s, "/api/data"))
    assert_body_reached_handler(s, p)


def test_call_crlf_body_and_bom_body_are_signed_as_sent():
    s = server()
    cases = {"crlf.txt": b'{"a":\r\n1,\r\n"b":"x\r\n',
             "bom.json": b'\xef\xbb\xbf{"a":1}',
             "nul.bin": b'{"a":\x00\r\n}'}
    for name, data in cases.items():
        path = os.path.join(lib.TMP_ROOT, name)
        with open(path, "wb") as f:
            f.write(data)
        p = call(s, "-d", "@" + path, "POST", url(s, "/api/data"))
        assert p.returncode in (0, 22), (name, p.stderr)
        r = json.loads(p.stdout)
        # 200 (accepted) or 400 (handler refused it): never 401.
        status = 200 if p.returncode == 0 else 400
        assert b"HTTP %d" % status in p.stderr, (name, p.stderr)
        if status == 400:
            assert r["error"] == "invalid_json", (name, r)
            assert access_status(s, r["request_id"]) == 400


def test_call_body_from_stdin():
    s = server()
    cmd = [lib.BIN, "call", "--credential", cred_path(s)] + \
        (["--cacert", s.cafile] if s.tls else []) + \
        ["-d", "@-", "POST", url(s, "/api/data")]
    p = subprocess.run(cmd, input=b'{"from":"stdin"}', capture_output=True,
                       timeout=30, env=env_clean())
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["received"] == {"from": "stdin"}


# ----------------------------------------------------------------- TLS

def test_call_untrusted_certificate_fails_clearly():
    s = server()
    if not s.tls:
        raise lib.Skip("plain mode")
    o = other_server()
    p = run([lib.BIN, "call", "--credential", cred_path(o), "--cacert",
             s.cafile, "GET", url(o, "/api/whoami")])
    assert p.returncode == 1, p
    assert p.stdout == b""
    assert re.match(rb"apiserver call: TLS error: certificate not trusted "
                    rb"\(BearSSL error 62: X509", p.stderr), p.stderr


def test_call_insecure_accepts_any_certificate():
    o = other_server()
    if not o.tls:
        raise lib.Skip("plain mode")
    p = run([lib.BIN, "call", "--credential", cred_path(o), "--insecure",
             "GET", url(o, "/api/whoami")])
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["key_id"] == "admin"


def test_call_checks_the_name_localhost_and_ip():
    s = server()
    if not s.tls:
        raise lib.Skip("plain mode")
    for host in ("localhost", "127.0.0.1"):
        p = call(s, "GET", "https://%s:%d/api/whoami" % (host, s.port))
        assert p.returncode == 0, (host, p.stderr)


def test_call_with_garbage_cacert_fails():
    s = server()
    if not s.tls:
        raise lib.Skip("plain mode")
    path = os.path.join(lib.TMP_ROOT, "not-a-cert.pem")
    with open(path, "w") as f:
        f.write("hello\n")
    p = run([lib.BIN, "call", "--credential", cred_path(s), "--cacert",
             path, "GET", url(s, "/api/whoami")])
    assert p.returncode == 1 and b"no certificate" in p.stderr, p


# ---------------------------------------------------------------- sign

def test_sign_then_curl():
    s = server()
    if not shutil.which("curl"):
        raise lib.Skip("curl is not installed")
    body = os.path.join(lib.TMP_ROOT, "sign-body.json")
    with open(body, "wb") as f:
        f.write(b'{"via":"curl"}')
    for method, target, extra in (("GET", "/api/whoami?x=1&y=a+b", []),
                                  ("POST", "/api/data",
                                   ["--data-binary", "@" + body])):
        hfile = os.path.join(lib.TMP_ROOT, "headers.txt")
        cmd = [lib.BIN, "sign", "--credential", cred_path(s)]
        if extra:
            cmd += ["-d", "@" + body]
        p = run(cmd + [method, url(s, target)])
        assert p.returncode == 0, p.stderr
        names = [l.split(":", 1)[0] for l in p.stdout.decode().splitlines()]
        want = ["Host", "X-Key-Id", "X-Key-Version", "X-Timestamp",
                "X-Nonce", "X-API-Signature"]
        assert names == want + (["Content-Type"] if extra else []), names
        with open(hfile, "wb") as f:
            f.write(p.stdout)
        c = ["curl", "-sS", "--max-time", "20", "-H", "@" + hfile,
             "-X", method] + extra
        if s.tls:
            c += ["--cacert", s.cafile]
        c.append(url(s, target))
        r = run(c)
        assert r.returncode == 0, r.stderr
        data = json.loads(r.stdout)
        assert "error" not in data, data


def test_sign_raw_batch_requests_each_succeed_once():
    s = server()
    p = run([lib.BIN, "sign", "--credential", cred_path(s), "--raw",
             "--batch", "3", "-d", '{"n":1}', "POST", url(s, "/api/data")])
    assert p.returncode == 0, p.stderr
    reqs, rest = [], p.stdout
    while rest:
        head, _, rest = rest.partition(b"\r\n\r\n")
        n = int(re.search(rb"Content-Length: (\d+)", head).group(1))
        reqs.append(head + b"\r\n\r\n" + rest[:n])
        rest = rest[n:]
    assert len(reqs) == 3
    nonces = {re.search(rb"X-Nonce: (\S+)", r).group(1) for r in reqs}
    assert len(nonces) == 3
    for r in reqs:
        out = s.raw(r)
        assert out.startswith(b"HTTP/1.1 200"), out[:200]
    # A replay of the first is refused: each request is good exactly once.
    assert s.raw(reqs[0]).startswith(b"HTTP/1.1 401")


def test_sign_batch_is_bounded():
    s = server()
    p = run([lib.BIN, "sign", "--credential", cred_path(s), "--raw",
             "--batch", "10000001", "GET", url(s, "/")])
    assert p.returncode == 2 and p.stdout == b"", p


# ------------------------------------------------------------ examples

def example_cmd(kind):
    if kind == "python":
        return ["/usr/bin/python3",
                os.path.join(ROOT, "examples", "python", "client.py")]
    if kind == "shell":
        for tool in ("curl", "openssl", "base64"):
            if not shutil.which(tool):
                raise lib.Skip("%s is not installed" % tool)
        return ["/bin/sh", os.path.join(ROOT, "examples", "shell",
                                        "client.sh")]
    node = shutil.which("node") or shutil.which("nodejs")
    if not node:
        raise lib.Skip("node is not installed")
    return [node, os.path.join(ROOT, "examples", "node", "client.js")]


def run_example(kind):
    s = server()
    cmd = example_cmd(kind) + ["--credential", cred_path(s)]
    if s.tls:
        cmd += ["--cacert", s.cafile]
    p = run(cmd + ["%s://%s" % (scheme(s), s.host)])
    assert p.returncode == 0, (kind, p.stdout[-2000:], p.stderr[-2000:])
    out = p.stdout.decode()
    assert '"key_id":"admin"' in out.replace(" ", ""), out
    assert '"status":"ok"' in out.replace(" ", ""), out


def run_vectors(kind):
    p = run(example_cmd(kind) + ["--vectors", VECTORS])
    assert p.returncode == 0, (kind, p.stdout[-2000:], p.stderr[-2000:])
    n = len(json.load(open(VECTORS))["vectors"])
    assert ("%d/%d" % (n, n)).encode() in p.stdout, p.stdout


def run_vectors_detects_a_wrong_one(kind):
    with open(VECTORS) as f:
        data = json.load(f)
    data["vectors"][0]["signature"] = "0" * 64
    bad = os.path.join(lib.TMP_ROOT, "bad-vectors-%s.json" % kind)
    with open(bad, "w") as f:
        json.dump(data, f)
    p = run(example_cmd(kind) + ["--vectors", bad])
    assert p.returncode != 0, (kind, p.stdout)


def test_example_python():
    run_example("python")


def test_example_shell():
    run_example("shell")


def test_example_node():
    run_example("node")


def test_example_vectors_python():
    run_vectors("python")
    run_vectors_detects_a_wrong_one("python")


def test_example_vectors_shell():
    run_vectors("shell")
    run_vectors_detects_a_wrong_one("shell")


def test_example_vectors_node():
    run_vectors("node")
    run_vectors_detects_a_wrong_one("node")


def test_shell_example_is_posix():
    if not shutil.which("shellcheck"):
        raise lib.Skip("shellcheck is not installed")
    p = run(["shellcheck", "-s", "sh",
             os.path.join(ROOT, "examples", "shell", "client.sh")])
    assert p.returncode == 0, p.stdout.decode()[-3000:]


def test_vectors_file_matches_python_and_c():
    """Every vector's canonical string and signature, recomputed here."""
    import base64
    with open(VECTORS) as f:
        data = json.load(f)
    assert data["scheme"] == "APIHMAC1" and len(data["vectors"]) >= 8
    for v in data["vectors"]:
        body = base64.b64decode(v["body_base64"])
        path, _, query = v["target"].partition("?")
        canon = lib.canonical(v["method"], v["host"], path, query,
                              v["content_type"], v["key_id"],
                              v["key_version"], v["timestamp"], v["nonce"],
                              body)
        assert canon == v["canonical"], v["description"]
        import hashlib
        import hmac
        sig = hmac.new(v["secret"].encode(), canon.encode(),
                       hashlib.sha256).hexdigest()
        assert sig == v["signature"], v["description"]


def test_call_max_time_bounds_a_dripping_server():
    """A server that sends one byte a second cannot hold call past
    --max-time (a local test server of our own on 127.0.0.1)."""
    import socket
    import threading
    s = server()
    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(1)
    port = lsock.getsockname()[1]
    stop = threading.Event()

    def drip():
        conn, _ = lsock.accept()
        conn.recv(65536)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n")
        for _ in range(30):
            if stop.is_set():
                break
            try:
                conn.sendall(b"x")
            except OSError:
                break
            time.sleep(1)
        conn.close()

    t = threading.Thread(target=drip, daemon=True)
    t.start()
    t0 = time.time()
    p = run([lib.BIN, "call", "--credential", cred_path(s), "--max-time",
             "2", "GET", "http://127.0.0.1:%d/api/whoami" % port])
    took = time.time() - t0
    stop.set()
    lsock.close()
    assert p.returncode == 1, p
    assert b"timed out" in p.stderr, p.stderr
    assert took < 8, took
