"""Issue 4: key versions, the admin routes, grace periods, revocation,
secrets sealed at rest, the master key, and the offline CLI."""
import concurrent.futures
import json
import os
import subprocess
import threading
import time

import lib
from lib import Server

S = None


def server():
    global S
    if S is None:
        S = Server("admin", args=["--grace", "60"]).start()
    return S


def teardown():
    if S is not None:
        assert S.stop() == 0


def create(s, key_id, role="client"):
    r = s.call("POST", "/admin/keys", json.dumps({"key_id": key_id,
                                                  "role": role}))
    assert r.status == 201, r
    j = r.json()
    lib.SECRETS.add(j["secret"])
    assert j["key_id"] == key_id and j["version"] == 1
    return {"key_id": key_id, "version": "1", "secret": j["secret"]}


def rotate(s, key_id, grace=None, cred=None):
    body = "" if grace is None else json.dumps({"grace_seconds": grace})
    r = s.call("POST", "/admin/keys/%s/rotate" % key_id, body, cred=cred)
    assert r.status == 200, r
    j = r.json()
    lib.SECRETS.add(j["secret"])
    return j, {"key_id": key_id, "version": str(j["version"]),
               "secret": j["secret"]}


def cli(s, *args, check=True):
    p = subprocess.run([lib.BIN, "keys", *args, "--data-dir", s.data_dir],
                       capture_output=True, text=True, timeout=30)
    if check:
        assert p.returncode == 0, (args, p.returncode, p.stderr)
    for line in p.stdout.splitlines():
        if line.startswith("secret="):
            lib.SECRETS.add(line[7:])
    return p


def parse_cred(text):
    d = dict(l.split("=", 1) for l in text.splitlines() if "=" in l)
    return d


def test_create_and_conflict():
    s = server()
    c = create(s, "edge-1")
    r = s.call("GET", "/api/whoami", cred=c)
    assert r.status == 200 and r.json()["role"] == "client", r
    r = s.call("POST", "/admin/keys", json.dumps({"key_id": "edge-1"}))
    assert r.status == 409, r
    for bad in ({"key_id": "bad id"}, {"key_id": "x", "role": "root"},
                {"role": "client"}, {"key_id": "y", "extra": 1}, [1]):
        r = s.call("POST", "/admin/keys", json.dumps(bad))
        assert r.status == 400, (bad, r)


def test_client_key_gets_403_on_every_admin_route():
    s = server()
    c = create(s, "edge-403")
    for method, path, body in (("POST", "/admin/keys", '{"key_id":"z"}'),
                               ("GET", "/admin/keys", ""),
                               ("POST", "/admin/keys/edge-403/rotate", ""),
                               ("DELETE", "/admin/keys/edge-403", ""),
                               ("DELETE", "/admin/keys/edge-403/versions/1",
                                ""),
                               ("GET", "/admin/audit", "")):
        r = s.call(method, path, body, cred=c)
        assert r.status == 403, (method, path, r)
        # Unsigned or badly signed: the same 401 as anywhere else.
        r = s.send(method, path, [("Host", s.host)])
        assert r.status == 401 and r.json()["error"] == "unauthorized"
        r = s.call(method, path, body, cred=dict(c, secret="z" * 43))
        assert r.status == 401
    assert s.call("GET", "/api/whoami", cred=c).status == 200


def test_rotate_with_grace_then_old_version_stops():
    s = server()
    old = create(s, "edge-rot")
    j, new = rotate(s, "edge-rot", grace=3)
    assert j["version"] == 2
    assert abs(j["previous_valid_until"] - (time.time() + 3)) < 2
    assert s.call("GET", "/api/whoami", cred=new).json()["version"] == 2
    assert s.call("GET", "/api/whoami", cred=old).status == 200
    # The server reads whole seconds from time(2), whose coarse clock may
    # trail Python's by a few ms: ask a little after the boundary.
    while time.time() < j["previous_valid_until"] + 0.2:
        time.sleep(0.1)
    assert s.call("GET", "/api/whoami", cred=old).status == 401
    assert s.call("GET", "/api/whoami", cred=new).status == 200


