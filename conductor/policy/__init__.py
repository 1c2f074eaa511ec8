"""Policy as code: merging policy layers with origins, and matching protected patterns.

`patterns` imports no pydantic, so the guard hook can use it.
"""
