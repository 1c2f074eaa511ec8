"""Verification: deterministic checks of what an executor actually changed (the diff, not its
word for it), and evidence from running the verify commands."""
