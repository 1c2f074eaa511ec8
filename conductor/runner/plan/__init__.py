"""A plan's life: launched and run (its forks in parallel), explored, replayed, revised,
abandoned, archived, cleaned up. Above fork/, views/, place/, logs/."""
