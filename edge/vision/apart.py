"""Touching digits taken apart, broken ones put together, by what the model reads.

Digits written close together, or blurred and thickened by a camera, join into one blob; so
do a digit and the stray piece of its neighbour. Shape rules alone cannot say where one digit
ends: a thin join may be the middle of a 0, a thick one two digits pressed together. So a
group the judge does not take for a digit, and that is wide enough to hold two, is cut at a
few of its thinnest columns, and each cut is shown to the judge: a cut counts when every
piece reads as a digit (a piece that is still too wide may be cut again). The cut whose least
certain piece is most certain wins. A group that no such cut explains, or explains only
unsurely, is read as a run of touching digits: cut at all its thin places at once, the chain
of pieces the judge is surest of (read_runs, read_touching). A group nothing explains stays
unread.

The other way round, a digit written in two strokes that did not meet (a 5's bar, a pencil
line that faded) comes as two pieces the judge rejects on their own; two such pieces stacked
one above the other are put together and shown to the judge as one (read_joined).
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from edge.vision.group import Components, Group, merged
from edge.vision.params import DEFAULT, VisionParams

# How sure the learned judge is that each group is one digit (0..1; 0.5 and up is a digit).
Scores = Callable[[list[Group]], np.ndarray]
# Whether a piece has the size, shape and contrast of a digit at all (no model involved).
Fits = Callable[[Group], bool]


def read_apart(
    groups: list[Group],
    parts: Components,
    score: Scores,
    fits: Fits,
    params: VisionParams = DEFAULT,
    depth: int | None = None,
    slant: float | None = None,
) -> dict[int, list[Group]]:
    """For each group (by index) that cuts into digits, its pieces left to right.

    All cuts of all groups at one depth are judged in one call; pieces still too wide to be
    one digit are cut again, up to params.apart_max_depth levels (that many + 1 digits).
    slant: the writing's lean in columns per row (see cut_lines); None: each group's own.
    """
    depth = params.apart_max_depth if depth is None else depth
    cuts = _cuts(groups, parts, score, fits, params, depth, slant)
    return {i: found for i, (_, found) in cuts.items()}


def _cuts(
    groups: list[Group],
    parts: Components,
    score: Scores,
    fits: Fits,
    params: VisionParams,
    depth: int,
    slant: float | None = None,
) -> dict[int, tuple[float, list[Group]]]:
    """read_apart with each answer's quality: how sure the judge is of its least sure piece."""
    plans: list[tuple[int, Group, Group]] = []
    for index, group in enumerate(groups):
        for cut in cut_lines(group, parts, params, slant):
            cut_pieces = cut_at(group, parts, cut, params)
            if cut_pieces is not None:
                plans.append((index, *cut_pieces))
    if not plans:
        return {}
    pieces = [p for _, left, right in plans for p in (left, right)]
    fitting = [p for p in pieces if fits(p)]
    sure: dict[int, float] = {id(p): 0.0 for p in pieces}
    if fitting:
        for piece, value in zip(fitting, np.asarray(score(fitting), np.float64), strict=True):
            sure[id(piece)] = float(value)
    threshold = params.min_digit_score
    wider = [
        p
        for p in pieces
        if sure[id(p)] < threshold and depth > 1 and p.box[2] >= params.apart_min_aspect * p.box[3]
    ]
    deeper = _cuts(wider, parts, score, fits, params, depth - 1, slant) if wider else {}
    solved = {id(p): deeper[i] for i, p in enumerate(wider) if i in deeper}
    best: dict[int, tuple[float, list[Group]]] = {}
    for index, left, right in plans:
        found: list[Group] = []
        qualities: list[float] = []
        for piece in (left, right):
            if sure[id(piece)] >= threshold:
                found.append(piece)
                qualities.append(sure[id(piece)])
            elif id(piece) in solved:
                found.extend(solved[id(piece)][1])
                qualities.append(solved[id(piece)][0])
            else:
                break
        else:
            # A piece cut again counts with its own least sure piece: an 8 touching a 0 is
            # not better read as 1, 3 and 0 because the 1 alone is sure.
            quality = min(qualities)
            if index not in best or _better(quality, found, *best[index], params):
                best[index] = (quality, found)
    return best


def _better(
    quality: float, found: list[Group], than: float, other: list[Group], params: VisionParams
) -> bool:
    """Whether a cut beats another: surer, or as sure (apart_sure) in fewer pieces."""
    sure = params.apart_sure
    if min(quality, sure) != min(than, sure):
        return quality > than
    if len(found) != len(other):
        return len(found) < len(other)
    return quality > than


# A cut: where it crosses the middle row of the group's box (a column), and its slope: columns
# per row down, 0 for a vertical cut, < 0 leaning forward like a right-slanted digit's stem.
Cut = tuple[int, float]


