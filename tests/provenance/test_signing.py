"""Signed provenance end to end: the real sigstore library signs each accepted step against a
local fake Fulcio + Rekor, and `conductor verify` (and the real `sigstore` CLI) check it."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from conductor.ledger import refs
from conductor.provenance import signing
from tests.conftest import conductor_bin, git, run_process
from tests.fakesigstore import FakeSigstore
from tests.provenance.tamper import flip, rewrite_tip
from tests.scenario import HELLO_STEPS, Project, build

IDENTITY = "ci@example.com"
HELLO = {"write": {"hello.py": "def greet(name):\n    return f'Hello, {name}!'\n"}}
TEST = {"write": {"test_hello.py": "import hello\n\nassert hello.greet('a') == 'Hello, a!'\n"}}
SIGSTORE_CLI = Path(sys.executable).parent / "sigstore"


def run_build(proj: Project, run_cli, *extra: str):
    plan = proj.plan(HELLO_STEPS)
    return build(run_cli, proj, plan, proj.agent({"step_001": [HELLO], "step_002": [TEST]}), *extra)


SIGNER: list[FakeSigstore] = []
"""The fake sigstore that signed the prebuilt `signed` project, running for the whole test process."""


@pytest.fixture
def fake_sigstore(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[FakeSigstore]:
    """A fake sigstore of the test's own, trusted through CONDUCTOR_TRUST_CONFIG; for a test that
    asks for `signed`, the one that signed the project it copies (its bundles verify under no other)."""
    if "signed" in request.fixturenames:
        if not SIGNER:
            SIGNER.append(FakeSigstore(tmp_path_factory.mktemp("signer")))
            SIGNER[0].start()
        monkeypatch.setenv("CONDUCTOR_TRUST_CONFIG", str(SIGNER[0].trust_config_path))
        yield SIGNER[0]
        return
    with FakeSigstore(tmp_path / "sigstore") as instance:
        monkeypatch.setenv("CONDUCTOR_TRUST_CONFIG", str(instance.trust_config_path))
        yield instance


@pytest.fixture
def signed(prebuilt, run_cli, fake_sigstore: FakeSigstore, monkeypatch: pytest.MonkeyPatch) -> Project:
    """A copy of the project whose two steps were built and signed as IDENTITY (once per test
    process), with SIGSTORE_ID_TOKEN set as it was."""
    token = fake_sigstore.identity_token(IDENTITY)
    monkeypatch.setenv("SIGSTORE_ID_TOKEN", token)

    def make(proj: Project) -> None:
        result = run_build(proj, run_cli)
        assert result.code == 0, result.err
        assert f"signing provenance as {IDENTITY} (SIGSTORE_ID_TOKEN)" in result.err
        assert len(fake_sigstore.entries) == 2  # one Rekor entry per accepted step
        # the token itself is nowhere in the repository
        objects = subprocess.run(
            ["git", "cat-file", "--batch-all-objects", "--batch"],
            cwd=proj.root,
            capture_output=True,
            check=True,
        ).stdout
        assert len(objects) > 10_000 and token.split(".")[2].encode() not in objects

    return prebuilt("signed", make)


def verify(run_cli, fake_sigstore: FakeSigstore, *args: str, identity: str = IDENTITY) -> tuple[int, dict]:
    result = run_cli("verify", "--identity", identity, "--issuer", fake_sigstore.issuer, *args, "--json")
    (report,) = json.loads(result.out)["plans"]  # every plan: the one these tests build
    return result.code, report


def signature_failures(data: dict) -> dict[str, str]:
    return {
        s["step"]: c["detail"]
        for s in data["steps"]
        for c in s["checks"]
        if not c["ok"] and c["check"] == "signature"
    }


def replace_bundle(proj: Project, step: str, bundle: bytes) -> None:
    path = f"completed/{step}.provenance.sigstore.json"
    rewrite_tip(proj.root, refs.fork_log(proj.only_plan(), "main"), path, lambda _: bundle)


def sign_as(fake_sigstore: FakeSigstore, statement: bytes, identity: str) -> bytes:
    from sigstore import dsse
    from sigstore.oidc import IdentityToken
    from sigstore.sign import SigningContext

    context = SigningContext.from_trust_config(fake_sigstore.trust_config)
    with context.signer(IdentityToken(fake_sigstore.identity_token(identity))) as signer:
        return signer.sign_dsse(dsse.Statement(statement)).to_json().encode()


def test_every_step_is_signed_and_verifies_for_its_identity_and_issuer(
    signed: Project, run_cli, fake_sigstore: FakeSigstore
) -> None:
    # (prebuilding `signed` saw one Rekor entry logged per accepted step)
    code, data = verify(run_cli, fake_sigstore)
    assert code == 0 and data["ok"] is True
    assert [s["signed"] for s in data["steps"]] == [True, True]
    text = run_cli("verify", "--identity", IDENTITY, "--issuer", fake_sigstore.issuer)
    assert text.code == 0 and f"signed by {IDENTITY} ({fake_sigstore.issuer})" in text.out
    events = [e for e in signed.events() if e.type.value == "task.completed"]
    assert all(e.data["signed"] and e.data["signed_by"] == IDENTITY for e in events)


def test_a_wrong_identity_or_issuer_fails(signed: Project, run_cli, fake_sigstore: FakeSigstore) -> None:
    code, data = verify(run_cli, fake_sigstore, identity="mallory@example.com")
    assert code == 1
    assert set(signature_failures(data)) == {"step_001", "step_002"}
    wrong_issuer = run_cli("verify", "--identity", IDENTITY, "--issuer", "https://issuer.invalid", "--json")
    assert wrong_issuer.code == 1
    (report,) = json.loads(wrong_issuer.out)["plans"]
    assert "does not verify" in signature_failures(report)["step_001"]


@pytest.mark.parametrize("at", [60, 700, 1500, -40])
def test_a_flipped_byte_in_a_bundle_is_caught(
    signed: Project, run_cli, fake_sigstore: FakeSigstore, at: int
) -> None:
    bundle = signed.record("completed/step_002.provenance.sigstore.json").encode()
    replace_bundle(signed, "step_002", flip(bundle, at))
    code, data = verify(run_cli, fake_sigstore)
    assert code == 1
    assert list(signature_failures(data)) == ["step_002"]
    assert [s["ok"] for s in data["steps"]] == [True, False]


def test_a_tampered_signed_statement_fails_its_signature_too(
    signed: Project, run_cli, fake_sigstore: FakeSigstore
) -> None:
    statement = signed.record("completed/step_001.provenance.json").encode()
    tampered = statement.replace(b'"level":"', b'"level":"x', 1)
    assert tampered != statement
    rewrite_tip(
        signed.root,
        refs.fork_log(signed.only_plan(), "main"),
        "completed/step_001.provenance.json",
        lambda _: tampered,
    )
    code, data = verify(run_cli, fake_sigstore)
    assert code == 1
    assert signature_failures(data) == {"step_001": "the bundle signs a different statement"}


def test_a_bundle_from_another_identity_or_instance_or_step_is_caught(
    signed: Project, run_cli, fake_sigstore: FakeSigstore, tmp_path: Path
) -> None:
    statement = signed.record("completed/step_001.provenance.json").encode()
    replace_bundle(signed, "step_001", sign_as(fake_sigstore, statement, "mallory@example.com"))
    code, data = verify(run_cli, fake_sigstore)
    assert code == 1 and "does not verify" in signature_failures(data)["step_001"]
    # without an identity policy the signature is still checked, and its signer named
    loose = run_cli("verify")
    assert loose.code == 0
    assert "valid signature by mallory@example.com; identity not checked" in loose.out

    with FakeSigstore(tmp_path / "other") as other:
        replace_bundle(signed, "step_001", sign_as(other, statement, IDENTITY))
    code, data = verify(run_cli, fake_sigstore)
    assert code == 1 and "does not verify" in signature_failures(data)["step_001"]

    second = signed.record("completed/step_002.provenance.sigstore.json").encode()
    replace_bundle(signed, "step_001", second)
    code, data = verify(run_cli, fake_sigstore)
    assert signature_failures(data) == {"step_001": "the bundle signs a different statement"}


@pytest.mark.slow
def test_the_sigstore_cli_verifies_a_record_against_the_step_bundle(
    signed: Project, fake_sigstore: FakeSigstore, tmp_path: Path
) -> None:
    record = tmp_path / "step_001.result.json"
    record.write_bytes(signed.record("completed/step_001.result.json").encode())
    bundle = tmp_path / "step_001.sigstore.json"
    bundle.write_bytes(signed.record("completed/step_001.provenance.sigstore.json").encode())

    def cli(identity: str, artifact: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                *(
                    str(SIGSTORE_CLI),
                    "--trust-config",
                    str(fake_sigstore.trust_config_path),
                    "verify",
                    "identity",
                ),
                *("--offline", "--bundle", str(bundle), "--cert-identity", identity),
                *("--cert-oidc-issuer", fake_sigstore.issuer, str(artifact)),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    ok = cli(IDENTITY, record)
    assert ok.returncode == 0, ok.stderr
    assert cli("mallory@example.com", record).returncode != 0
    record.write_bytes(flip(record.read_bytes(), 10))
    assert cli(IDENTITY, record).returncode != 0


def test_no_sign_records_unsigned_provenance_even_with_an_identity(
    proj: Project, run_cli, fake_sigstore: FakeSigstore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SIGSTORE_ID_TOKEN", fake_sigstore.identity_token(IDENTITY))
    result = run_build(proj, run_cli, "--no-sign")
    assert result.code == 0, result.err
    assert "signing provenance" not in result.err and fake_sigstore.entries == []
    assert (
        git(proj.root, "ls-tree", "-r", "--name-only", refs.fork_log(proj.only_plan(), "main")).count(
            "provenance.json"
        )
        == 2
    )
    assert "sigstore" not in git(
        proj.root, "ls-tree", "-r", "--name-only", refs.fork_log(proj.only_plan(), "main")
    )
    assert run_cli("verify").code == 0
    code, data = verify(run_cli, fake_sigstore)
    assert code == 1 and signature_failures(data)["step_001"] == "unsigned (an identity is required)"


@pytest.mark.parametrize("how", ["policy", "flag"])
def test_required_signing_without_an_identity_fails_before_any_work(
    proj: Project, run_cli, fake_sigstore: FakeSigstore, how: str
) -> None:
    extra: tuple[str, ...] = ("--sign",)
    if how == "policy":
        policy = proj.root / ".conductor" / "policy.yaml"
        policy.write_text(policy.read_text() + "\nprovenance:\n  sign: always\n")
        git(proj.root, "commit", "-q", "-am", "always sign")
        extra = ()
    result = run_build(proj, run_cli, *extra)
    assert result.code == 1
    assert "signing is required (--sign or provenance.sign: always)" in result.err
    assert "no sigstore identity is available" in result.err and "SIGSTORE_ID_TOKEN" in result.err
    assert proj.ledger().plans() == []


def test_explore_and_resume_also_refuse_to_start_without_an_identity(
    proj: Project, run_cli, fake_sigstore: FakeSigstore
) -> None:
    command = proj.agent({"*": [HELLO]})
    explored = run_cli(
        "explore", "Add hello", "--strategy", "a", "--strategy", "b", "--exec", command, "--sign"
    )
    assert explored.code == 1 and "signing is required" in explored.err
    assert proj.ledger().plans() == []
    halted = run_cli("build", "Add hello.py", "--exec", command, "--no-sign")  # LOW confidence: waits
    assert halted.code == 1 and "needs approval" in halted.err
    resumed = run_cli("resume", "--sign", "--yes")
    assert resumed.code == 1 and "signing is required" in resumed.err
    assert proj.state().status.value == "halted"


def test_by_default_bundles_are_checked_offline_against_the_public_sigstore_root(
    signed: Project, run_cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CONDUCTOR_TRUST_CONFIG")
    code, data = verify_json_plain(run_cli)
    assert code == 1  # the local instance's certificates do not chain to the public root
    assert all("does not verify" in detail for detail in signature_failures(data).values())
    assert len(signature_failures(data)) == 2


def verify_json_plain(run_cli) -> tuple[int, dict]:
    result = run_cli("verify", "--json")
    (report,) = json.loads(result.out)["plans"]
    return result.code, report


def test_a_bad_trust_config_is_named(signed: Project, run_cli, tmp_path: Path) -> None:
    bad = tmp_path / "trust.json"
    bad.write_text('{"mediaType": "nonsense"}')
    result = run_cli("verify", "--trust-config", str(bad))
    assert result.code == 1
    assert f"{bad}: not a sigstore client trust config" in result.err
    missing = run_cli("verify", "--trust-config", str(tmp_path / "nope.json"))
    assert missing.code == 1 and "cannot read the trust config" in missing.err and "nope.json" in missing.err


@pytest.mark.slow  # end to end, half a second or more: the fast tier stays under a minute
def test_an_expired_token_is_refused_when_required_and_skipped_in_auto_mode(
    proj: Project, run_cli, fake_sigstore: FakeSigstore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SIGSTORE_ID_TOKEN", fake_sigstore.identity_token(IDENTITY, expired=True))
    required = run_build(proj, run_cli, "--sign")
    assert required.code == 1 and "the identity token from SIGSTORE_ID_TOKEN is not usable" in required.err
    assert proj.ledger().plans() == []
    auto = build(run_cli, proj, "plan.yaml", proj.agent({"step_001": [HELLO], "step_002": [TEST]}))
    assert auto.code == 0, auto.err
    assert "provenance recorded unsigned: the identity token from SIGSTORE_ID_TOKEN" in auto.err


def test_a_signing_failure_keeps_the_step_and_says_so(
    proj: Project, run_cli, fake_sigstore: FakeSigstore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SIGSTORE_ID_TOKEN", fake_sigstore.identity_token(IDENTITY))
    fake_sigstore.close()  # Fulcio and Rekor are gone: every signature fails
    result = run_build(proj, run_cli, "--sign")
    assert result.code == 0, result.err
    assert "step_001: provenance recorded UNSIGNED: signing failed:" in result.err
    completed = [e for e in proj.events() if e.type.value == "task.completed"]
    assert [e.step for e in completed] == ["step_001", "step_002"]
    assert all(e.data["signed"] is False and "signing failed" in e.data["signing_error"] for e in completed)
    assert run_cli("verify").code == 0
    assert run_cli("verify", "--require-signature").code == 1


@pytest.mark.slow  # end to end, half a second or more: the fast tier stays under a minute
def test_verify_without_an_identity_says_so_once_without_the_librarys_warning(
    signed: Project, run_cli
) -> None:
    """Our line says the identity was not checked; sigstore's own "unsafe (no-op) verification
    policy used!" warning beside it (a real process, where the library's logging reaches
    stderr) only alarms."""
    result = run_process(conductor_bin(), "verify", cwd=signed.root)
    assert result.code == 0, result.out + result.err
    assert f"valid signature by {IDENTITY}; identity not checked" in result.out
    assert "unsafe" not in result.err and "no verification performed" not in result.err, result.err


def test_a_run_with_no_ambient_credential_in_reach_never_imports_sigstore_to_look() -> None:
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from conductor.provenance import signing\n"
        "signing.GCP_PRODUCT_FILE = Path('/nonexistent/product_name')\n"
        "assert signing.find_identity() is None\n"
        "assert 'sigstore.oidc' not in sys.modules, 'imported sigstore to find nothing'\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in (*signing.AMBIENT_ENV, signing.TOKEN_ENV)}
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr


def test_where_an_ambient_detector_would_look_sigstore_looks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(signing.TOKEN_ENV, raising=False)
    monkeypatch.setenv("GITHUB_ACTIONS", "true")  # without the token request variables: unusable
    monkeypatch.delenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN", raising=False)
    with pytest.raises(signing.SigningError, match="ambient credentials were found but not usable"):
        signing.find_identity()


def test_the_gate_knows_every_ambient_detector_sigstore_runs() -> None:
    """An `id` release with a new detector (or a new variable to look for) fails here, so the
    gate in front of it is widened rather than silently skipping it."""
    import inspect

    import id as oidc_id
    from id._internal.oidc import ambient

    detectors = set(re.findall(r"\bdetect_\w+", inspect.getsource(oidc_id.detect_credential)))
    detectors.discard("detect_credential")
    assert detectors == {
        "detect_github",
        "detect_gcp",
        "detect_buildkite",
        "detect_gitlab",
        "detect_circleci",
    }
    sources = "".join(inspect.getsource(getattr(ambient, name)) for name in sorted(detectors))
    gates = set(re.findall(r'if not os\.getenv\("(\w+)"\)', sources))
    gates |= set(re.findall(r'os\.getenv\("(GOOGLE_\w+)"\)', sources))
    assert gates == set(signing.AMBIENT_ENV), gates
    assert str(signing.GCP_PRODUCT_FILE) == ambient._GCP_PRODUCT_NAME_FILE
