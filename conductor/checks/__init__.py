"""Checks of an attempt: deterministic rules on what an executor actually changed (the diff,
not its word for it), and evidence from running the step's verify commands."""
