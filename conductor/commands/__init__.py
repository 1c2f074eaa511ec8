"""The commands behind the CLI: one module per command, each returning an exit code."""
