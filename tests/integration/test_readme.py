"""The README's worked example must be right: recompute it here."""
import hashlib
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
