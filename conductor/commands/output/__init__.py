"""What commands show: the JSON contract of every `--json` document (contract.py, docs/json.md)
and the reports several commands print alike. Commands import these; these import no command."""
