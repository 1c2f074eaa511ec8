"""The engine: pure decisions. Given a fork's recorded state it says what happens next; it does
no I/O, so the same events always lead to the same decisions (and resume is just replay)."""
