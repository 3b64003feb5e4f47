"""Greyscale frame -> ink map: how much darker (or lighter) than its own paper each pixel is.

Camera frames are lit unevenly, so no single grey level separates ink from paper. The paper's
brightness is estimated everywhere (a morphological closing removes the strokes, on a small
copy so it is cheap) and each pixel is divided by it: a reflectance image where paper is 1
whatever the light. Thresholds are then set from that image's own noise, with a floor, so a
blank or noisy frame produces no ink at all instead of amplified noise. Ruled lines are
removed from the thresholded mask (edge.vision.lines).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

import cv2
import numpy as np

from edge.vision.lines import remove_lines
from edge.vision.params import DEFAULT, VisionParams

logger = logging.getLogger(__name__)

MEDIAN_MIN_WIDTH_PX = 64  # see median_blur

# Ink contrast is 0 (paper) .. 255 (black ink on white paper) in the ink map; the thresholds
# and sizes are in edge.vision.params.
MAD_TO_SIGMA = 1.4826  # median absolute deviation -> standard deviation of Gaussian noise


@dataclass
class InkMap:
    ink: np.ndarray  # uint8 HxW: 0 paper .. 255 full contrast ink
    smooth: np.ndarray  # the ink map after a small mean: what thresholds are applied to
    mask: np.ndarray  # uint8 HxW 0/1: candidate ink, ruled lines removed
    low: int  # ink level where the mask starts
    strong: int  # lowest ink level a digit must reach somewhere, whatever the noise
    light_on_dark: bool


def ink_map(
    gray: np.ndarray, params: VisionParams = DEFAULT, *, tight: bool = False, crop: bool = False
) -> InkMap:
    """Flatten the lighting, find the ink polarity, threshold and remove ruled lines.

    tight: the image may be a tight crop of one digit, whose ink can cover a third of it.
    crop: it is also small (a cell cut from a form or grid, enlarged for the analysis), so
    paper is most of its pixels and no shadow covers half of it: the majority rule may
    decide the polarity where thick strokes confuse the stroke test.
    """
    halvings = small_copy_halvings(min(gray.shape), params)
    factor = 2**halvings
    small = halve(gray, halvings)
    # A cell is cut through its digit: its strokes reach the edge whatever their colour
    # (light there is writing, not lighting), and the reflection of a stroke at the edge is
    # what keeps the paper level up there (see extrapolate).
    cell = tight and crop
    light_on_dark = is_light_on_dark(small, params, edge_light=cell)
    if cell:
        light_on_dark = majority_polarity(small, params, default=light_on_dark)
    if light_on_dark:
        gray, small = cv2.bitwise_not(gray), cv2.bitwise_not(small)
    paper = paper_brightness(small, gray.shape, factor, params, brighten=cell)
    ink = cv2.bitwise_not(cv2.divide(gray, paper, scale=255))
    # A small mean before thresholding: sensor noise no longer makes specks, strokes lose
    # little, and a thin line tilted a few degrees stays one connected run.
    smooth = cv2.blur(ink, (params.smooth_px, params.smooth_px))
    low = ink_threshold(smooth, params, tight=tight)
    mask = lined_mask(smooth, low, params)
    strong = max(params.min_strong_contrast, round(params.strong_over_low * low))
    # A camera frame's ink tops out where its black is (max_strong_contrast); an enlarged
    # crop's threshold is high because its ink fills it, and there the rule stays whole.
    highest = 255 if crop else params.max_strong_contrast
    return InkMap(
        ink=ink,
        smooth=smooth,
        mask=mask,
        low=low,
        strong=min(strong, highest),
        light_on_dark=light_on_dark,
    )


def lined_mask(smooth: np.ndarray, low: int, params: VisionParams = DEFAULT) -> np.ndarray:
    """The candidate ink (0/1): the smoothed map from `low` up, ruled lines removed."""
    _, mask = cv2.threshold(smooth, low, 1, cv2.THRESH_BINARY)
    return remove_lines(mask, params)


def relined(inks: InkMap, params: VisionParams = DEFAULT) -> InkMap:
    """The same ink map with its lines found again under other line parameters."""
    return replace(inks, mask=lined_mask(inks.smooth, inks.low, params))


def lowered(inks: InkMap, factor: float, params: VisionParams = DEFAULT) -> InkMap:
    """The same ink map with candidate ink starting at `factor` of its threshold.

    The contrast rule's level (`strong`) stays: what the lower threshold adds is judged as
    faint ink (edge.vision.faint.faint_alone), never as clearly inked writing.
    """
    low = max(params.min_low_threshold, round(factor * inks.low))
    return replace(inks, mask=lined_mask(inks.smooth, low, params), low=low)


def small_copy_halvings(short_side: int, params: VisionParams = DEFAULT) -> int:
    """How often to halve a frame for the paper estimate, keeping its short side large enough."""
    halvings = 0
    while (
        halvings < params.small_copy_max_halvings
        and short_side >= params.small_copy_min_side_px * 2 ** (halvings + 1)
    ):
        halvings += 1
    return halvings


def is_light_on_dark(
    small: np.ndarray, params: VisionParams = DEFAULT, *, edge_light: bool = False
) -> bool:
    """True when the writing is lighter than its surroundings (chalk, white pen, inverted scans).

    Strokes are thin features that stand out from the paper on one side only. A pixel counts
    as dark ink by how much it is darker than both the local paper level (a wide median, which
    sits on the paper, the hole of a 0 included) and its closing (so shadow edges and lighting
    steps, which are not thin, do not count); light ink likewise with the opening. Light
    that reaches the border does not count unless `edge_light` (see light_wins), nor, once
    light has won, glare: a bright patch wider than a stroke, or a round one the sensor
    clipped. The wide median is a small median of a further shrunk copy (OpenCV's large
    medians are slow).
    """
    h, w = small.shape
    big_enough = min(small.shape) >= params.paper_median_min_side_px
    coarse = halve(small, params.paper_median_halvings if big_enough else 0)
    paper = cv2.resize(
        median_blur(coarse, params.paper_median_px), (w, h), interpolation=cv2.INTER_LINEAR
    )
    kernel = _rect((params.stroke_kernel_px, params.stroke_kernel_px))
    darker = cv2.min(
        cv2.subtract(paper, small),
        cv2.subtract(cv2.morphologyEx(small, cv2.MORPH_CLOSE, kernel), small),
    )
    tophat = cv2.subtract(small, cv2.morphologyEx(small, cv2.MORPH_OPEN, kernel))
    lighter = cv2.min(cv2.subtract(small, paper), tophat)
    spread = cv2.calcHist([cv2.absdiff(small, paper)], [0], None, [256], [0, 256]).ravel()
    noise = MAD_TO_SIGMA * float(np.searchsorted(np.cumsum(spread), 0.5 * spread.sum()))
    if not light_wins(small, darker, lighter, noise, params, edge_light):
        return False
    # A glare's bright patch is no stroke: it stands out from a wider opening far more than
    # from the stroke kernel's, where a stroke (narrower than the kernel) is gone from both.
    # Asked only when light has won (most frames are dark writing): glare can only take a
    # frame away from light writing.
    wide = _rect((params.glare_kernel_px, params.glare_kernel_px))
    broad = cv2.subtract(small, cv2.morphologyEx(small, cv2.MORPH_OPEN, wide))
    lighter[tophat.astype(np.float32) < params.glare_stroke_share * broad] = 0
    # A smaller patch stands out as a stroke would, but it is where the sensor clipped, and
    # round: clipped chalk (an overexposed board) is strokes, long or ring-shaped.
    clipped = (small >= params.glare_clipped_level).astype(np.uint8)
    _, labels, stats, _ = cv2.connectedComponentsWithStats(clipped)
    wide_px, high_px, area = stats[:, 2], stats[:, 3], stats[:, 4]
    short, long = np.minimum(wide_px, high_px), np.maximum(wide_px, high_px)
    patch = (area >= 0.5 * wide_px * high_px) & (short >= 2) & (long <= 3 * short)
    patch[0] = False  # not clipped
    margin = _rect((params.glare_margin_px, params.glare_margin_px))
    lighter[cv2.dilate(patch[labels].astype(np.uint8), margin) > 0] = 0
    return light_wins(small, darker, lighter, noise, params, edge_light)


def light_wins(
    small: np.ndarray,
    darker: np.ndarray,
    lighter: np.ndarray,
    noise: float,
    params: VisionParams,
    edge_light: bool,
) -> bool:
    """is_light_on_dark's verdict from how much darker and lighter than the paper (and than
    their closing and opening) each pixel of `small` is."""
    h, w = small.shape
    # Strokes stand far out; paper enclosed by strokes only a little (the median is pulled
    # towards dense writing), so only deviations near the strongest one count.
    strongest = max(cv2.minMaxLoc(darker)[1], cv2.minMaxLoc(lighter)[1])
    beyond = max(
        params.polarity_min_contrast,
        params.polarity_noise_factor * noise,
        params.polarity_near_strongest * strongest,
    )
    dark_ink = float(np.maximum(darker.astype(np.float32) - beyond, 0).sum())
    light = np.maximum(lighter.astype(np.float32) - beyond, 0)
    # Dark writing is far more common; light needs a clear majority and some substance.
    substance = small.size / params.light_ink_px_per_level
    least, needed = dark_ink + substance, params.light_ink_margin * dark_ink + substance
    lit = float(light.sum())
    if lit <= least:
        return False
    # Unless the paper itself is dark: strokes of chalk or a felt tip as thick as the stroke
    # kernel hardly count as thin light features, while the paper they enclose (the holes of
    # an 8) counts as thin dark ones. Then the grey levels say it (most pixels dark paper, the
    # light tail far from them; asked only when it matters), and light needs only a majority.
    dark_paper: bool | None = None
    if lit <= needed:
        dark_paper = grey_levels_light(small, params)
        if not dark_paper:
            return False
    if edge_light:
        return True
    # Light that reaches the frame's edge is taken for lighting (a sunlit strip beside a
    # shadow, a window), not writing: writing that stands clear of the border decides, and
    # chalk cut by the frame's edge loses its say too.
    _, labels, stats, _ = cv2.connectedComponentsWithStats((light > 0).astype(np.uint8))
    left, top = stats[:, 0], stats[:, 1]
    right, bottom = left + stats[:, 2], top + stats[:, 3]
    at_edge = (left == 0) | (top == 0) | (right == w) | (bottom == h)
    at_edge[0] = False  # the background
    light[at_edge[labels]] = 0
    clear = float(light.sum())
    if clear > needed:
        return True
    if clear <= least:
        return False
    return grey_levels_light(small, params) if dark_paper is None else dark_paper


def grey_levels_light(small: np.ndarray, params: VisionParams = DEFAULT) -> bool:
    """Whether the grey levels say light writing on dark paper (majority_polarity with the
    tails of the darkest and lightest polarity_majority_tail percent: writing may cover only
    a few hundredths of a photo)."""
    return majority_polarity(small, params, default=False, tail=params.polarity_majority_tail)


def majority_polarity(
    small: np.ndarray, params: VisionParams = DEFAULT, *, default: bool, tail: float | None = None
) -> bool:
    """Polarity of a tight crop from its grey levels: the paper is most of it.

    Thick strokes (a felt tip) can fill so much of a tight crop that the paper between them
    looks like the thin feature is_light_on_dark counts. But paper still covers most pixels,
    so the median sits near the paper's level: far from the darkest pixels and close to the
    lightest means dark ink, and the other way round light ink. When neither side is clearly
    further (majority_ratio), `default` stands.
    """
    tail = params.majority_tail if tail is None else tail
    dark, median, light = np.percentile(small, [tail, 50, 100 - tail])
    below, above = median - dark, light - median
    if below >= params.polarity_min_contrast and below >= params.majority_ratio * above:
        return False
    if above >= params.polarity_min_contrast and above >= params.majority_ratio * below:
        return True
    return default


def paper_brightness(
    small: np.ndarray,
    shape: tuple[int, ...],
    factor: int,
    params: VisionParams = DEFAULT,
    *,
    brighten: bool = False,
) -> np.ndarray:
    """The paper's brightness at every pixel: strokes closed over, lighting and shadows kept."""
    height, width = shape[:2]
    # Wider than the thickest stroke of the largest digit expected in the image.
    size = max(3, round(params.background_kernel * min(height, width) / factor)) | 1
    pad = size // 2 + 1
    closed = cv2.morphologyEx(
        extrapolate(small, pad, brighten=brighten), cv2.MORPH_CLOSE, _rect((size, size))
    )
    closed = np.maximum(closed[pad:-pad, pad:-pad], 1)  # no division by zero on a black frame
    return cv2.resize(closed, (width, height), interpolation=cv2.INTER_LINEAR)


