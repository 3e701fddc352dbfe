"""The README's worked example must be right: recompute it here."""
import hashlib
import shutil
import hmac
import os
import re

README = os.path.join(os.path.dirname(__file__), "..", "..", "README.md")


def test_readme_worked_example_signature():
    text = open(README).read()
    block = re.search(r"<!-- worked-example.*?```\n(.*?)```", text,
                      re.S).group(1)
    secret = re.search(r"secret:\s+(\S+)", block).group(1)
    body = re.search(r"body (\{.*\})", block).group(1).encode()
    canon = block.split("canonical:\n", 1)[1].split("\n\nX-API", 1)[0]
    lines = canon.split("\n")
    assert len(lines) == 11 and lines[0] == "APIHMAC1"
    assert lines[10] == hashlib.sha256(body).hexdigest()
    sig = re.search(r"X-API-Signature: ([0-9a-f]{64})", block).group(1)
    want = hmac.new(secret.encode(), canon.encode(), hashlib.sha256)
    assert hmac.compare_digest(sig, want.hexdigest())


def quick_start_commands():
    text = open(README).read()
    section = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    for block in re.findall(r"```sh\n(.*?)```", section, re.S):
        yield block.replace("\\\n", " ")


def test_readme_quick_start_commands_work_as_written():
    import subprocess
    import lib
    from lib import Server
    home = os.path.join(lib.TMP_ROOT, "readme-home")
    os.makedirs(home)
    os.symlink(lib.BIN, os.path.join(home, "apiserver"))
    os.symlink(os.path.abspath(os.path.join(os.path.dirname(README),
                                            "examples")),
               os.path.join(home, "examples"))
    s = Server("readme", data_dir=os.path.join(home, "var")).start()
    try:
        s.admin()       # registers the secret for the log check
        blocks = list(quick_start_commands())
        assert len(blocks) == 4, blocks
        for block in blocks:
            if "node " in block and shutil.which("node") is None:
                print("  (node is not installed: its README line is "
                      "not run)")
                block = "\n".join(l for l in block.splitlines()
                                  if not l.startswith("node "))
            script = block.replace(":8443", ":%d" % s.port)
            p = subprocess.run(["sh", "-ec", script], cwd=home,
                               capture_output=True, text=True, timeout=60)
            assert p.returncode == 0, (block, p.stdout, p.stderr)
            assert re.search(r'"key_id": ?"(admin|edge-7)"', p.stdout), \
                (block, p.stdout)
    finally:
        s.stop()
