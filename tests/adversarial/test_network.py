"""The network by allowlist (issue 19, point 4): with `sandbox.network: [hosts]` a command runs in
a network namespace of its own and reaches only those hosts, through Conductor's proxy; what it
tried and was refused is evidence naming the host, with the way to allow it."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from conductor.sandbox.proxy import Rule
from tests.conftest import NO_SANDBOX, PYTHON, git
from tests.scenario import Project

pytestmark = pytest.mark.skipif(NO_SANDBOX is not None, reason=f"no sandbox: {NO_SANDBOX}")


class Server:
    """A local HTTP server that counts the requests it gets."""

    def __init__(self) -> None:
        self.hits = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.hits += 1
                body = b"hello from the host\n"
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_port
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()  # stop fast

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


# Tries every way out: the allowed port directly, another port directly and through the proxy,
# a raw socket, a name to resolve, a host far away through the proxy.
PROBE = """
import json, os, socket, sys, urllib.request
allowed, other = sys.argv[1], sys.argv[2]
out = {}
def attempt(name, fn):
    try:
        out[name] = "ok: " + fn()
    except Exception as exc:
        out[name] = "refused: " + type(exc).__name__ + " " + str(exc)[:200]
direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))
attempt("allowed", lambda: direct.open(f"http://127.0.0.1:{allowed}/", timeout=5).read().decode())
attempt("other", lambda: direct.open(f"http://127.0.0.1:{other}/", timeout=5).read().decode())
for name in ("NO_PROXY", "no_proxy"):  # through the proxy even for loopback
    os.environ.pop(name, None)
proxied = urllib.request.build_opener(urllib.request.ProxyHandler({"http": os.environ.get("HTTP_PROXY", "")}))
attempt("other_by_proxy", lambda: proxied.open(f"http://127.0.0.1:{other}/x", timeout=5).read().decode())
attempt("far_by_proxy", lambda: proxied.open("http://far.example.invalid/", timeout=5).read().decode())
def raw():
    s = socket.create_connection(("127.0.0.1", int(other)), timeout=5)
    return "connected"
attempt("raw", raw)
attempt("dns", lambda: str(socket.getaddrinfo("example.com", 80)))
open("net.json", "w").write(json.dumps(out))
"""


@pytest.fixture
def servers():
    allowed, other = Server(), Server()
    yield allowed, other
    allowed.close()
    other.close()


def test_a_host_list_lets_through_only_those_hosts_and_says_what_it_refused(
    proj: Project, run_cli, servers
) -> None:
    allowed, other = servers
    policy = proj.root / ".conductor" / "policy.yaml"
    policy.write_text(policy.read_text() + f"\nsandbox:\n  network: ['127.0.0.1:{allowed.port}']\n")
    git(proj.root, "commit", "-qam", "one host")
    probe = proj.scripts / "probe.py"
    probe.write_text(PROBE)
    step = {"title": "Probe", "instruction": "Write net.json", "allowed_files": ["net.json"]}
    command = f"{PYTHON} {probe} {allowed.port} {other.port}"

    result = run_cli("build", "--plan", proj.plan([step]), "--exec", command, "--yes")

    assert result.code == 0, result.err
    seen = json.loads(git(proj.root, "show", f"{proj.branch()}:net.json"))
    assert seen["allowed"] == "ok: hello from the host\n", seen
    for way in ("other", "other_by_proxy", "far_by_proxy", "raw", "dns"):
        assert seen[way].startswith("refused"), (way, seen[way])
    assert allowed.hits == 1 and other.hits == 0
    evidence = proj.record("evidence/step_001/attempt_1/stderr.log")
    assert (
        f"blocked connections (sandbox.network): 127.0.0.1:{other.port}, far.example.invalid:80" in evidence
    )
    assert "allow a host with sandbox: {network: [HOST]}" in evidence
    assert f"127.0.0.1:{other.port}" in result.err


def test_a_plan_can_narrow_the_network_never_widen_it(proj: Project, run_cli) -> None:
    policy = proj.root / ".conductor" / "policy.yaml"
    policy.write_text(policy.read_text() + "\nsandbox:\n  network: [api.example.com, other.example.com]\n")
    git(proj.root, "commit", "-qam", "two hosts")
    from conductor.models.policy import PolicyFile
    from conductor.policy.effective import PolicyLayer
    from conductor.policy.project import effective
    from conductor.runner.logs.plans import PlanRecord  # noqa: F401  (the layers a plan adds)

    def with_plan(network: object) -> object:
        layer = PolicyLayer("plan", PolicyFile.model_validate({"sandbox": {"network": network}}))
        return effective(proj.root, layer).sandbox_network

    assert with_plan(["api.example.com"]) == ["api.example.com"]  # narrower: taken
    assert with_plan(["evil.example.com"]) == ["api.example.com", "other.example.com"]  # wider: not
    assert with_plan(True) == ["api.example.com", "other.example.com"]
    assert with_plan(False) is False


@pytest.mark.parametrize(
    ("text", "host", "port"),
    [
        ("api.openai.com", "api.openai.com", None),
        ("api.openai.com:443", "api.openai.com", 443),
        ("*.googleapis.com", "*.googleapis.com", None),
        ("http://127.0.0.1:8080/v1", "127.0.0.1", 8080),
        ("[::1]:9000", "::1", 9000),
    ],
)
def test_a_host_rule_reads_as_written(text: str, host: str, port: int | None) -> None:
    rule = Rule.parse(text)
    assert (rule.host, rule.port) == (host, port)
    assert Rule.parse("*.googleapis.com").allows("generativelanguage.googleapis.com", 443)
    assert not Rule.parse("*.googleapis.com").allows("googleapis.com.evil.com", 443)
    assert not Rule.parse("api.openai.com:443").allows("api.openai.com", 80)
