"""Sizes as the policy writes them: bytes, or a number with a unit (512M, 8G, 1GiB)."""

from __future__ import annotations

import re

UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
SIZE = re.compile(r"^\s*(\d+)\s*([KMGT]?)(?:i?B)?\s*$", re.IGNORECASE)


def parse_size(value: int | str) -> int:
    """Bytes from an int or a size like `512M`, `8G`, `1GiB`; ValueError when it is neither."""
    if isinstance(value, int):
        if value < 1:
            raise ValueError("must be at least 1 byte")
        return value
    found = SIZE.match(value)
    if found is None:
        raise ValueError(f"'{value}' is not a size (bytes, or a number with K, M, G or T: 512M, 8G)")
    return int(found.group(1)) * UNITS[found.group(2).upper()]
