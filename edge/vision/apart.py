"""Touching digits taken apart, broken ones put together, by what the model reads.

Digits written close together, or blurred and thickened by a camera, join into one blob; so do
a digit and the stray piece of its neighbour. Shape rules alone cannot say where one digit
ends: a thin join may be the middle of a 0, a thick one two digits pressed together. So a group
the judge does not take for a digit, and that is wide enough to hold two, is cut at a few of
its thinnest columns (edge.vision.cuts), and each cut is shown to the judge: a cut counts when
every piece reads as a digit (a piece that is still too wide may be cut again). The cut whose
least certain piece is most certain wins. A group that no such cut explains, or explains only
unsurely, is read as a run of touching digits: cut at all its thin places at once, the chain of
pieces the judge is surest of (edge.vision.chains; read_touching). A group nothing explains
stays unread.

The other way round, a digit written in two strokes that did not meet (a 5's bar, a pencil
line that faded) comes as two pieces the judge rejects on their own; two such pieces stacked
one above the other are put together and shown to the judge as one (read_joined).
"""

from __future__ import annotations

import numpy as np

from edge.vision.chains import chains
from edge.vision.cuts import Fits, Scores, better, cut_at, cut_lines, sureness
from edge.vision.group import Components, Group, merged
from edge.vision.params import DEFAULT, VisionParams


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
    sure = sureness(pieces, score, fits)
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
            if index not in best or better(quality, found, *best[index], params):
                best[index] = (quality, found)
    return best


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
    runs = chains([groups[i] for i in unsure], parts, score, fits, params)
    for k, (quality, pieces) in runs.items():
        i = unsure[k]
        if i not in cut or (len(pieces) == len(cut[i][1]) and quality >= params.run_sure):
            found[i] = pieces
    return found