def cut_lines(
    group: Group, parts: Components, params: VisionParams = DEFAULT, slant: float | None = None
) -> list[Cut]:
    """The cuts to try: the thinnest columns, and the thinnest places along the writing's slant.

    Touching slanted digits meet along their slant: a vertical cut takes the foot of one and
    the head of the other. slant: the row's, in columns per row (see select). Without it, a
    group leaning forward gives its own lean when, upright again, it is at most
    apart_lean_max_aspect as wide as tall (two digits, about): a wider one's lean is as much
    the baseline's tilt, and a group's own backward lean is more often the back of a 3 or a 4
    than the writer's (a 3 and a 4 cut along it read as 3, 6 and 1). Cuts along the slant are
    tried when it leans at least apart_slant_min, clipped to apart_slant_max.
    """
    cuts: list[Cut] = [(column, 0.0) for column in _thinnest(group, parts, 0.0, params)]
    _, _, w, h = group.box
    if w < params.apart_min_aspect * h:
        return cuts  # too narrow to hold two digits, whatever the slope
    if slant is None:
        lean = min(skew(group.own_mask(parts)), 0.0)
        # Two slanted digits are wider by their lean; upright again they are two digits wide.
        slant = lean if w + lean * h <= params.apart_lean_max_aspect * h else 0.0
    if abs(slant) >= params.apart_slant_min:
        slope = min(max(slant, -params.apart_slant_max), params.apart_slant_max)
        cuts += [(column, slope) for column in _thinnest(group, parts, slope, params)]
    return cuts


def skew(own: np.ndarray) -> float:
    """How far a mask's ink leans: columns per row down (mu11 / mu02; < 0 leans forward)."""
    m = cv2.moments(own, binaryImage=True)
    return float(m["mu11"] / m["mu02"]) if m["mu02"] > 0 else 0.0


def _thinnest(
    group: Group, parts: Components, slope: float, params: VisionParams, limit: int | None = None
) -> list[int]:
    """The thinnest places along lines of this slope, as the columns where they cross the
    middle row: local minima of the ink per line (smoothed over three), at least a narrow 1's
    width from either end and from each other, thinnest first, at most `limit`
    (apart_max_cuts)."""
    _, _, w, h = group.box
    if w < params.apart_min_aspect * h:
        return []
    limit = params.apart_max_cuts if limit is None else limit
    own = group.own_mask(parts)
    if slope == 0.0:
        profile = own.sum(axis=0, dtype=np.float32)
        first = 0
    else:
        ys, xs = np.nonzero(own)
        if xs.size == 0:
            return []
        across = np.round(xs - slope * (ys - (h - 1) / 2.0)).astype(np.int64)
        first = int(across.min())
        profile = np.bincount(across - first).astype(np.float32)
    span = profile.size
    ink = cv2.blur(profile.reshape(1, -1), (3, 1)).ravel()
    edge = max(1, round(params.apart_min_piece_aspect * h))
    if span - edge <= edge:
        return []
    inside = np.arange(edge, span - edge)
    left, here, right = ink[inside - 1], ink[inside], ink[np.minimum(inside + 1, span - 1)]
    minima = inside[(here <= left) & (here <= right)]
    chosen: list[int] = []
    spacing = params.apart_min_piece_aspect * h
    for column in minima[np.argsort(ink[minima], kind="stable")]:
        if all(abs(int(column) + first - c) >= spacing for c in chosen):
            chosen.append(int(column) + first)
            if len(chosen) == limit:
                break
    return chosen


def cut_at(
    group: Group, parts: Components, cut: Cut, params: VisionParams = DEFAULT
) -> tuple[Group, Group] | None:
    """The two pieces either side of a cut, each boxed tightly to its own ink."""
    column, slope = cut
    own = group.own_mask(parts)
    left = _across(own, slope) < column
    pieces = []
    for side in (left, ~left):
        piece = _piece(group, own * side.astype(np.uint8), params)
        if piece is None:
            return None
        pieces.append(piece)
    return pieces[0], pieces[1]


def _across(own: np.ndarray, slope: float) -> np.ndarray:
    """Per pixel of a group's mask, the column where the line of this slope through it
    crosses the middle row (the coordinate cuts are given in)."""
    rows_of, cols_of = np.indices(own.shape)
    return np.asarray(cols_of - slope * (rows_of - (own.shape[0] - 1) / 2.0), np.float64)


def _piece(group: Group, mask: np.ndarray, params: VisionParams) -> Group | None:
    """The group's ink left in `mask` (its box's size) as a group boxed tightly to it; None
    when it is shorter than apart_min_piece_height of the group's height."""
    x, y, _, h = group.box
    rows = np.nonzero(mask.any(axis=1))[0]
    if rows.size == 0 or rows[-1] - rows[0] + 1 < params.apart_min_piece_height * h:
        return None
    cols = np.nonzero(mask.any(axis=0))[0]
    r0, r1, c0, c1 = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
    box = (x + c0, y + r0, c1 - c0, r1 - r0)
    return Group(
        box, group.members, float(mask.sum()), _own=np.ascontiguousarray(mask[r0:r1, c0:c1])
    )


