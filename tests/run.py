#!/usr/bin/env python3
"""Run the integration tests against the real binary.

usage: run.py [--bin PATH] [FILTER]

Each tests/integration/test_*.py module exports functions named test_*;
they run in file order.  A test passes by returning, fails by raising, and
is skipped by raising lib.Skip.  The last test checks every server log for
any secret a test saw.  Prints "integration: N passed, N failed, N skipped".
"""
import argparse
import importlib.util
import os
import shutil
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import lib  # noqa: E402


def load_modules():
    d = os.path.join(HERE, "integration")
    for name in sorted(os.listdir(d)):
        if name.startswith("test_") and name.endswith(".py"):
            spec = importlib.util.spec_from_file_location(
                name[:-3], os.path.join(d, name))
            mod = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(mod)
            yield name[:-3], mod


def check_logs_hold_no_secret():
    """No secret or signature in any log; no sanitizer report either."""
    for path in lib.LOGS:
        if not os.path.exists(path):
            continue
        text = open(path, errors="replace").read()
        for alarm in ("AddressSanitizer", "LeakSanitizer", "runtime error:"):
            assert alarm not in text, "%s in %s" % (alarm, path)
        for s in lib.SECRETS:
            assert s not in text, "a secret or signature appears in %s" % path


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="./apiserver")
    ap.add_argument("--keep", action="store_true",
                    help="keep the temporary directory")
    ap.add_argument("filter", nargs="?")
    a = ap.parse_args()
    lib.BIN = os.path.abspath(a.bin)
    lib.TMP_ROOT = tempfile.mkdtemp(prefix="apiserver-it-")
    passed = failed = skipped = 0
    tests = []
    for mname, mod in load_modules():
        for fname in [n for n in mod.__dict__ if n.startswith("test_")]:
            tests.append(("%s.%s" % (mname, fname), getattr(mod, fname)))
        if hasattr(mod, "teardown"):
            tests.append(("%s.teardown" % mname, mod.teardown))
    tests.append(("logs_hold_no_secret", check_logs_hold_no_secret))
    for name, fn in tests:
        if a.filter and a.filter not in name and not name.endswith(
                ("teardown", "logs_hold_no_secret")):
            continue
        t0 = time.time()
        try:
            fn()
        except lib.Skip as e:
            skipped += 1
            print("skip %s: %s" % (name, e), flush=True)
            continue
        except Exception:
            failed += 1
            print("FAIL %s" % name, flush=True)
            traceback.print_exc()
            continue
        if not name.endswith("teardown"):
            passed += 1
            print("ok   %s (%.2fs)" % (name, time.time() - t0), flush=True)
    if failed == 0 and not a.keep:
        shutil.rmtree(lib.TMP_ROOT, ignore_errors=True)
    else:
        print("logs kept in %s" % lib.TMP_ROOT)
    print("integration: %d passed, %d failed, %d skipped"
          % (passed, failed, skipped))
    return 0 if failed == 0 and passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