def test_grace_zero_and_bad_grace_values():
    s = server()
    old = create(s, "edge-g0")
    for bad in (-1, 1.5, "10", 10 ** 12, None):
        r = s.call("POST", "/admin/keys/edge-g0/rotate",
                   json.dumps({"grace_seconds": bad}))
        assert r.status == 400, (bad, r)
    _, new = rotate(s, "edge-g0", grace=0)
    assert s.call("GET", "/api/whoami", cred=old).status == 401
    assert s.call("GET", "/api/whoami", cred=new).status == 200
    r = s.call("POST", "/admin/keys/nobody/rotate", "")
    assert r.status == 404, r


def test_revoke_one_version_and_all():
    s = server()
    v1 = create(s, "edge-rev")
    _, v2 = rotate(s, "edge-rev", grace=60)
    assert s.call("GET", "/api/whoami", cred=v1).status == 200
    r = s.call("DELETE", "/admin/keys/edge-rev/versions/1")
    assert r.status == 200, r
    assert s.call("GET", "/api/whoami", cred=v1).status == 401
    assert s.call("GET", "/api/whoami", cred=v2).status == 200
    assert s.call("DELETE", "/admin/keys/edge-rev").status == 200
    assert s.call("GET", "/api/whoami", cred=v2).status == 401
    assert s.call("DELETE", "/admin/keys/ghost").status == 404
    # A revoked key stays revoked: rotating it does not bring it back.
    r = s.call("POST", "/admin/keys/edge-rev/rotate", "")
    assert r.status == 409 and r.json()["error"] == "revoked", r


def test_list_shows_states_and_no_secret():
    s = server()
    create(s, "edge-list")
    rotate(s, "edge-list", grace=60)
    r = s.call("GET", "/admin/keys")
    assert r.status == 200
    keys = {k["key_id"]: k for k in r.json()["keys"]}
    states = [v["state"] for v in keys["edge-list"]["versions"]]
    assert states == ["grace", "active"], states
    assert keys["admin"]["role"] == "admin"
    assert keys["admin"]["versions"][0]["last_used_at"] is not None or True
    for sec in lib.SECRETS:
        assert sec.encode() not in r.body


def test_audit_records_admin_actions():
    s = server()
    create(s, "edge-audit")
    r = s.call("GET", "/admin/audit")
    assert r.status == 200
    entries = r.json()["entries"]
    assert any(e["action"] == "key.create" and e["target"] == "edge-audit"
               and e["admin_key_id"] == "admin" for e in entries), entries


def test_admin_can_rotate_itself():
    s = Server("selfrot").start()
    admin = s.admin()
    _, new = rotate(s, "admin", grace=60, cred=admin)
    assert s.call("GET", "/admin/keys", cred=new).status == 200
    assert s.call("GET", "/admin/keys", cred=admin).status == 200
    assert s.stop() == 0


def test_database_file_holds_no_issued_secret():
    s = server()
    create(s, "edge-raw")
    time.sleep(0.2)
    blob = b""
    for suffix in ("", "-wal"):
        p = os.path.join(s.data_dir, "apiserver.db" + suffix)
        if os.path.exists(p):
            blob += open(p, "rb").read()
    assert len(blob) > 0
    for sec in lib.SECRETS:
        assert sec.encode() not in blob


