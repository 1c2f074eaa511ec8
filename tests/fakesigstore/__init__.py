"""A local, offline Sigstore for tests: fake Fulcio, Rekor v1, CT log and OIDC issuer on 127.0.0.1.

The real `sigstore` client signs against it and the real verifier accepts its bundles given its trust
config; each instance has its own keys and CA, so nothing one instance signs verifies under another::

    with FakeSigstore(tmp_path) as fake:
        context = SigningContext.from_trust_config(fake.trust_config)
        with context.signer(IdentityToken(fake.identity_token("ci@example.com"))) as signer:
            bundle = signer.sign_dsse(statement)
        Verifier(trusted_root=fake.trust_config.trusted_root).verify_dsse(
            bundle, Identity(identity="ci@example.com", issuer=fake.issuer)
        )
"""

from __future__ import annotations

import json
from pathlib import Path
from types import TracebackType

from sigstore.models import ClientTrustConfig

from .ca import FulcioCA
from .ct import CTLog
from .fulcio import Fulcio
from .oidc import FakeIssuer
from .rekor import LogEntry, RekorLog
from .server import Service
from .trust import client_trust_config

__all__ = ["FakeSigstore", "LogEntry"]

TRUST_CONFIG_NAME = "trust_config.json"


class FakeSigstore:
    """One fake Sigstore instance; use as a context manager (servers run from enter to exit)."""

    def __init__(self, directory: Path | str) -> None:
        self.directory = Path(directory)
        self.ct_log = CTLog()
        self.ca = FulcioCA(self.ct_log)
        self.rekor = RekorLog()
        self._services: list[Service] = []
        self._issuer: FakeIssuer | None = None
        self._trust_config_path: Path | None = None
        self._trust_config: ClientTrustConfig | None = None

    def __enter__(self) -> FakeSigstore:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def start(self) -> None:
        """Serve the OIDC issuer, Fulcio and Rekor, and write the trust config into `directory`."""
        if self._services:
            raise RuntimeError("this FakeSigstore is already running")
        path = self.directory / TRUST_CONFIG_NAME
        if path.exists():
            raise FileExistsError(f"{path} exists: use one directory per FakeSigstore")
        try:
            oidc, fulcio, rekor = (Service(name) for name in ("oidc", "fulcio", "rekor"))
            self._services = [oidc, fulcio, rekor]
            self._issuer = FakeIssuer(oidc.url)
            oidc.serve(self._issuer)
            fulcio.serve(Fulcio(self.ca, self._issuer))
            rekor.serve(self.rekor)
            document = client_trust_config(
                fulcio_url=fulcio.url,
                rekor_url=rekor.url,
                oidc_url=self._issuer.url,
                ct_url=f"{fulcio.url}/ct",
                ca_chain=self.ca.chain,
                rekor_key=self.rekor.key,
                ct_key=self.ct_log.key,
                valid_from=self.ca.valid_from,
            )
            self.directory.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
        except BaseException:
            self.close()
            raise
        self._trust_config_path = path
        self._trust_config = ClientTrustConfig.from_json(path.read_text(encoding="utf-8"))

    def close(self) -> None:
        """Stop the servers (the trust config file stays)."""
        services, self._services = self._services, []
        for service in services:
            service.close()

    @property
    def trust_config_path(self) -> Path:
        """The `ClientTrustConfig` JSON file (for `sigstore --trust-config`)."""
        if self._trust_config_path is None:
            raise RuntimeError("FakeSigstore is not started")
        return self._trust_config_path

    @property
    def trust_config(self) -> ClientTrustConfig:
        if self._trust_config is None:
            raise RuntimeError("FakeSigstore is not started")
        return self._trust_config

    @property
    def issuer(self) -> str:
        """The OIDC issuer URL: the `iss` of minted tokens and the certificates' issuer extension."""
        return self._require_issuer().url

    @property
    def fulcio_url(self) -> str:
        return self._services[1].url

    @property
    def rekor_url(self) -> str:
        return self._services[2].url

    @property
    def entries(self) -> list[LogEntry]:
        """The entries Rekor has logged, in log order."""
        return self.rekor.entries

    def identity_token(self, identity: str, *, expired: bool = False) -> str:
        """A raw JWT from this instance's issuer: an email becomes `email`, anything else `sub`."""
        return self._require_issuer().mint(identity, expired=expired)

    def _require_issuer(self) -> FakeIssuer:
        if self._issuer is None:
            raise RuntimeError("FakeSigstore is not started")
        return self._issuer
