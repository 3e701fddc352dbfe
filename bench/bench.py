#!/usr/bin/python3
"""Benchmark driver for bench/run.sh (issue 6).  Loopback only.

Starts, on free 127.0.0.1 ports with temporary directories, the apiserver,
nginx, a minimal civetweb server, a Flask app under gunicorn and openssl
s_server; drives them with wrk (Lua script replaying pre-signed requests)
and openssl s_time; measures server CPU from /proc/PID/stat and RSS from
/proc/PID/status; writes bench/RESULTS.md.  Every load run is bounded by a
duration; every server started here is killed at exit, also on failure.

Environment: BENCH_BIN (dir with gen_reqs, civetweb_min, apiserver),
BENCH_TMP (scratch dir), BENCH_DUR (seconds per measured run, default 10),
BENCH_PREFILL (live nonce rows for part 4, default 6000000),
BENCH_EXPIRED (expired rows for the purge test, default 3000000),
BENCH_MEM_REQS (requests for the memory part, default 1000000),
BENCH_OUT (results file, default bench/RESULTS.md).
"""
import json
import os
import platform
import re
import resource
import secrets
import signal
import socket
import sqlite3
import ssl
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BIN = os.environ["BENCH_BIN"]
TMP = os.environ["BENCH_TMP"]
DUR = int(os.environ.get("BENCH_DUR", "10"))
WARM = 2
PREFILL = int(os.environ.get("BENCH_PREFILL", "6000000"))
EXPIRED = int(os.environ.get("BENCH_EXPIRED", "3000000"))
MEM_REQS = int(os.environ.get("BENCH_MEM_REQS", "1000000"))
OUT = os.environ.get("BENCH_OUT", os.path.join(HERE, "RESULTS.md"))
LUA = os.path.join(HERE, "replay.lua")
GEN = os.path.join(BIN, "gen_reqs")
APISERVER = os.path.join(BIN, "apiserver")
CONNS, THREADS = 32, 2
WINDOW = 3600
CLK = os.sysconf("SC_CLK_TCK")
T_START = time.time()
LOAD_START = open("/proc/loadavg").read().split()[:3]

PROCS = []          # every process we started (own session each)
COMMANDS = []       # commands worth printing in RESULTS.md
NOTES = []          # anything odd seen during the run
R = {}              # results
TAGS = {}           # request file prefix -> nonce tag of its requests


def log(msg):
    sys.stderr.write("[bench %5.0fs] %s\n" % (time.time() - T_START, msg))
    sys.stderr.flush()


def note(msg):
    log("NOTE: " + msg)
    NOTES.append(msg)


def cmdline(cmd):
    return " ".join(c if re.match(r"^[\w./:=,@+-]+$", c) else "'%s'" % c
                    for c in cmd)


def record(cmd):
    s = cmdline(cmd).replace(BIN, "$BIN").replace(TMP, "$TMP")
    s = re.sub(r"127\.0\.0\.1:[1-9]\d*", "127.0.0.1:PORT", s)
    s = re.sub(r"(--ts|--tag|--count) \S+", r"\1 \1", s)
    s = re.sub(r"--(ts|tag|count) --\S+", lambda m: "--%s %s" % (
        m.group(1), m.group(1).upper()), s)
    s = re.sub(r"--out \$TMP/\S+", "--out $TMP/req-NAME", s)
    if s not in COMMANDS:
        COMMANDS.append(s)


# ------------------------------------------------------------ processes

def start(cmd, logname, env=None, cwd=None):
    logf = open(os.path.join(TMP, logname), "ab")
    offset = logf.tell()
    p = subprocess.Popen(cmd, stdout=logf, stderr=subprocess.STDOUT,
                         stdin=subprocess.DEVNULL, env=env, cwd=cwd,
                         start_new_session=True)
    logf.close()
    p.logpath = os.path.join(TMP, logname)
    p.logoffset = offset
    PROCS.append(p)
    record(cmd)
    return p


def stop(p, sig=signal.SIGTERM):
    if p.poll() is None:
        try:
            os.killpg(p.pid, sig)   # its own session: only what we started
        except ProcessLookupError:
            pass
        try:
            p.wait(15)
        except subprocess.TimeoutExpired:
            note("pid %d ignored SIGTERM; killed" % p.pid)
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
    return p.returncode


def stop_all():
    for p in PROCS:
        try:
            stop(p)
        except Exception:
            pass


def on_signal(sig, frame):
    raise SystemExit("bench: signal %d" % sig)


def wait_log(p, regex, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        with open(p.logpath, errors="replace") as f:
            f.seek(p.logoffset)
            m = re.search(regex, f.read())
        if m:
            return m
        if p.poll() is not None:
            raise RuntimeError("%s exited %s: %s" % (
                p.args[0], p.returncode, open(p.logpath).read()[-2000:]))
        time.sleep(0.02)
    raise RuntimeError("%s did not start: %s" % (
        p.args[0], open(p.logpath).read()[-2000:]))


def wait_port(port, timeout=20, p=None):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.5).close()
            return
        except OSError:
            if p is not None and p.poll() is not None:
                raise RuntimeError("%s exited: %s" % (
                    p.args[0], open(p.logpath).read()[-2000:]))
            time.sleep(0.05)
    raise RuntimeError("port %d never opened" % port)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# ---------------------------------------------------------- /proc figures

def _stat(pid):
    with open("/proc/%d/stat" % pid) as f:
        s = f.read()
    rest = s[s.rindex(")") + 2:].split()
    return rest


def tree(root):
    kids = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                ppid = int(_stat(int(d))[1])
            except (OSError, ValueError, IndexError):
                continue
            kids.setdefault(ppid, []).append(int(d))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(kids.get(pid, []))
    return out


def cpu_seconds(root):
    """utime+stime of root and its live descendants, plus what root has
    reaped (cutime+cstime)."""
    total = 0
    for pid in tree(root):
        try:
            st = _stat(pid)
        except OSError:
            continue
        total += int(st[11]) + int(st[12])
        if pid == root:
            total += int(st[13]) + int(st[14])
    return total / CLK


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


# ---------------------------------------------------------------- wrk

