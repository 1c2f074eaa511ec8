"""Where a step's code lives: the fork's git worktree, the workspace that makes it
self-sufficient, the commit a new plan starts from, the index kept up in the background, and
the detection of what an executor changed there. Above logs/."""
