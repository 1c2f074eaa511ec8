"""Conductor: orchestrates AI coding agents inside a git repository."""

__version__ = "0.1.0"
