"""Helpers for the integration tests: start the real ./apiserver on a free
loopback port with a temporary data directory, sign requests with the v1
scheme, and send them over TLS (or plain HTTP where a test asks for it).

Every secret the tests see is remembered in SECRETS, so that the runner can
check at the end that none of them reached a server log.  Nothing here
talks to any address but 127.0.0.1.
"""
import hashlib
import hmac
import http.client
import json
import os
import re
import secrets
import signal
import socket
import ssl
import subprocess
import time

BIN = os.path.abspath("./apiserver")
TMP_ROOT = None
SECRETS = set()
LOGS = []
SKIPPED = []


class Skip(Exception):
    """Raised by a test that cannot run here (says why)."""


def canonical(method, host, path, query, ctype, key_id, version, ts, nonce,
              body):
    return "\n".join([
        "APIHMAC1", method, host.lower(), path, query, ctype or "",
        key_id, str(version), str(ts), nonce,
        hashlib.sha256(body).hexdigest(),
    ])


def sign(secret, *args):
    canon = canonical(*args)
    sig = hmac.new(secret.encode(), canon.encode(), hashlib.sha256).hexdigest()
    SECRETS.add(sig)     # never a secret, but never to be logged either
    return sig


def new_nonce():
    return secrets.token_urlsafe(18)


def read_credential(path):
    cred = {}
    with open(path) as f:
        for line in f:
            if "=" in line:
                k, v = line.strip().split("=", 1)
                cred[k] = v
    SECRETS.add(cred["secret"])
    return cred


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body)

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def __repr__(self):
        return "<%d %r>" % (self.status, self.body[:200])


class Server:
    """One ./apiserver process with its own data directory."""

    def __init__(self, name, args=(), tls=None, data_dir=None, env=None):
        self.name = name
        self.args = list(args)
        self.tls = tls if tls is not None else \
            os.environ.get("APISERVER_TEST_PLAIN") != "1"
        self.data_dir = data_dir or os.path.join(TMP_ROOT, name)
        self.env = env
        self.proc = None
        self.port = None
        self.log_path = os.path.join(TMP_ROOT, name + ".log")
        LOGS.append(self.log_path)
        self.conn = None

    # -- lifecycle ---------------------------------------------------
    def command(self):
        cmd = [BIN, "--listen", "127.0.0.1:0", "--data-dir", self.data_dir]
        if not self.tls:
            cmd.append("--insecure-http")
        return cmd + self.args

    def start(self, timeout=20):
        logf = open(self.log_path, "a")
        start = os.path.getsize(self.log_path)
        self.proc = subprocess.Popen(self.command(), stdout=logf,
                                     stderr=logf, stdin=subprocess.DEVNULL,
                                     env=self.env)
        logf.close()
        deadline = time.time() + timeout
        while time.time() < deadline:
            with open(self.log_path) as f:
                f.seek(start)
                m = re.search(r"listening on https?://[^:]+:(\d+)", f.read())
            if m:
                self.port = int(m.group(1))
                self.close_conn()
                return self
            if self.proc.poll() is not None:
                raise AssertionError("server exited with %d: %s" % (
                    self.proc.returncode, self.log()[-2000:]))
            time.sleep(0.02)
        raise AssertionError("server did not start: " + self.log()[-2000:])

    def stop(self):
        self.close_conn()
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("server ignored SIGTERM")
        return self.proc.returncode if self.proc else None

    def kill9(self):
        self.close_conn()
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def restart(self):
        self.stop()
        return self.start()

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def admin(self):
        return read_credential(os.path.join(self.data_dir, "admin.credential"))

    @property
    def cafile(self):
        return os.path.join(self.data_dir, "certs", "cert.pem")

    @property
    def host(self):
        return "127.0.0.1:%d" % self.port

    def clone(self):
        """The same server, with a connection of its own (for threads)."""
        c = Server.__new__(Server)
        c.__dict__.update(self.__dict__)
        c.conn = None
        return c

    # -- connections ---------------------------------------------------
    def ssl_context(self):
        ctx = ssl.create_default_context(cafile=self.cafile)
        return ctx

    def connect(self, timeout=20):
        if self.tls:
            return http.client.HTTPSConnection("127.0.0.1", self.port,
                                               context=self.ssl_context(),
                                               timeout=timeout)
        return http.client.HTTPConnection("127.0.0.1", self.port,
                                          timeout=timeout)

    def close_conn(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def raw_socket(self, timeout=10):
        s = socket.create_connection(("127.0.0.1", self.port), timeout)
        if self.tls:
            s = self.ssl_context().wrap_socket(s, server_hostname="127.0.0.1")
        return s

    def raw(self, data, timeout=10):
        """Send raw bytes, return everything read until close or timeout."""
        s = self.raw_socket(timeout)
        try:
            s.sendall(data)
            out = b""
            try:
                while True:
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    out += chunk
                    if b"\r\n\r\n" in out:
                        head, _, rest = out.partition(b"\r\n\r\n")
                        m = re.search(rb"Content-Length: (\d+)", head)
                        if m and len(rest) >= int(m.group(1)):
                            break
            except (socket.timeout, ConnectionResetError, ssl.SSLError):
                pass
            return out
        finally:
            s.close()

    # -- requests --------------------------------------------------------
    def signed_headers(self, method, target, body=b"", cred=None, ctype=None,
                       host=None, ts=None, nonce=None):
        cred = cred or self.admin()
        path, _, query = target.partition("?")
        ts = int(time.time()) if ts is None else ts
        nonce = nonce or new_nonce()
        host = host or self.host
        sig = sign(cred["secret"], method, host, path, query, ctype,
                   cred["key_id"], cred["version"], ts, nonce, body)
        h = [("Host", host), ("X-Key-Id", cred["key_id"]),
             ("X-Key-Version", str(cred["version"])),
             ("X-Timestamp", str(ts)), ("X-Nonce", nonce),
             ("X-API-Signature", sig)]
        if ctype is not None:
            h.append(("Content-Type", ctype))
        return h

    def send(self, method, target, headers, body=b"", fresh=False):
        """Send with exactly these headers (list of pairs)."""
        if fresh or self.conn is None:
            self.close_conn()
            self.conn = self.connect()
        c = self.conn
        try:
            c.putrequest(method, target, skip_host=True,
                         skip_accept_encoding=True)
            for k, v in headers:
                c.putheader(k, v)
            if body or method in ("POST", "PUT", "PATCH"):
                if not any(k.lower() == "content-length" for k, _ in headers):
                    c.putheader("Content-Length", str(len(body)))
            c.endheaders(body if body else None)
            r = c.getresponse()
            data = r.read()
        except (http.client.HTTPException, OSError):
            self.close_conn()
            raise
        if r.will_close:
            self.close_conn()
        return Response(r.status, r.getheaders(), data)

    def call(self, method, target, body=b"", cred=None, ctype=None,
             tamper=None, **kw):
        """Sign and send.  tamper(headers) may change the headers after
        signing."""
        if isinstance(body, str):
            body = body.encode()
        if ctype is None and body:
            ctype = "application/json"
        h = self.signed_headers(method, target, body, cred, ctype, **kw)
        if tamper:
            h = tamper(h)
        return self.send(method, target, h, body)


def replace_header(headers, name, value):
    return [(k, value if k.lower() == name.lower() else v)
            for k, v in headers]