def gen(prefix, host, count, method="GET", path="/api/whoami", body=None,
        cred=None, ts=None):
    cred = cred or R["cred"]
    tag = "b" + secrets.token_hex(4)
    cmd = [GEN, "--secret", cred["secret"], "--key-id", cred["key_id"],
           "--version", cred["version"], "--host", host, "--method", method,
           "--path", path, "--ts", str(int(ts or time.time())),
           "--tag", tag, "--count", str(count), "--files", str(THREADS),
           "--out", prefix]
    if body is not None:
        cmd += ["--body-file", body, "--ctype", "application/json"]
    subprocess.run(cmd, check=True, timeout=120)
    shown = list(cmd)
    shown[shown.index("--secret") + 1] = "$SECRET"
    record(shown)
    TAGS[prefix] = tag
    return prefix


def unlink_reqs(prefix):
    for i in range(THREADS):
        try:
            os.unlink("%s.%d" % (prefix, i))
        except OSError:
            pass


def _dur(v, unit):
    v = float(v)
    return v * {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}[unit]


def wrk(url, prefix, dur, cycle=False, conns=CONNS):
    cmd = ["wrk", "-t%d" % THREADS, "-c%d" % conns, "-d%ds" % dur,
           "--latency", "--timeout", "10s", "-s", LUA, url, "--", prefix]
    if cycle:
        cmd.append("cycle")
    t0 = time.time()
    cp = subprocess.run(cmd, capture_output=True, text=True,
                        timeout=dur + 60)
    out = cp.stdout
    wall = time.time() - t0
    shown = cmdline(cmd).replace(TMP, "$TMP")
    shown = re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", shown)
    if shown not in COMMANDS:
        COMMANDS.append(shown)
    r = {"raw": out, "wall": wall}
    m = re.search(r"(\d+) requests in ([\d.]+)(\w+),", out)
    if not m:
        raise RuntimeError("wrk failed (status %d): %s %s" % (
            cp.returncode, out[-1000:], cp.stderr[-1000:]))
    r["requests"] = int(m.group(1))
    r["seconds"] = _dur(m.group(2), m.group(3)) / 1e3
    r["rps"] = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    for pct in ("50", "99"):
        m = re.search(r"\s%s%%\s+([\d.]+)(us|ms|s|m)\b" % pct, out)
        r["p" + pct] = _dur(m.group(1), m.group(2)) if m else None
    m = re.search(r"Latency\s+([\d.]+)(us|ms|s|m)\s+([\d.]+)(us|ms|s|m)\s+"
                  r"([\d.]+)(us|ms|s|m)", out)
    r["max"] = _dur(m.group(5), m.group(6)) if m else None
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    r["non2xx"] = int(m.group(1)) if m else 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), "
                  r"timeout (\d+)", out)
    r["sockerr"] = sum(int(x) for x in m.groups()) if m else 0
    r["sockerr_text"] = m.group(0) if m else ""
    m = re.search(r"REPLAY_EXHAUSTED (\d+)", out)
    r["exhausted"] = int(m.group(1)) if m else 0
    return r


