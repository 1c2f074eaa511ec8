"""Every credential format is redacted from text and from bytes alike, and found, whatever the
cheap checks conductor.secrets makes before running a format's pattern let through."""

from __future__ import annotations

import pytest

from conductor import secrets
from conductor.secrets import Redactor, by_format, find

# The shortest text each format takes, between words, so no other rule is what redacts it.
SAMPLES = {
    "private key": "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----",
    "AWS access key": "A3TX" + "Q" * 16,
    "GitHub token": "ghr_" + "a1" * 18,
    "GitLab token": "glpat-" + "b" * 20,
    "Slack token": "xoxb-1234567890",
    "Slack webhook": "https://hooks.slack.com/services/" + "T0" * 10,
    "Stripe key": "rk_test_" + "c" * 20,
    "API key": "sk-ant-" + "d" * 20,
    "Google API key": "AIza" + "e" * 35,
    "npm token": "npm_" + "f" * 36,
    "PyPI token": "pypi-AgEIcHlwaS5vcmc" + "g" * 50,
    "JWT": "eyJhbGciOiJIU.eyJzdWIiOiIxM.abcdefghij",
}


def test_every_format_has_a_sample() -> None:
    assert set(SAMPLES) == {kind for kind, _ in secrets.FORMATS}


@pytest.mark.parametrize("kind", sorted(SAMPLES))
def test_each_format_is_redacted_in_text_and_in_bytes_and_found(kind: str) -> None:
    text = f"see {SAMPLES[kind]} here"
    assert by_format(text) == f"see [redacted:{kind}] here"
    assert Redactor({}).data(text.encode()) == f"see [redacted:{kind}] here".encode()
    assert find(text) == [(kind, 4)]


@pytest.mark.parametrize(
    "text",
    [
        "PassWord = hunter2hunter2",
        "pa\u017fsword = hunter2hunter2",  # the long s, which a case-insensitive s matches
        "api_\u212aey = hunter2hunter2",  # the Kelvin sign, which a case-insensitive k matches
        "passwd: hunter2hunter2",
        "AWS_SESSION_TOKEN=hunter2hunter2",
    ],
)
def test_a_value_after_a_keyword_is_redacted_in_any_case(text: str) -> None:
    assert by_format(text).endswith("[redacted]")
    assert Redactor({}).data(text.encode()) == by_format(text).encode()


def test_a_password_in_a_url_is_redacted_and_found() -> None:
    text = "clone https://me:hunter2@example.com/x.git"
    assert by_format(text) == "clone https://me:[redacted:password]@example.com/x.git"
    assert find(text) == [("password in a URL", text.index("hunter2"))]


def test_text_without_any_credential_is_left_as_it_is() -> None:
    text = "tests/test_app.py::test_one PASSED\nhttps://example.com/docs\nmonkey business\n"
    assert by_format(text) == text
    assert Redactor({}).data(text.encode()) == text.encode()
    assert find(text) == []
