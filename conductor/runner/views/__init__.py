"""The read models: status, explain, compare (and the comparison recorded when a run ends),
diff, points in a plan's history, and the handoff metrics. Above logs/."""