def read_joined(
    groups: list[Group], parts: Components, score: Scores, params: VisionParams = DEFAULT
) -> list[tuple[Group, Group, Group]]:
    """Pairs of rejected pieces that read as one digit together: (piece, piece, digit).

    Two pieces pair when they overlap in x by join_min_x_overlap of the narrower one and
    the gap between them is at most join_max_gap of the taller; all pairs are judged in one
    call, the surest first, each piece used once.
    """
    pairs: list[tuple[Group, Group, Group]] = []
    for i, a in enumerate(groups):
        for b in groups[i + 1 :]:
            ax, ay, aw, ah = a.box
            bx, by, bw, bh = b.box
            overlap = min(ax + aw, bx + bw) - max(ax, bx)
            gap = max(by - (ay + ah), ay - (by + bh))
            if overlap < params.join_min_x_overlap * min(aw, bw):
                continue
            if gap > params.join_max_gap * max(ah, bh):
                continue
            whole = merged(a, b, parts)
            if whole.box[2] <= params.max_digit_aspect * whole.box[3]:
                pairs.append((a, b, whole))
    if not pairs:
        return []
    sure = np.asarray(score([joined for _, _, joined in pairs]), np.float64)
    used: set[int] = set()
    found = []
    for k in np.argsort(-sure):
        a, b, joined = pairs[int(k)]
        if sure[k] < params.min_digit_score:
            break
        if id(a) in used or id(b) in used:
            continue
        used |= {id(a), id(b)}
        found.append((a, b, joined))
    return found


def read_touching(
    groups: list[Group],
    parts: Components,
    score: Scores,
    fits: Fits,
    params: VisionParams = DEFAULT,
    slant: float | None = None,
) -> dict[int, list[Group]]:
    """For each group (by index) of touching digits, its digits left to right.

    A group is cut in two or three (read_apart). Where that explains it unsurely (its least
    sure piece under apart_sure) or not at all, it is read as a run (read_runs): a group no
    cut explained takes the run's digits; one cut unsurely takes them only when the run
    finds as many digits, each at least run_sure (the same digits cut better, typically
    along another slant), since a second way of explaining a blob is a second chance to
    explain it wrongly.
    """
    cut = _cuts(groups, parts, score, fits, params, params.apart_max_depth, slant)
    found = {i: pieces for i, (_, pieces) in cut.items()}
    unsure = [i for i in range(len(groups)) if i not in cut or cut[i][0] < params.apart_sure]
    runs = _runs([groups[i] for i in unsure], parts, score, fits, params)
    for k, (quality, pieces) in runs.items():
        i = unsure[k]
        if i not in cut or (len(pieces) == len(cut[i][1]) and quality >= params.run_sure):
            found[i] = pieces
    return found


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
    return {i: pieces for i, (_, pieces) in _runs(groups, parts, score, fits, params).items()}


def _runs(
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
            cuts = sorted(_thinnest(group, parts, slope, params, _run_cut_limit(w, h, params)))
            stretches = _stretches(group, parts, slope, cuts, params)
            if stretches:
                plans.append((index, len(cuts) + 1, stretches))
    if not plans:
        return {}
    pieces = [p for _, _, stretches in plans for p in stretches.values()]
    fitting = [p for p in pieces if fits(p)]
    sure: dict[int, float] = {id(p): 0.0 for p in pieces}
    if fitting:
        for piece, value in zip(fitting, np.asarray(score(fitting), np.float64), strict=True):
            sure[id(piece)] = float(value)
    best: dict[int, tuple[float, list[Group]]] = {}
    for index, end, stretches in plans:
        found = _best_chain(end, stretches, sure, params)
        if found is not None and (index not in best or _better(*found, *best[index], params)):
            best[index] = found
    return best


def _run_cut_limit(width: int, height: int, params: VisionParams = DEFAULT) -> int:
    """How many thin places of a run to try as cuts: run_cuts_per_height per height of width."""
    return max(params.apart_max_cuts, round(params.run_cuts_per_height * width / max(height, 1)))


def _stretches(
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
    across = _across(own, slope)
    inked = across[own > 0]
    if inked.size == 0:
        return {}
    bounds = [float(inked.min()), *[float(c) for c in cuts], float(inked.max()) + 1.0]
    widest = params.run_max_piece_aspect * group.box[3]
    shortest = params.apart_min_piece_height * group.box[3]
    # The cuts lie inside the ink, a narrow 1's width from either end (_thinnest), so the
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


def _best_chain(
    end: int,
    stretches: dict[tuple[int, int], Group],
    sure: dict[int, float],
    params: VisionParams,
) -> tuple[float, list[Group]] | None:
    """The chain of digits from bound 0 to bound `end` whose least sure digit is surest, for
    each number of digits, then the best of those by _better; None when no chain of digits."""
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
        if _better(*other, *choice, params):
            choice = other
    return choice
