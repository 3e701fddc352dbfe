"""The `apiserver keys` command line: usage errors exit 2 before anything
is opened or created, revoked keys stay revoked, ids of dots only are
refused, and the master key is never replaced next to an existing
database.  Every data directory is a fresh one under lib.TMP_ROOT; the
only server started listens on 127.0.0.1."""
import os
import stat
import subprocess

import lib
from lib import Server

MISSING_HINT = ("restore the master key (or point --master-key-file / "
                "APISERVER_MASTER_KEY_FILE at it)")


def fresh_dir(name):
    d = os.path.join(lib.TMP_ROOT, "cli-" + name)
    os.mkdir(d, 0o700)
    return d


def keys(data_dir, verb, *args, env=None):
    # --data-dir right after the verb, so that a trailing flag missing
    # its value cannot swallow it.
    p = subprocess.run([lib.BIN, "keys", verb, "--data-dir", data_dir,
                        *args], capture_output=True, text=True, timeout=30,
                       env=env)
    for line in p.stdout.splitlines():
        if line.startswith("secret="):
            lib.SECRETS.add(line[7:])
    return p


def ok(data_dir, *args):
    p = keys(data_dir, *args)
    assert p.returncode == 0, (args, p.returncode, p.stderr)
    return p


def listing(data_dir):
    """{(key_id, version): state} from `keys list`."""
    rows = {}
    for line in ok(data_dir, "list").stdout.splitlines():
        f = line.split()
        rows[(f[0], int(f[2][1:]))] = f[3]
    return rows


def snapshot(d):
    out = {}
    for name in sorted(os.listdir(d)):
        p = os.path.join(d, name)
        if os.path.isfile(p):
            with open(p, "rb") as f:
                out[name] = f.read()
        else:
            out[name] = None
    return out


USAGE_ERRORS = [
    (("create",), "needs a key id"),
    (("create", "."), "only of dots"),
    (("create", ".."), "only of dots"),
    (("create", "..."), "only of dots"),
    (("create", "bad id"), "a key id is"),
    (("create", "a", "b"), "too many"),
    (("create", "x", "--role", "root"), "--role is client or admin"),
    (("create", "x", "--grace", "5"), "does not take --grace"),
    (("list", "extra"), "no arguments"),
    (("list", "--role", "admin"), "does not take --role"),
    (("rotate",), "needs a key id"),
    (("rotate", "x", "--grace", "abc"), "--grace wants"),
    (("rotate", "x", "--grace", "-1"), "--grace wants"),
    (("rotate", "x", "--role", "admin"), "does not take --role"),
    (("revoke",), "needs a key id"),
    (("revoke", "x", "01"), "leading zeros"),
    (("revoke", "x", "0"), "leading zeros"),
    (("revoke", "x", "+1"), "leading zeros"),
    (("revoke", "x", "1x"), "leading zeros"),
    (("revoke", "x", "4294967296"), "leading zeros"),
    (("revoke", "x", "1", "2"), "unexpected"),
    (("revoke", "x", "--grace", "5"), "does not take --grace"),
    (("create", "x", "--role"), "needs a value"),
]


def test_usage_errors_exit_2_before_anything_is_created():
    empty = fresh_dir("usage-empty")
    missing = os.path.join(lib.TMP_ROOT, "cli-usage-missing")
    for args, why in USAGE_ERRORS:
        for d in (empty, missing):
            p = keys(d, *args)
            assert p.returncode == 2, (args, d, p.returncode, p.stderr)
            assert why in p.stderr, (args, p.stderr)
            assert "usage: apiserver keys" in p.stderr, (args, p.stderr)
            assert p.stdout == "", (args, p.stdout)
        assert os.listdir(empty) == [], (args, os.listdir(empty))
        assert not os.path.exists(missing), args
    # A well-formed request still reaches the data-directory check.
    p = keys(missing, "list")
    assert p.returncode == 1 and "does not exist" in p.stderr, p
    assert not os.path.exists(missing)


def test_usage_errors_change_no_existing_database():
    d = fresh_dir("usage-db")
    ok(d, "create", "k")
    ok(d, "rotate", "k", "--grace", "600")
    before = snapshot(d)
    for args, _ in USAGE_ERRORS:
        p = keys(d, *(a if a != "x" else "k" for a in args))
        assert p.returncode == 2, (args, p.returncode, p.stderr)
    assert snapshot(d) == before
    assert listing(d) == {("k", 1): "grace", ("k", 2): "active"}


