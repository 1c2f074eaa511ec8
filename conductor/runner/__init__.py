"""The runner: carries out the engine's decisions. Everything here does I/O (git, the mailbox,
executors) and records each transition in the ledger before acting on it."""
