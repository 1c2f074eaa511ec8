"""The guard: refuses commits that touch protected files. Starts fast: no pydantic, no pygit2."""
