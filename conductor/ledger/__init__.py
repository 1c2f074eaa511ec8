"""The ledger: Conductor's state, kept as commits on refs in the repository itself.

This package is the only place that imports pygit2. See docs/storage.md for the layout.
"""