def machine_busy():
    """Busy CPU seconds of the whole machine (all cores) from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + (v[4] if len(v) > 4 else 0)
    return (sum(v[:8]) - idle) / CLK


def measure(pid, fn):
    b0, k0 = machine_busy(), resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.time()
    c0 = cpu_seconds(pid)
    r = fn()
    c1 = cpu_seconds(pid)
    b1, k1 = machine_busy(), resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = time.time() - t0
    client = (k1.ru_utime - k0.ru_utime) + (k1.ru_stime - k0.ru_stime)
    r["client_cores"] = client / wall
    # CPU used by anything but the server and our load generator (other
    # people's processes on a shared machine): noise to judge figures by
    r["other_cores"] = max(0.0, (b1 - b0) - (c1 - c0) - client) / wall
    r["cpu_s"] = c1 - c0
    n = r.get("requests") or r.get("conns") or 0
    r["cpu_us"] = (c1 - c0) * 1e6 / n if n else None
    return r


# ------------------------------------------------------------ servers

class ApiServer:
    def __init__(self, name, extra=()):
        self.name = name
        self.dir = os.path.join(TMP, name)
        self.extra = list(extra)
        self.p = None

    @property
    def scheme(self):
        return "http" if "--insecure-http" in self.extra else "https"

    def start(self):
        cmd = [APISERVER, "--listen", "127.0.0.1:0", "--data-dir", self.dir,
               "--window", str(WINDOW)] + self.extra
        self.p = start(cmd, self.name + ".log")
        m = wait_log(self.p, r"listening on https?://127\.0\.0\.1:(\d+)")
        self.port = int(m.group(1))
        self.host = "127.0.0.1:%d" % self.port
        self.cred = {}
        with open(os.path.join(self.dir, "admin.credential")) as f:
            for line in f:
                if "=" in line:
                    k, v = line.strip().split("=", 1)
                    self.cred[k] = v
        self.cert = os.path.join(self.dir, "certs", "cert.pem")
        self.key = os.path.join(self.dir, "certs", "key.pem")
        return self

    def stop(self):
        rc = stop(self.p)
        if rc not in (0, None):
            note("%s exited with status %s on SIGTERM (log %s)" % (
                self.name, rc, self.p.logpath))
        return rc

    @property
    def db(self):
        return os.path.join(self.dir, "apiserver.db")

    def nonce_count(self, tag=None):
        """Rows in the nonce tables; with tag, only nonces of that run
        (the (key_id, nonce) key makes it a range scan)."""
        c = sqlite3.connect(self.db, timeout=30)
        try:
            c.execute("BEGIN")
            names = [r[0] for r in c.execute(
                "SELECT name FROM sqlite_schema WHERE type='table' AND "
                "name LIKE 'nonce\\_%' ESCAPE '\\'")]
            where, args = "", ()
            if tag is not None:
                where = " WHERE key_id = ? AND nonce >= ? AND nonce < ?"
                args = (self.cred["key_id"], tag + "-", tag + ".")
            n = sum(c.execute("SELECT count(*) FROM %s%s" % (t, where),
                              args).fetchone()[0]
                    for t in names if re.match(r"^nonce_\d+_\d+$", t))
            c.execute("COMMIT")
            return n
        finally:
            c.close()

    def log_tail(self):
        with open(self.p.logpath, errors="replace") as f:
            return f.read()[-3000:]


def api_run(srv, label, dur, method="GET", path="/api/whoami", body=None,
            count=None):
    """One accounted wrk run of signed requests against the apiserver."""
    count = count or max(100000, 45000 * dur)
    prefix = gen(os.path.join(TMP, "req-" + label), srv.host, count, method,
                 path, body, cred=srv.cred)
    r = measure(srv.p.pid, lambda: wrk("%s://%s/" % (srv.scheme, srv.host),
                                       prefix, dur))
    time.sleep(0.3)
    r["accepted"] = srv.nonce_count(TAGS[prefix])
    r["generated"] = count
    unlink_reqs(prefix)
    if srv.p.poll() is not None:
        note("apiserver died during %s: %s" % (label, srv.log_tail()))
        raise RuntimeError("apiserver died")
    check_accounting(label, r)
    return r


def check_accounting(label, r):
    r["label"] = label
    diff = r["accepted"] - r["requests"]
    if r["exhausted"]:
        note("%s: request file ran out (%d unsigned fallbacks sent)" % (
            label, r["exhausted"]))
    if r["non2xx"] or r["sockerr"]:
        note("%s: %d non-2xx responses, %s" % (label, r["non2xx"],
                                                r["sockerr_text"]))
    if diff < 0 or diff > CONNS + 2:
        note("%s: server accepted %d nonces but wrk reports %d requests"
             % (label, r["accepted"], r["requests"]))
    log("%s: %.0f req/s p50 %.2f ms p99 %.2f ms max %.1f ms, %.1f us CPU/req,"
        " accepted %s / wrk %d" % (label, r["rps"], r["p50"] or -1,
                                   r["p99"] or -1, r["max"] or -1,
                                   r["cpu_us"] or -1, r.get("accepted"),
                                   r["requests"]))


NGINX_CONF = """
worker_processes 2;
daemon off;
master_process on;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {d}/cbt;
    proxy_temp_path {d}/pt;
    fastcgi_temp_path {d}/ft;
    uwsgi_temp_path {d}/ut;
    scgi_temp_path {d}/st;
    keepalive_timeout 65;
    keepalive_requests 100000000;
    server {{
        listen 127.0.0.1:{port} ssl;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        ssl_protocols TLSv1.2;
        ssl_ciphers {ciphers};
        ssl_session_cache shared:BENCH:10m;
        ssl_session_tickets off;
        default_type application/json;
        location = /api/data {{
            return 200 '{{"status":"ok","received":{{}}}}';
        }}
        location / {{
            return 200 '{{"key_id":"admin","version":1,"role":"admin"}}';
        }}
    }}
}}
"""
# the suite the apiserver (BearSSL) picks with an OpenSSL client
CIPHERS = "ECDHE-ECDSA-AES128-GCM-SHA256"


def start_nginx(cert, key):
    d = os.path.join(TMP, "nginx")
    os.makedirs(d, exist_ok=True)
    port = free_port()
    conf = os.path.join(d, "nginx.conf")
    with open(conf, "w") as f:
        f.write(NGINX_CONF.format(d=d, port=port, cert=cert, key=key,
                                  ciphers=CIPHERS))
    p = start(["nginx", "-p", d + "/", "-c", conf, "-e", d + "/error.log"],
              "nginx.log")
    wait_port(port, p=p)
    return p, port


def start_civetweb():
    p = start([os.path.join(BIN, "civetweb_min"), "0", "64"],
              "civetweb_min.log")
    m = wait_log(p, r"listening on http://127\.0\.0\.1:(\d+)")
    return p, int(m.group(1))


def start_flask(cert, key, credfile):
    d = os.path.join(TMP, "flask")
    os.makedirs(d, exist_ok=True)
    db = os.path.join(d, "nonces.db")
    c = sqlite3.connect(db, isolation_level=None)
    c.execute("PRAGMA journal_mode=WAL")
    c.execute("CREATE TABLE IF NOT EXISTS nonces (key_id TEXT NOT NULL, "
              "nonce TEXT NOT NULL, ts INTEGER NOT NULL, "
              "UNIQUE (key_id, nonce))")
    c.close()
    port = free_port()
    env = dict(os.environ, BENCH_CRED=credfile, BENCH_NONCE_DB=db,
               BENCH_WINDOW=str(WINDOW))
    cmd = ["/usr/bin/python3", "-m", "gunicorn", "--workers", "2",
           "--worker-class", "gthread", "--threads", "16",
           "--keep-alive", "30", "--bind", "127.0.0.1:%d" % port,
           "--certfile", cert, "--keyfile", key,
           "--ssl-version", "TLSv1_2", "--ciphers", CIPHERS,
           "--chdir", HERE, "--log-level", "warning", "flask_app:app"]
    p = start(cmd, "gunicorn.log", env=env)
    wait_port(port, 30, p=p)
    time.sleep(1.0)             # let both workers boot
    return p, port, db


def flask_count(db, tag):
    c = sqlite3.connect(db, timeout=30)
    try:
        return c.execute("SELECT count(*) FROM nonces WHERE key_id = ? AND "
                         "nonce >= ? AND nonce < ?",
                         (R["cred"]["key_id"], tag + "-",
                          tag + ".")).fetchone()[0]
    finally:
        c.close()


def tls_probe(port):
    """Protocol and cipher an OpenSSL client (like wrk's) negotiates."""
    try:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        with socket.create_connection(("127.0.0.1", port), 5) as s:
            with ctx.wrap_socket(s) as t:
                return "%s %s" % (t.version(), t.cipher()[0])
    except Exception as e:       # noqa: BLE001 - report, not fail
        return "probe failed: %s" % e


# --------------------------------------------------------------- parts

def part1_2(api):
    """Signed keep-alive requests: GET /api/whoami, POST /api/data."""
    body = os.path.join(TMP, "body-1k.json")
    pad = 1024 - len('{"sensor":"bench-1","values":"","ok":true}')
    with open(body, "w") as f:
        f.write('{"sensor":"bench-1","values":"%s","ok":true}' % ("x" * pad))
    assert os.path.getsize(body) == 1024
    R["tls"] = {"apiserver": tls_probe(api.port)}

    ngx, ngx_port = start_nginx(api.cert, api.key)
    R["tls"]["nginx"] = tls_probe(ngx_port)
    cw, cw_port = start_civetweb()
    fl, fl_port, fl_db = start_flask(api.cert, api.key,
                                     os.path.join(api.dir,
                                                  "admin.credential"))
    R["tls"]["gunicorn"] = tls_probe(fl_port)
    # The same server without TLS: what the front end's TLS costs.
    plain = ApiServer("plain", ["--insecure-http"]).start()
    static = gen(os.path.join(TMP, "req-static"), api.host, 100000)
    static_post = gen(os.path.join(TMP, "req-static-post"), api.host, 50000,
                      "POST", "/api/data", body)

    for part, method, path, bodyf, stat in (
            ("GET", "GET", "/api/whoami", None, static),
            ("POST", "POST", "/api/data", body, static_post)):
        res = {}
        # apiserver (warm-up first, then the measured run)
        api_run(api, "warm-" + part, WARM, method, path, bodyf, 100000)
        res["apiserver"] = api_run(api, "apiserver-" + part, DUR, method,
                                   path, bodyf)
        api_run(plain, "warm-plain-" + part, WARM, method, path, bodyf,
                100000)
        res["apiserver_plain"] = api_run(plain, "apiserver-plain-" + part,
                                         DUR, method, path, bodyf)
        # nginx, static TLS
        wrk("https://127.0.0.1:%d/" % ngx_port, stat, WARM, cycle=True)
        r = measure(ngx.pid, lambda: wrk("https://127.0.0.1:%d/" % ngx_port,
                                         stat, DUR, cycle=True))
        r["accepted"] = None
        res["nginx"] = r
        check_accounting("nginx-" + part, dict(r, accepted=r["requests"]))
        # civetweb_min, plain HTTP
        wrk("http://127.0.0.1:%d/" % cw_port, stat, WARM, cycle=True)
        r = measure(cw.pid, lambda: wrk("http://127.0.0.1:%d/" % cw_port,
                                        stat, DUR, cycle=True))
        r["accepted"] = None
        res["civetweb_min"] = r
        check_accounting("civetweb-" + part, dict(r, accepted=r["requests"]))
        # Flask + sqlite nonce under gunicorn (TLS)
        fhost = "127.0.0.1:%d" % fl_port
        pre = gen(os.path.join(TMP, "req-flask"), fhost, 100000, method,
                  path, bodyf, cred=api.cred)
        wrk("https://%s/" % fhost, pre, WARM)
        pre = gen(os.path.join(TMP, "req-flask"), fhost, 200000, method,
                  path, bodyf, cred=api.cred)
        r = measure(fl.pid, lambda: wrk("https://%s/" % fhost, pre, DUR))
        time.sleep(0.5)
        r["accepted"] = flask_count(fl_db, TAGS[pre])
        unlink_reqs(pre)
        check_accounting("flask-" + part, r)
        res["flask"] = r
        R["part1" if part == "GET" else "part2"] = res
    for p in (ngx, cw, fl):
        stop(p)
    plain.stop()
    unlink_reqs(static)
    unlink_reqs(static_post)


def s_time_run(port, mode, clients=4, dur=DUR):
    cmds = [["openssl", "s_time", "-connect", "127.0.0.1:%d" % port,
             "-" + mode, "-time", str(dur), "-tls1_2"]
            for _ in range(clients)]
    shown = cmdline(cmds[0]).replace(str(port), "PORT")
    if shown not in COMMANDS:
        COMMANDS.append(shown + "   (x%d in parallel)" % clients)
    t0 = time.time()
    ps = [subprocess.Popen(c, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, start_new_session=True) for c in cmds]
    for p in ps:
        PROCS.append(p)
    outs = [p.communicate(timeout=dur + 60) for p in ps]
    wall = time.time() - t0
    conns = reused = 0
    for out, err in outs:
        m = re.search(r"(\d+) connections in [\d.]+s;", out)
        if m:
            conns += int(m.group(1))
        # s_time prints one char per connection: 'r' when resumed
        reused += sum(ln.count("r") for ln in out.splitlines()
                      if re.match(r"^[r*]+$", ln))
    return {"conns": conns, "cps": conns / wall if wall else 0,
            "wall": wall, "reused": reused,
            "raw": "\n".join(o for o, _ in outs)[-600:]}


def part3(api):
    d = os.path.join(TMP, "s_server")
    os.makedirs(d, exist_ok=True)
    port = free_port()
    ss = start(["openssl", "s_server", "-accept", "127.0.0.1:%d" % port,
                "-cert", api.cert, "-key", api.key, "-tls1_2", "-cipher",
                CIPHERS, "-no_ticket", "-www", "-quiet"], "s_server.log")
    wait_port(port, p=ss)
    ngx, ngx_port = start_nginx(api.cert, api.key)
    res = {}
    R["tls"]["s_server"] = tls_probe(port)
    ncpu = os.cpu_count() or 1
    cores = {"apiserver": ncpu, "openssl s_server": 1,
             "nginx": min(2, ncpu)}
    for name, pid, p_ in (("apiserver", api.p.pid, api.port),
                          ("openssl s_server", ss.pid, port),
                          ("nginx", ngx.pid, ngx_port)):
        res[name] = {}
        for mode in ("new", "reuse"):
            r = measure(pid, lambda: s_time_run(p_, mode))
            r["cores"] = cores[name]
            r["capacity"] = cores[name] * 1e6 / r["cpu_us"] \
                if r["cpu_us"] else None
            res[name][mode] = r
            log("%s %s: %.0f conn/s, %.0f us CPU/conn, %d resumed of %d" % (
                name, mode, r["cps"], r["cpu_us"] or -1, r["reused"],
                r["conns"]))
            if mode == "reuse" and r["conns"] and \
                    r["reused"] < 0.9 * r["conns"]:
                note("%s: only %d of %d -reuse connections were resumed" % (
                    name, r["reused"], r["conns"]))
            if r["conns"] == 0:
                note("%s %s: s_time made no connections: %s" % (
                    name, mode, r["raw"]))
    stop(ss)
    stop(ngx)
    R["part3"] = res


def prefill(db, table, rows, ts0, span):
    """Fill one nonce partition table of a stopped server's database with
    `rows` random nonces of key 'admin', timestamps in [ts0, ts0+span)."""
    t0 = time.time()
    c = sqlite3.connect(db, isolation_level=None, timeout=30)
    c.execute("PRAGMA journal_mode=DELETE")
    c.execute("PRAGMA synchronous=OFF")
    c.execute("PRAGMA cache_size=-1000000")
    # The server's own partition layout (db/db_nonce.c).
    c.execute("CREATE TABLE IF NOT EXISTS %s (key_id TEXT NOT NULL, "
              "nonce TEXT NOT NULL, ts INTEGER NOT NULL, "
              "PRIMARY KEY (key_id, nonce)) WITHOUT ROWID" % table)
    c.execute("BEGIN")
    # sorted by nonce so that the prefill is fast; the nonces themselves
    # are random, and the bench's own nonces arrive in random order.
    c.execute("WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 "
              "FROM s WHERE i < ?) INSERT INTO %s SELECT 'admin', "
              "lower(hex(randomblob(12))), ? + (i %% ?) FROM s ORDER BY 2"
              % table, (rows, ts0, span))
    c.execute("COMMIT")
    c.execute("PRAGMA journal_mode=WAL")
    c.close()
    dt = time.time() - t0
    log("prefill %s: %d rows in %.1f s" % (table, rows, dt))
    return dt


def part4():
    api = ApiServer("nonce").start()
    R["part4"] = res = {}
    api_run(api, "warm-nonce", WARM)
    res["empty"] = api_run(api, "nonce-empty", DUR)
    api.stop()
    # live rows, in the partition that new requests go to (the current one)
    now = int(time.time())
    cur = now - now % WINDOW
    live = "nonce_%d_%d" % (cur, WINDOW)
    res["prefill_s"] = prefill(api.db, live, PREFILL, now - 600, 600)
    res["live_rows"] = None
    api.start()
    res["live_rows"] = api.nonce_count()
    api_run(api, "warm-nonce-6M", WARM)
    res["full"] = api_run(api, "nonce-6M", DUR)
    api.stop()
    # expired partition that becomes purgeable a few seconds into a run
    tmp = "bench_expired"
    lead = 4
    # The writer drops a table when start + seconds - 1 < now - window - 60.
    # Rows get timestamps 30 s inside the partition that will be named
    # just before the server starts (the prefill takes well under 30 s).
    est = int(time.time()) + lead - WINDOW - 61 - WINDOW + 1
    res["expired_prefill_s"] = prefill(api.db, tmp, EXPIRED, est + 30,
                                       WINDOW - 60)
    t_exp = int(time.time()) + lead
    end = t_exp - WINDOW - 60 - 1
    start_ = end - WINDOW + 1
    if not est <= start_ <= est + 30:
        note("purge test: expired rows' timestamps are off their "
             "partition by %d s" % (start_ - est))
    name = "nonce_%d_%d" % (start_, WINDOW)
    c = sqlite3.connect(api.db, isolation_level=None)
    c.execute("ALTER TABLE %s RENAME TO %s" % (tmp, name))
    c.close()
    t_ready = time.time()
    api.start()
    log("purge run: partition %s (%d rows) expires in %.1f s" % (
        name, EXPIRED, t_exp - time.time()))
    if time.time() > t_exp - 1:
        note("purge test: the expired partition became purgeable before the "
             "load started (rename took %.1f s)" % (time.time() - t_ready))
    r = api_run(api, "nonce-purge", DUR)
    c = sqlite3.connect(api.db, timeout=30)
    left = c.execute("SELECT count(*) FROM sqlite_schema WHERE name = ?",
                     (name,)).fetchone()[0]
    c.close()
    r["dropped"] = left == 0
    # The server logs each purged partition's longest step: the longest
    # time the purge held sqlite's write lock (db/db_nonce.c).
    m = re.search(r"purged nonce partition %s: (\d+) rows in (\d+) steps, "
                  r"longest step (\d+) us" % re.escape(name),
                  open(api.p.logpath, errors="replace").read())
    if m:
        r["purge_rows"], r["purge_steps"] = int(m.group(1)), int(m.group(2))
        r["purge_max_step_ms"] = int(m.group(3)) / 1000.0
    if left:
        note("purge run: expired partition %s was not dropped during the "
             "run" % name)
    res["purge"] = r
    res["purge_table"] = name
    api.stop()


class IdleClients:
    """n TLS connections that finish the handshake and stay silent."""

    def __init__(self, port, n):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        self.socks = []
        self.failed = 0
        for _ in range(n):
            try:
                s = socket.create_connection(("127.0.0.1", port), 10)
                self.socks.append(ctx.wrap_socket(s))
            except OSError:
                self.failed += 1

    def alive(self):
        n = 0
        for s in self.socks:
            s.setblocking(False)
            try:
                if s.recv(1) == b"":
                    continue
                n += 1
            except ssl.SSLWantReadError:
                n += 1
            except OSError:
                pass
        return n

    def close(self):
        for s in self.socks:
            try:
                s.close()
            except OSError:
                pass


def part5():
    api = ApiServer("mem").start()
    R["part5"] = res = {}
    time.sleep(1)
    res["idle_kib"] = rss_kib(api.p.pid)
    t0 = time.time()
    idle = IdleClients(api.port, 1000)
    res["open_s"] = time.time() - t0
    time.sleep(2)
    res["conns_kib"] = rss_kib(api.p.pid)
    res["alive"] = idle.alive()
    res["failed"] = idle.failed
    log("memory: idle %d KiB, with %d/1000 idle TLS connections %d KiB "
        "(opened in %.1f s)" % (res["idle_kib"], res["alive"],
                                 res["conns_kib"], res["open_s"]))
    if res["alive"] < 1000:
        note("memory: only %d of 1000 idle TLS connections stayed open "
             "(%d failed to connect)" % (res["alive"], idle.failed))
    idle.close()
    time.sleep(1)
    res["after_close_kib"] = rss_kib(api.p.pid)
    # requests: as many of MEM_REQS as fit in a bounded time
    rate = R.get("part1", {}).get("apiserver", {}).get("rps") or 15000
    dur = int(min(90, max(10, MEM_REQS / rate * 1.05)))
    r = api_run(api, "mem-requests", dur, count=int(max(MEM_REQS,
                                                        rate * dur) * 1.3))
    res["reqs"] = r
    time.sleep(1)
    res["after_kib"] = rss_kib(api.p.pid)
    log("memory: after %d requests %d KiB" % (r["requests"],
                                              res["after_kib"]))
    api.stop()


# ------------------------------------------------------------- report

def fmt(v, nd=0):
    if v is None:
        return "n/a"
    return ("{:,.%df}" % nd).format(v)


def cores(r):
    return "%.2f / %.2f / %.2f" % (r["cpu_s"] / (r.get("wall") or 1),
                                   r["client_cores"], r["other_cores"])


def verdict(ok):
    return "**met**" if ok else "**missed**"


def machine():
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    ver = lambda c: subprocess.run(c, capture_output=True, text=True,
                                   shell=True).stdout.strip() or \
        subprocess.run(c, capture_output=True, text=True,
                       shell=True).stderr.strip()
    return {
        "nproc": os.cpu_count(), "cpu": model, "kernel": platform.release(),
        "mem": os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        / 2**30,
        "wrk": ver("wrk -v 2>&1 | head -1"),
        "nginx": ver("nginx -v 2>&1"),
        "openssl": ver("openssl version"),
        "gunicorn": ver("/usr/bin/python3 -m gunicorn --version 2>&1"),
        "flask": ver("/usr/bin/python3 -c 'import flask; "
                     "print(flask.__version__)' 2>/dev/null || "
                     "dpkg-query -W -f='${Version}' python3-flask"),
        "git": ver("cd %s && git rev-parse --short HEAD && "
                   "git status --porcelain framework db app | wc -l" % ROOT)
        .replace("\n", " (uncommitted files under framework/ db/ app/: ")
        + ")",
    }


def write_results():
    m = machine()
    L = []
    w = L.append
    w("# Benchmark results (issue 6)")
    w("")
    w("Written by `bench/run.sh` (`make bench`) on %s; total run time "
      "%.0f s.  Everything on loopback (127.0.0.1), servers started by the "
      "script, %d s per measured run after a %d s warm-up, wrk with %d "
      "threads and %d connections.  The load generator shares the "
      "machine's cores with the server under test, for every peer alike." % (
          time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
          time.time() - T_START, DUR, WARM, THREADS, CONNS))
    w("")
    w("## Machine")
    w("")
    w("| | |")
    w("|---|---|")
    w("| nproc | %s |" % m["nproc"])
    w("| CPU | %s |" % m["cpu"])
    w("| kernel | %s |" % m["kernel"])
    w("| memory | %.1f GiB |" % m["mem"])
    w("| load average (1/5/15 min) at start / end | %s / %s |" % (
        " ".join(LOAD_START), " ".join(open("/proc/loadavg").read()
                                       .split()[:3])))
    w("| apiserver | git %s |" % m["git"])
    w("| tools | %s; %s; %s; gunicorn %s; Flask %s |" % (
        m["wrk"], m["nginx"], m["openssl"], m["gunicorn"], m["flask"]))
    w("| negotiated TLS (OpenSSL client) | %s |" % "; ".join(
        "%s: %s" % kv for kv in R.get("tls", {}).items()))
    w("")
    w("CPU per request = (utime + stime of the server process, its live "
      "children, and reaped children) over the run, from /proc/PID/stat, "
      "divided by the requests wrk completed.  Resolution: %d ticks/s.  "
      "'cores used' = CPU seconds per wall second of the server, of the "
      "load generator (wrk or s_time, from getrusage of reaped children) "
      "and of everything else on the machine (/proc/stat busy minus both): "
      "the last one shows how much other work (other people's builds and "
      "tests on a shared machine) competed with a run; figures from runs "
      "with 'others' well above 0 are noisy." % CLK)
    w("")

    def table(res, title):
        w("## " + title)
        w("")
        w("| server | transport | requests/s | p50 ms | p99 ms | max ms | "
          "server CPU us/req | wrk requests | server accepted nonces | "
          "non-2xx | socket errors | cores used by server / wrk / others |")
        w("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
        tr = {"apiserver": "TLS 1.2, signed, nonce in sqlite",
              "apiserver_plain": "the same with --insecure-http (no TLS)",
              "nginx": "TLS 1.2, fixed 200",
              "civetweb_min": "plain HTTP, fixed 200",
              "flask": "TLS 1.2 (gunicorn gthread 2x16), signed, nonce "
                       "in sqlite"}
        for k in ("apiserver", "apiserver_plain", "nginx", "civetweb_min",
                  "flask"):
            r = res.get(k)
            if not r:
                continue
            w("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |"
              % (k, tr[k], fmt(r["rps"]), fmt(r["p50"], 2),
                 fmt(r["p99"], 2), fmt(r["max"], 1), fmt(r["cpu_us"], 1),
                 fmt(r["requests"]),
                 fmt(r["accepted"]) if r.get("accepted") is not None
                 else "(not signed)", fmt(r["non2xx"]), fmt(r["sockerr"]),
                 cores(r)))
        a, n, c, f = (res.get(k) for k in ("apiserver", "nginx",
                                           "civetweb_min", "flask"))
        w("")
        ap = res.get("apiserver_plain")
        if a and ap:
            w("apiserver TLS / --insecure-http: throughput %.2fx, CPU per "
              "request %.2fx (%.1f us of TLS front end per request).  " % (
                  a["rps"] / ap["rps"], a["cpu_us"] / ap["cpu_us"],
                  a["cpu_us"] - ap["cpu_us"]))
        if a and n:
            w("apiserver / nginx: throughput %.2fx, CPU per request %.2fx.  "
              % (a["rps"] / n["rps"], a["cpu_us"] / n["cpu_us"]))
        if a and c:
            w("apiserver / civetweb_min: throughput %.2fx, CPU per request "
              "%.2fx.  " % (a["rps"] / c["rps"], a["cpu_us"] / c["cpu_us"]))
        if a and f:
            w("apiserver / Flask: throughput %.1fx, CPU per request %.2fx."
              % (a["rps"] / f["rps"], a["cpu_us"] / f["cpu_us"]))
        w("")

    goals = []
    p1 = R.get("part1")
    if p1:
        table(p1, "1. Signed GET /api/whoami, TLS keep-alive, %d connections"
              % CONNS)
    p2 = R.get("part2")
    if p2:
        table(p2, "2. Signed POST /api/data, 1 KiB JSON body, same peers")
        w("nginx and civetweb_min answer POST with a fixed body and do not "
          "echo; the apiserver and Flask parse and echo the JSON.")
        w("")
    for pn, res in (("GET", p1), ("POST", p2)):
        if not res:
            continue
        a, n, f = res["apiserver"], res["nginx"], res["flask"]
        cr = a["cpu_us"] / n["cpu_us"]
        goals.append(("signed keep-alive TLS %s: server CPU per request "
                      "<= 4x nginx's per static TLS request" % pn,
                      "%.2fx (%.1f vs %.1f us)" % (cr, a["cpu_us"],
                                                   n["cpu_us"]), cr <= 4))
        tr = a["rps"] / n["rps"]
        goals.append(("signed keep-alive TLS %s: throughput >= 0.3x nginx" %
                      pn, "%.2fx (%s vs %s req/s)" % (tr, fmt(a["rps"]),
                                                      fmt(n["rps"])),
                      tr >= 0.3))
        fr = a["rps"] / f["rps"]
        goals.append(("%s: >= 20x the Flask design's requests/s" % pn,
                      "%.1fx (%s vs %s req/s)" % (fr, fmt(a["rps"]),
                                                  fmt(f["rps"])), fr >= 20))

    p3 = R.get("part3")
    if p3:
        w("## 3. New TLS connection per request (handshakes)")
        w("")
        w("`openssl s_time -tls1_2`, 4 clients in parallel, %d s; "
          "`-new` = full handshake every time, `-reuse` = session-ID "
          "resumption (tickets off on nginx and s_server; BearSSL has "
          "none).  resumed = connections s_time marked as reused.  "
          "s_time is serial per process and its own full handshake costs "
          "the client more CPU than a server's, so on 2 cores the measured "
          "rate is bounded by the clients; the capacity column is what the "
          "server's CPU per handshake allows on the cores it can use "
          "(apiserver: %d front-end threads = cores; s_server: 1 process; "
          "nginx: 2 workers)." % (DUR, os.cpu_count() or 1))
        w("")
        w("| server | full handshakes/s (measured) | server CPU us/full | "
          "full capacity/s (cores / CPU) | resumed conns/s (measured) | "
          "server CPU us/resumed | resumed capacity/s | resumed / reuse "
          "conns | cores server / clients / others (full; resumed) |")
        w("|---|---:|---:|---:|---:|---:|---:|---:|---|")
        for k, r in p3.items():
            w("| %s | %s | %s | %s | %s | %s | %s | %s / %s | %s; %s |" % (
                k, fmt(r["new"]["cps"]), fmt(r["new"]["cpu_us"]),
                fmt(r["new"].get("capacity")), fmt(r["reuse"]["cps"]),
                fmt(r["reuse"]["cpu_us"]), fmt(r["reuse"].get("capacity")),
                fmt(r["reuse"]["reused"]), fmt(r["reuse"]["conns"]),
                cores(r["new"]), cores(r["reuse"])))
        w("")
        a, s = p3["apiserver"], p3["openssl s_server"]

        def ratio(x, y):
            return x / y if x and y else 0
        fr = ratio(a["new"]["cps"], s["new"]["cps"])
        fc = ratio(a["new"].get("capacity"), s["new"].get("capacity"))
        rr = ratio(a["reuse"]["cps"], s["new"]["cps"])
        rc = ratio(a["reuse"].get("capacity"), s["new"].get("capacity"))
        w("apiserver / s_server: full handshakes measured %.2fx, capacity "
          "%.2fx; CPU per full handshake %.2fx." % (
              fr, fc, ratio(a["new"]["cpu_us"], s["new"]["cpu_us"])))
        w("")
        goals.append(("full handshakes/s (apiserver, both cores) >= "
                      "single-process openssl s_server: measured",
                      "%.2fx (%s vs %s /s; client-bound)" % (
                          fr, fmt(a["new"]["cps"]), fmt(s["new"]["cps"])),
                      fr >= 1))
        goals.append(("the same, from server CPU per handshake (capacity)",
                      "%.2fx (%s vs %s /s)" % (
                          fc, fmt(a["new"].get("capacity")),
                          fmt(s["new"].get("capacity"))), fc >= 1))
        goals.append(("resumed handshakes/s >= 0.8x s_server's full "
                      "handshakes/s: measured", "%.2fx (%s /s)" % (
                          rr, fmt(a["reuse"]["cps"])), rr >= 0.8))
        goals.append(("the same, capacity", "%.2fx (%s /s)" % (
                          rc, fmt(a["reuse"].get("capacity"))), rc >= 0.8))

    p4 = R.get("part4")
    if p4:
        w("## 4. Nonce store")
        w("")
        w("Separate apiserver instance.  Rows were written into the live "
          "partition table (random 24-hex nonces of key `admin`, sorted "
          "insert) with Python's sqlite3 while the server was stopped.")
        w("")
        w("| case | rows in nonce tables at start | requests/s | p50 ms | "
          "p99 ms | max ms | server CPU us/req | wrk requests | "
          "accepted nonces | cores used by server / wrk / others |")
        w("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
        for label, key, rows in (
                ("empty table", "empty", 0),
                ("%s live rows" % fmt(PREFILL), "full", p4.get("live_rows")),
                ("live rows + %s expired rows dropped during the run" %
                 fmt(EXPIRED), "purge", None)):
            r = p4.get(key)
            if not r:
                continue
            w("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                label, fmt(rows) if rows is not None else "see left",
                fmt(r["rps"]), fmt(r["p50"], 2), fmt(r["p99"], 2),
                fmt(r["max"], 1), fmt(r["cpu_us"], 1), fmt(r["requests"]),
                fmt(r["accepted"]), cores(r)))
        w("")
        w("Prefill: %s live rows in %.1f s, %s expired rows in %.1f s.  "
          "The expired partition (`%s`) was made to become purgeable %d s "
          "after the server started; it was %s during the run." % (
              fmt(PREFILL), p4.get("prefill_s", 0), fmt(EXPIRED),
              p4.get("expired_prefill_s", 0), p4.get("purge_table"), 4,
              "dropped" if p4.get("purge", {}).get("dropped")
              else "NOT dropped"))
        w("")
        if p4.get("full") and p4.get("empty"):
            ratio = p4["full"]["rps"] / p4["empty"]["rps"]
            goals.append(("with %s live nonces >= 0.9x the empty-table "
                          "throughput" % fmt(PREFILL),
                          "%.2fx (%s vs %s req/s)" % (
                              ratio, fmt(p4["full"]["rps"]),
                              fmt(p4["empty"]["rps"])), ratio >= 0.9))
        if p4.get("purge"):
            pr = p4["purge"]
            mx = pr["max"]
            step = pr.get("purge_max_step_ms")
            if step is not None:
                w("The server purged %s expired rows in %s steps; the "
                  "longest step (the longest the purge held the write "
                  "lock) took %.1f ms.  Longest request: %.1f ms during "
                  "the purge run, %.1f ms in the empty-table run (the "
                  "client shares the two cores, so some milliseconds of "
                  "scheduling jitter are in both)." % (
                      fmt(pr["purge_rows"]), fmt(pr["purge_steps"]), step,
                      mx, p4["empty"]["max"] if p4.get("empty") else 0))
                w("")
            goals.append(("no request stalls > 10 ms on a purge",
                          "longest purge step (write-lock hold) %s; longest "
                          "request %.1f ms during the purge run%s" % (
                              "%.1f ms" % step if step is not None else
                              "not logged", mx,
                              "" if pr["dropped"] else
                              " (partition NOT dropped: not measured)"),
                          step is not None and step <= 10 and
                          pr["dropped"]))
    p5 = R.get("part5")
    if p5:
        w("## 5. Memory (VmRSS of the apiserver process)")
        w("")
        w("| state | VmRSS MiB |")
        w("|---|---:|")
        w("| idle, 1 s after start | %.1f |" % (p5["idle_kib"] / 1024))
        w("| %d idle TLS connections open (handshake done, silent; opened "
          "in %.1f s) | %.1f |" % (p5["alive"], p5["open_s"],
                                   p5["conns_kib"] / 1024))
        w("| after closing them | %.1f |" % (p5["after_close_kib"] / 1024))
        if "reqs" in p5:
            r = p5["reqs"]
            w("| after %s signed requests (%s req/s, %s accepted nonces) | "
              "%.1f |" % (fmt(r["requests"]), fmt(r["rps"]),
                          fmt(r["accepted"]), p5["after_kib"] / 1024))
        w("")
        if "reqs" in p5 and p5["reqs"]["requests"] < MEM_REQS:
            w("Fewer than %s requests: the run is bounded to 90 s." %
              fmt(MEM_REQS))
            w("")
        goals.append(("1,000 idle TLS connections <= 64 MiB RSS",
                      "%.1f MiB with %d connections open" % (
                          p5["conns_kib"] / 1024, p5["alive"]),
                      p5["conns_kib"] <= 64 * 1024 and p5["alive"] >= 1000))

    w("## Goals (ratios from this run; not pass/fail)")
    w("")
    w("| goal | measured | |")
    w("|---|---|---|")
    for g, meas, ok in goals:
        w("| %s | %s | %s |" % (g, meas, verdict(ok)))
    w("")
    w("## Accounting")
    w("")
    w("After each apiserver (and Flask) run, the rows added to the nonce "
      "tables are compared with the requests wrk reports: they may exceed "
      "them by at most the %d requests in flight when wrk stops (sent, "
      "answered after wrk's clock ended).  wrk consumes one request to "
      "validate the script and never sends it.  All figures are in the "
      "tables above." % CONNS)
    w("")
    w("## Notes from this run")
    w("")
    if NOTES:
        for n_ in NOTES:
            w("- " + n_.replace("\n", " ")[:800])
    else:
        w("- none")
    w("")
    w("## Commands")
    w("")
    w("`$TMP` is a fresh temporary directory, `$BIN` holds the compiled "
      "helpers and a copy of ./apiserver, PORT a free port; the apiserver "
      "logs its port.  Secrets are not shown.")
    w("")
    w("```")
    for c in COMMANDS:
        w(c)
    w("```")
    w("")
    with open(OUT, "w") as f:
        f.write("\n".join(L))
    with open(os.path.join(TMP, "results.json"), "w") as f:
        json.dump({k: v for k, v in R.items() if k != "cred"}, f, indent=1,
                  default=str)
    log("wrote %s" % OUT)


def main():
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    parts = os.environ.get("BENCH_PARTS", "1,3,5,4").split(",")
    try:
        api = ApiServer("main").start()
        R["cred"] = api.cred
        if "1" in parts:
            log("part 1+2: keep-alive GET and POST")
            part1_2(api)
        if "3" in parts:
            log("part 3: handshakes")
            if "tls" not in R:
                R["tls"] = {"apiserver": tls_probe(api.port)}
            part3(api)
        api.stop()
        if "5" in parts:
            log("part 5: memory")
            part5()
        if "4" in parts:
            log("part 4: nonce store")
            part4()
    except BaseException as e:      # report what we have, then fail
        note("bench aborted: %r" % (e,))
        write_results()
        stop_all()
        raise
    write_results()
    stop_all()


if __name__ == "__main__":
    main()
