"""Provenance: an in-toto statement per accepted step, signed with sigstore when an identity
is available, and the offline checks of `conductor verify`. Only `signing` imports sigstore,
and lazily."""