def test_revoke_version_must_be_canonical():
    d = fresh_dir("revoke-version")
    ok(d, "create", "k")
    ok(d, "rotate", "k", "--grace", "600")
    p = keys(d, "revoke", "k", "01")
    assert p.returncode == 2, p
    assert "leading zeros" in p.stderr, p.stderr
    assert listing(d) == {("k", 1): "grace", ("k", 2): "active"}
    p = ok(d, "revoke", "k", "1")
    assert "revoked k 1" in p.stderr, p.stderr
    assert listing(d) == {("k", 1): "revoked", ("k", 2): "active"}
    p = keys(d, "revoke", "k", "3")
    assert p.returncode == 1 and "not found" in p.stderr, p


def test_key_ids_of_dots_only_are_refused():
    d = fresh_dir("dots")
    ok(d, "create", "first")
    for bad in (".", "..", "....."):
        p = keys(d, "create", bad)
        assert p.returncode == 2, (bad, p)
        assert "only of dots" in p.stderr, p.stderr
        assert "secret=" not in p.stdout
    for good in (".a", "a.", "a..b"):
        ok(d, "create", good)
    assert sorted(k for k, _ in listing(d)) == [".a", "a.", "a..b",
                                                 "first"]


def test_rotating_a_revoked_key_is_refused():
    d = fresh_dir("rotate-revoked")
    ok(d, "create", "gone")
    ok(d, "rotate", "gone", "--grace", "600")
    ok(d, "revoke", "gone")
    p = keys(d, "rotate", "gone")
    assert p.returncode == 1, p
    assert "key is revoked" in p.stderr, p.stderr
    assert "secret=" not in p.stdout
    assert listing(d) == {("gone", 1): "revoked", ("gone", 2): "revoked"}
    # Revoking again is fine and changes nothing.
    ok(d, "revoke", "gone")
    ok(d, "revoke", "gone", "1")
    assert listing(d) == {("gone", 1): "revoked", ("gone", 2): "revoked"}

    # One revoked version of two does not block a rotation.
    ok(d, "create", "half")
    ok(d, "rotate", "half", "--grace", "600")
    ok(d, "revoke", "half", "2")
    p = ok(d, "rotate", "half", "--grace", "0")
    assert "version=3" in p.stdout


def test_missing_master_key_next_to_a_database_is_not_replaced():
    d = fresh_dir("mk-missing")
    ok(d, "create", "a")
    key = os.path.join(d, "master.key")
    db = os.path.join(d, "apiserver.db")
    assert os.path.exists(key) and os.path.exists(db)
    os.rename(key, os.path.join(lib.TMP_ROOT, "cli-mk-missing.key"))
    before = snapshot(d)
    want = "%s is missing but %s exists: %s" % (key, db, MISSING_HINT)

    p = keys(d, "list")
    assert p.returncode == 1, p
    assert want in p.stderr, p.stderr
    assert snapshot(d) == before
    p = keys(d, "create", "b")
    assert p.returncode == 1 and want in p.stderr, p
    assert "secret=" not in p.stdout
    assert snapshot(d) == before

    # The server refuses the same way, before writing anything.
    p = subprocess.run([lib.BIN, "--listen", "127.0.0.1:0", "--data-dir", d,
                        "--insecure-http"], capture_output=True, text=True,
                       timeout=30, stdin=subprocess.DEVNULL)
    assert p.returncode == 1, (p.returncode, p.stderr[-2000:])
    assert want in p.stderr, p.stderr
    assert snapshot(d) == before

    # Put back, everything works again with the old secrets.
    os.rename(os.path.join(lib.TMP_ROOT, "cli-mk-missing.key"), key)
    assert listing(d) == {("a", 1): "active"}


def test_master_key_created_only_for_a_new_database():
    d = fresh_dir("mk-new")
    p = ok(d, "list")
    assert p.stdout == ""
    key = os.path.join(d, "master.key")
    assert os.path.exists(key)
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    assert " warn " not in p.stderr, p.stderr


def test_master_key_readable_by_others_warns_but_works():
    d = fresh_dir("mk-mode")
    ok(d, "create", "m")
    key = os.path.join(d, "master.key")
    for mode in (0o640, 0o604, 0o644):
        os.chmod(key, mode)
        p = ok(d, "list")
        assert " warn " in p.stderr, (oct(mode), p.stderr)
        assert key in p.stderr and "chmod 600" in p.stderr, p.stderr
        assert "m " in p.stdout
    # The server warns in its log too, and still starts.
    s = Server("cli-mk-mode", data_dir=d, tls=False).start()
    try:
        log = s.log()
        assert " warn " in log and "chmod 600 %s" % key in log, log[-2000:]
    finally:
        assert s.stop() == 0
    os.chmod(key, 0o600)
    p = ok(d, "list")
    assert "chmod" not in p.stderr, p.stderr