def extrapolate(image: np.ndarray, pad: int, *, brighten: bool = False) -> np.ndarray:
    """Pad by point reflection (2*edge - mirror), continuing light that fades towards an edge.

    A closing cannot follow a gradient that darkens towards the image border: near it, the
    max filter only sees the brighter inside. Padding that continues the gradient fixes that.
    On a photo only darkening is continued (the pad never gets brighter than the edge): a
    dark stroke or noise near the border would be reflected into a bright pad, and the
    closing would spread that false light over the paper between them and the border,
    making it look inked. brighten: continue both ways, for a crop whose strokes run off
    its edges, where that light stands in for the paper beyond the edge.
    """
    mirror = cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_REFLECT_101)
    edge = cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    if brighten:
        return (
            cv2.subtract(cv2.add(edge, edge, dtype=cv2.CV_16S), mirror, dtype=cv2.CV_16S)
            .clip(0, 255)
            .astype(np.uint8)
        )
    # edge - (mirror - edge), both saturating at 0: 2*edge - mirror where the inside is
    # brighter than the edge, the edge itself where it is darker.
    return cv2.subtract(edge, cv2.subtract(mirror, edge))


def ink_threshold(
    smooth: np.ndarray, params: VisionParams = DEFAULT, *, tight: bool = False
) -> int:
    """The ink level where candidate ink starts: well beyond the paper's noise, above a floor.

    Paper is most of any frame worth reading (large chalk digits cover a tenth), so a high
    percentile of the smoothed ink map measures how far paper texture, noise and JPEG ringing
    reach; ink starts well beyond that. In a tight crop of one digit the ink can cover more
    than the rest of that percentile allows, so the percentile lands on ink and the threshold
    above all ink; there (and only there) Otsu's split between paper and ink caps it.
    """
    step = params.threshold_sample_step  # a sparse sample is plenty for a histogram of paper
    sample = np.ascontiguousarray(smooth[::step, ::step])
    histogram = cv2.calcHist([sample], [0], None, [256], [0, 256]).ravel()
    paper_level = int(
        np.searchsorted(np.cumsum(histogram), params.paper_share * max(1.0, histogram.sum()))
    )
    low = min(254, max(params.min_low_threshold, round(params.noise_factor * paper_level)))
    # The percentile landed on ink, not paper (the threshold it gives is above the contrast
    # a digit must reach): only a tight crop is that full of ink.
    if tight and low > params.min_strong_contrast:
        otsu, _ = cv2.threshold(sample, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
        low = min(low, max(params.min_low_threshold, round(otsu)))
    return low


def median_blur(image: np.ndarray, size: int) -> np.ndarray:
    """cv2.medianBlur, the same pixels, also fast on narrow images.

    On x86 OpenCV's vectorised median wants rows of at least MEDIAN_MIN_WIDTH_PX; a narrower
    image (the 40-column copy of a 640x480 frame) takes a scalar path about ten times slower.
    Padding with replicated edges, the median's own border rule, and cropping gives the
    same result at the vectorised speed.
    """
    height, width = image.shape[:2]
    if width >= MEDIAN_MIN_WIDTH_PX:
        return cv2.medianBlur(image, size)
    r = size // 2
    padded = cv2.copyMakeBorder(
        image, r, r, r, MEDIAN_MIN_WIDTH_PX - width + r, cv2.BORDER_REPLICATE
    )
    return cv2.medianBlur(padded, size)[r : r + height, r : r + width]


def halve(image: np.ndarray, times: int) -> np.ndarray:
    """Shrink by 2**times with pixel averaging; OpenCV's 2x area resize is ten times faster
    than a single 4x one."""
    for _ in range(times):
        image = cv2.resize(
            image,
            (max(1, image.shape[1] // 2), max(1, image.shape[0] // 2)),
            interpolation=cv2.INTER_AREA,
        )
    return image


def _rect(size: tuple[int, int]) -> np.ndarray:
    return cv2.getStructuringElement(cv2.MORPH_RECT, size)