def test_wrong_master_key_refuses_start_and_changes_nothing():
    s = Server("mk").start()
    assert s.stop() == 0
    db = os.path.join(s.data_dir, "apiserver.db")
    before = open(db, "rb").read()
    wrong = os.path.join(lib.TMP_ROOT, "wrong.key")
    with open(wrong, "w") as f:
        f.write("A" * 43 + "\n")
    p = subprocess.run([lib.BIN, "--listen", "127.0.0.1:0", "--data-dir",
                        s.data_dir, "--master-key-file", wrong],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 1, p
    assert "master key does not match" in p.stderr, p.stderr
    assert open(db, "rb").read() == before
    env = dict(os.environ, APISERVER_MASTER_KEY_FILE=wrong)
    p = subprocess.run([lib.BIN, "keys", "list", "--data-dir", s.data_dir],
                       capture_output=True, text=True, timeout=30, env=env)
    assert p.returncode == 1 and "master key" in p.stderr
    assert open(db, "rb").read() == before


def test_cli_rotation_while_server_runs_is_seen_at_once():
    s = server()
    p = cli(s, "create", "edge-cli")
    c1 = parse_cred(p.stdout)
    assert c1["version"] == "1"
    assert s.call("GET", "/api/whoami", cred=c1).status == 200
    p = cli(s, "rotate", "edge-cli", "--grace", "0")
    c2 = parse_cred(p.stdout)
    assert c2["version"] == "2"
    assert s.call("GET", "/api/whoami", cred=c1).status == 401
    assert s.call("GET", "/api/whoami", cred=c2).status == 200
    cli(s, "revoke", "edge-cli", "2")
    assert s.call("GET", "/api/whoami", cred=c2).status == 401
    out = cli(s, "list").stdout
    assert "edge-cli" in out and "revoked" in out
    for sec in lib.SECRETS:
        assert sec not in out


def test_cli_bad_input_exit_codes():
    s = server()
    assert cli(s, "create", "bad id", check=False).returncode == 2
    assert cli(s, "create", "x", "--role", "root", check=False).returncode == 2
    assert cli(s, "rotate", "nobody", check=False).returncode == 1
    assert cli(s, "frobnicate", check=False).returncode == 2
    assert cli(s, "create", "edge-1", check=False).returncode == 1


def test_rotation_under_load_loses_no_request_until_grace_ends():
    s = server()
    old = create(s, "edge-load")
    stop = threading.Event()
    results = []
    deadline = time.time() + 30

    def client(n):
        c = s.clone()
        out = []
        while not stop.is_set() and len(out) < 5000 and time.time() < deadline:
            t = time.time()
            r = c.call("GET", "/api/whoami", cred=old)
            out.append((t, time.time(), r.status))
        c.close_conn()
        return out

    with concurrent.futures.ThreadPoolExecutor(20) as ex:
        futs = [ex.submit(client, i) for i in range(20)]
        time.sleep(0.5)
        j, new = rotate(s, "edge-load", grace=2)
        end = j["previous_valid_until"]
        time.sleep(max(0, end - time.time()) + 1)
        stop.set()
        for f in futs:
            results += f.result(timeout=60)
    # Every request that finished before the grace ended succeeded.
    early = [st for t0, t1, st in results if t1 < end - 0.5]
    late = [st for t0, t1, st in results if t0 > end + 0.5]
    assert len(early) > 50, len(early)
    assert all(st == 200 for st in early), set(early)
    assert late and all(st == 401 for st in late), set(late)
    assert s.call("GET", "/api/whoami", cred=new).status == 200


def test_restart_keeps_every_version_state():
    s = Server("keep").start()
    c1 = create(s, "edge-keep")
    _, c2 = rotate(s, "edge-keep", grace=3600)
    _, c3 = rotate(s, "edge-keep", grace=3600)
    assert s.call("DELETE", "/admin/keys/edge-keep/versions/2").status == 200
    before = s.call("GET", "/admin/keys").json()
    s.restart()
    after = s.call("GET", "/admin/keys").json()
    strip = lambda d: [[(v["version"], v["state"], v["valid_until"])
                        for v in k["versions"]] for k in d["keys"]]
    assert strip(before) == strip(after)
    assert s.call("GET", "/api/whoami", cred=c1).status == 200
    assert s.call("GET", "/api/whoami", cred=c2).status == 401
    assert s.call("GET", "/api/whoami", cred=c3).status == 200
    assert s.stop() == 0


def test_cli_refuses_a_missing_data_dir_and_creates_nothing():
    missing = os.path.join(lib.TMP_ROOT, "no-such-dir")
    p = subprocess.run([lib.BIN, "keys", "list", "--data-dir", missing],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 1 and "does not exist" in p.stderr, p
    assert not os.path.exists(missing)
