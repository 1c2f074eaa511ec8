"""A model server that could not be reached, said so the user can act on it: a refused
connection (is the server running?), a host name that does not resolve, or no answer in time
(llm.timeout_seconds). The SDKs wrap the socket error two or three times; it is found in
the exception's causes, so nothing here imports an SDK."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

from conductor.llm.provider import TransientLLMError

URL_SETTINGS = "--base-url / llm.base_url"


def unreachable(
    url: str,
    exc: BaseException,
    *,
    timed_out: bool,
    timeout_seconds: float,
    service: str = "",
    settings: str = URL_SETTINGS,
) -> TransientLLMError:
    """The error for a failed call to `url` (named `service at url` when a service is given);
    `timed_out` when the SDK says so, `settings` where the URL comes from."""
    where = f"{service} at {url}" if service else url
    causes = list(_causes(exc))
    if timed_out or any(isinstance(cause, TimeoutError) for cause in causes):
        return TransientLLMError(
            f"{where} did not answer within {timeout_seconds:g} s (timed out)",
            hint=(
                "a large model or a long answer can take longer: raise llm.timeout_seconds in"
                f" .conductor/config.yaml (now {timeout_seconds:g}); or check that the server answers"
            ),
        )
    if any(isinstance(cause, ConnectionRefusedError) for cause in causes):
        return TransientLLMError(
            f"cannot reach {where}: connection refused",
            hint=f"is the server running at that URL? (check {settings})",
        )
    if any(isinstance(cause, socket.gaierror) for cause in causes):
        host = urlsplit(url).hostname or url
        return TransientLLMError(
            f"cannot reach {where}: no such host '{host}' (the name does not resolve)",
            hint=f"check the host name in {settings}, and that this machine is online",
        )
    return TransientLLMError(f"cannot reach {where}: {type(exc).__name__}: {exc}")


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """`exc` and what caused it, outermost first (each once: a chain can loop)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__
