"""Per-image seeds for batches: each image's randomness depends only on (batch seed, image id).

image_seed(seed, id) = the first 8 bytes (big-endian) of SHA-256("<seed>/<id>"), a 64-bit integer.
So an image's noise, kernel and mask do not change when other files are added, removed or reordered,
and no image's draws are a shifted copy of another's.
"""

from __future__ import annotations

import hashlib


def image_seed(seed: int, image_id: str) -> int:
    """The seed `degrade` gets for image `image_id` in a batch made with `seed` (see module docstring)."""
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    digest = hashlib.sha256(f"{seed}/{image_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big")
