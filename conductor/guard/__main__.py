"""`python -m conductor.guard` is `conductor-guard` (the native hook calls it this way)."""

from conductor.guard.main import main

raise SystemExit(main())
