"""Where a step's code lives: the fork's workspace (spaces.Workspace) — a git worktree, or
layers over the repository's shared base checkout, picked by choice.py — what makes it
self-sufficient, the commit a new plan starts from, the index kept up in the background, and
the detection of what an executor changed there. Above logs/."""
