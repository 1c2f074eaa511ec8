"""The commands behind the CLI: one module per command, each with one `run(...)` that returns a
`conductor.report.Report` (text, JSON and an exit code). Commands call the runner and the
layers below it, never each other (docs/architecture.md)."""
