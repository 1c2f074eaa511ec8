"""What the logs hold: plans in the ledger, a step's record moves and the folded state, the
lessons on refs/conductor/memory, a plan's lock, and a reviewer's approval decision. The
ground floor of the runner: it imports no other room."""
