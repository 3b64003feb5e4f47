"""A run of touching digits cut at all its thin places at once: the chain of pieces the
judge is surest of (segmentation by recognition), for a whole number written as one blob.
"""

from __future__ import annotations

import numpy as np

from edge.vision.cuts import Fits, Scores, better, cut_columns, sureness, thinnest
from edge.vision.group import Components, Group
from edge.vision.params import DEFAULT, VisionParams


def read_runs(
    groups: list[Group],
    parts: Components,
    score: Scores,
    fits: Fits,
    params: VisionParams = DEFAULT,
) -> dict[int, list[Group]]:
    """For each group (by index) written as a run of touching digits, its digits left to right.

    read_apart cuts a group in two and each piece again, a few levels deep; a whole number
    written as one blob of touching digits needs as many cuts as it has digits. Here every
    thin place along the group is a possible cut at once, every stretch between two of them
    that could be one digit is shown to the judge (all groups' stretches in one call), and
    the cuts chosen are those whose least sure stretch is surest (and, when every stretch is
    at least apart_sure, the fewest): a best path over the cuts (segmentation by
    recognition). The cuts run along each of run_slopes in turn: a run's own lean is as much
    its baseline's tilt as its writer's slant, and the row's slant (read_apart's) comes
    from few digits. A group no chain of two or more digits explains stays unread.
    """
    return {i: pieces for i, (_, pieces) in chains(groups, parts, score, fits, params).items()}


def chains(
    groups: list[Group],
    parts: Components,
    score: Scores,
    fits: Fits,
    params: VisionParams,
) -> dict[int, tuple[float, list[Group]]]:
    """read_runs with each answer's quality: how sure the judge is of its least sure piece."""
    plans: list[tuple[int, int, dict[tuple[int, int], Group]]] = []  # group, last bound, ...
    for index, group in enumerate(groups):
        _, _, w, h = group.box
        for slope in params.run_slopes:
            cuts = sorted(thinnest(group, parts, slope, params, run_cut_limit(w, h, params)))
            stretches = run_stretches(group, parts, slope, cuts, params)
            if stretches:
                plans.append((index, len(cuts) + 1, stretches))
    if not plans:
        return {}
    pieces = [p for _, _, stretches in plans for p in stretches.values()]
    sure = sureness(pieces, score, fits)
    best: dict[int, tuple[float, list[Group]]] = {}
    for index, end, stretches in plans:
        found = best_chain(end, stretches, sure, params)
        if found is not None and (index not in best or better(*found, *best[index], params)):
            best[index] = found
    return best


def run_cut_limit(width: int, height: int, params: VisionParams = DEFAULT) -> int:
    """How many thin places of a run to try as cuts: run_cuts_per_height per height of width."""
    return max(params.apart_max_cuts, round(params.run_cuts_per_height * width / max(height, 1)))


def run_stretches(
    group: Group, parts: Components, slope: float, cuts: list[int], params: VisionParams
) -> dict[tuple[int, int], Group]:
    """The ink between bound i and bound j (0: the ink's left end, 1..: the cuts, then its
    right end) for every pair at most run_max_piece_aspect heights apart, each boxed to its
    own ink.

    Each inked pixel is labelled once with how many bounds lie at or before it (`count`):
    it is in stretch (i, j), bounds[i] <= its place < bounds[j], when i < count <= j. A
    stretch's rows and columns with ink are then the union of its counts' (worked out once
    per count, not once per stretch).
    """
    own = group.own_mask(parts)
    across = cut_columns(own, slope)
    inked = across[own > 0]
    if inked.size == 0:
        return {}
    bounds = [float(inked.min()), *[float(c) for c in cuts], float(inked.max()) + 1.0]
    widest = params.run_max_piece_aspect * group.box[3]
    shortest = params.apart_min_piece_height * group.box[3]
    # The cuts lie inside the ink, a narrow 1's width from either end (thinnest), so the
    # bounds are in order.
    count = np.searchsorted(np.asarray(bounds), across, side="right")
    count[own == 0] = 0  # paper: in no stretch
    # Per count: its ink's first and last row and column, and its pixels (count 0: none).
    ys, xs = np.nonzero(count)
    counts = count[ys, xs]
    extent: list[tuple[int, int, int, int, int] | None] = [None]
    for k in range(1, len(bounds) + 1):
        at = counts == k
        rows, cols = ys[at], xs[at]
        extent.append(
            (int(rows.min()), int(rows.max()), int(cols.min()), int(cols.max()), rows.size)
            if rows.size
            else None
        )
    x, y = group.box[:2]
    found: dict[tuple[int, int], Group] = {}
    for i in range(len(bounds) - 1):
        top = left = 1 << 30
        bottom = right = -1
        area = 0
        for j in range(i + 1, len(bounds)):
            if bounds[j] - bounds[i] > widest:
                break
            here = extent[j]
            if here is not None:
                top, bottom = min(top, here[0]), max(bottom, here[1])
                left, right = min(left, here[2]), max(right, here[3])
                area += here[4]
            if bottom < 0 or bottom - top + 1 < shortest:
                continue
            inside = count[top : bottom + 1, left : right + 1]
            mask = ((inside > i) & (inside <= j)).view(np.uint8)
            box = (x + left, y + top, right - left + 1, bottom - top + 1)
            found[(i, j)] = Group(box, group.members, float(area), _own=mask)
    return found


def best_chain(
    end: int,
    stretches: dict[tuple[int, int], Group],
    sure: dict[int, float],
    params: VisionParams,
) -> tuple[float, list[Group]] | None:
    """The chain of digits from bound 0 to bound `end` whose least sure digit is surest, for
    each number of digits, then the best of those by better; None when no chain of digits."""
    # best[bound][count] = (the least sureness on the way there, the stretches)
    best: list[dict[int, tuple[float, list[Group]]]] = [{} for _ in range(end + 1)]
    best[0][0] = (1.0, [])
    for (i, j), piece in sorted(stretches.items(), key=lambda item: item[0][1]):
        value = sure[id(piece)]
        if value >= params.min_digit_score:
            for count, (quality, chain) in best[i].items():
                candidate = (min(quality, value), [*chain, piece])
                held = best[j].get(count + 1)
                if held is None or candidate[0] > held[0]:
                    best[j][count + 1] = candidate
    chains = [found for count, found in best[end].items() if count >= 2]
    if not chains:
        return None
    choice = chains[0]
    for other in chains[1:]:
        if better(*other, *choice, params):
            choice = other
    return choice
