"""Conductor's data types: the task/result file contract, plans, policy files and events.

Submodules are imported directly (``from conductor.models.task import TaskFile``) so that a
command pays only for the models it uses; ``event`` has no pydantic dependency at all.
"""
