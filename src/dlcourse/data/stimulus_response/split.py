"""Splitting recordings into training, validation and test sets: whole recordings only."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import numpy as np

from dlcourse.data.stimulus_response.files import Recording


def split_recordings(
    recordings: Sequence[Recording],
    val_fraction: float = 0.15,
    test_fraction: float = 0.15,
    seed: int = 0,
    hold_out: str | None = None,
) -> dict[str, list[Recording]]:
    """``{"train", "val", "test", "unseen"}`` lists of whole recordings.

    Recordings whose ``kind`` is ``hold_out`` go to ``"unseen"`` only. The others are
    shuffled with ``seed`` and spread evenly over the kinds, so that each set gets its share
    of every kind of stimulus; every recording lands in exactly one set.
    """
    if not 0 <= val_fraction < 1 or not 0 <= test_fraction < 1 or val_fraction + test_fraction >= 1:
        raise ValueError("val_fraction and test_fraction must be in [0, 1) with a sum below 1")
    rng = np.random.default_rng(seed)
    unseen = [r for r in recordings if hold_out is not None and r.kind == hold_out]
    groups: dict[str, list[Recording]] = defaultdict(list)
    for r in recordings:
        if hold_out is None or r.kind != hold_out:
            groups[r.kind].append(r)
    keyed = []
    for members in groups.values():
        order = rng.permutation(len(members))
        for rank, i in enumerate(order):
            keyed.append(((rank + 0.5) / len(members), rng.random(), members[i]))
    ordered = [r for *_, r in sorted(keyed, key=lambda k: (k[0], k[1]))]
    n_test = round(len(ordered) * test_fraction)
    n_val = round(len(ordered) * val_fraction)
    if (
        (test_fraction and not n_test)
        or (val_fraction and not n_val)
        or n_test + n_val >= len(ordered)
    ):
        raise ValueError(
            f"{len(ordered)} recordings are too few to give training, validation and test "
            f"recordings with fractions {val_fraction} and {test_fraction}: record more, or "
            "change the fractions"
        )
    return {
        "test": ordered[:n_test],
        "val": ordered[n_test : n_test + n_val],
        "train": ordered[n_test + n_val :],
        "unseen": unseen,
    }
