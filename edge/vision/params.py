"""Every tunable of the digit finder in one block, each with the reason for its value.

The values were tuned on frames from the tuning renderer (`mock_frames/generate.py`, MNIST test
indices 1000-4999): 640x480 frames, digits 20 to 200 px tall, pen, pencil and chalk, rules
24-44 px apart tilted up to 5 degrees, gradients, cast shadows and JPEG down to quality 45.
Figures quoted elsewhere come from held-out sets (`mock_frames/measure.py`, `report.py`), never
from those frames. A sweep builds another `VisionParams` (`dataclasses.replace(DEFAULT, ...)`)
and hands it to `find_digits(..., params=...)`; everything below it takes the same instance.

Pixel sizes (`_px`) are analysis pixels: the image after the first block's resizing.
Not here: the MNIST input convention (28x28 field, 20x20 box, centre of mass at 14,14) in
`edge.vision.normalise` is the model's contract, not a tunable.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class VisionParams:
    """The digit finder's thresholds and sizes, grouped by stage (see each field's reason)."""

    # --- Analysis size (edge.vision.find) ---
    # Images with a side under this hold no readable digit; they find nothing rather than
    # being blown up 30 times.
    min_image_side_px: int = 8
    # Frames with a longer side above max_analysis_side_px are shrunk to analysis_side_px, the
    # size the pixel values below were tuned at (640x480); digits shrink with the frame.
    # Larger: slower, and big digits outgrow the kernels; smaller: small digits drop under
    # min_digit_height_px.
    max_analysis_side_px: int = 800
    analysis_side_px: int = 640
    # Images with a longer side below this (a 28x28 MNIST sample, a tight crop) are enlarged by
    # a whole factor to at least enlarged_side_px, so the pixel sizes below mean the same.
    min_analysis_side_px: int = 160
    enlarged_side_px: int = 240

    # --- Binarise (edge.vision.binarize), ink contrast 0 (paper) .. 255 ---
    # The paper estimate and polarity test run on a copy halved while its short side stays
    # >= this, at most small_copy_max_halvings times (480 px frames: a quarter, 120 px).
    # Smaller copies lose thin strokes in the polarity test; larger ones cost time.
    small_copy_min_side_px: int = 60
    small_copy_max_halvings: int = 2
    # Closing kernel for the paper's brightness, as a share of the short side: wider than any
    # stroke (200 px digits have 20-25 px strokes), so strokes vanish from the estimate. Smaller:
    # thick strokes leak into "paper" and lose contrast; larger: hard shadow edges blur and
    # the dark side of a shadow turns to ink.
    background_kernel: float = 0.16
    # 3x3 mean before thresholding: sensor noise no longer makes specks and a thin line tilted
    # a few degrees stays one run. Larger merges neighbouring strokes of small digits.
    smooth_px: int = 3
    # One pixel in step x step is sampled for the paper's ink-level histogram: plenty of paper.
    threshold_sample_step: int = 4
    # Paper is at least this share of any frame worth reading (chalk digits cover a tenth), so
    # this percentile of the ink map measures paper texture, noise and JPEG ringing.
    paper_share: float = 0.75
    # Ink starts this many times the paper's percentile level. Smaller: texture and JPEG ringing
    # on dim frames become ink; larger: pencil on noisy paper breaks into fragments.
    noise_factor: float = 4.25
    # Floor of the ink threshold (~9 % contrast): on a clean bright frame the noise estimate is
    # near 0 and without a floor paper grain would be ink.
    min_low_threshold: int = 24
    # A digit has some stroke at least this contrasty (~22 %) and at least strong_over_low
    # times the threshold: shadow edges and paper blotches that just pass the threshold are
    # dropped. Larger drops faint pencil; smaller keeps shadow edges as "digits".
    min_strong_contrast: int = 56
    strong_over_low: float = 2.0
    # ... but at most this (88 %) on a photo: on a dim, noisy frame the threshold is high, and
    # twice it is more contrast than a stroke can have there (the ink map tops out at the
    # camera's black). Not on an enlarged crop, whose threshold is high because ink fills it.
    # Tuning frames (6,006 saved, right / ok but wrong): 4,922 / 74 -> 4,924 / 74 at 216-224
    # (240: unchanged; 192-208: +3 and a right number lost); 3,160 hard frames drawn from the
    # test sample: 5 more right, 1 right number now low_confidence.
    max_strong_contrast: int = 224
    # Polarity test (light writing on a dark board). Opening/closing kernel at small-copy size:
    # wider than the largest digit's strokes there, or thick chalk counts as neither polarity.
    stroke_kernel_px: int = 11
    # Light counts as writing only where it stands out from the stroke kernel's opening by at
    # least glare_stroke_share of what it does from this wider one's: a soft patch of glare
    # wider than the kernel, on paper or a meter's glass, is not light ink.
    glare_kernel_px: int = 33
    glare_stroke_share: float = 0.5
    # A patch of glare narrower than the stroke kernel: pixels at least this bright (where the
    # sensor clips) in a round patch filling half its box, with a margin, are not light ink.
    glare_clipped_level: int = 250
    # Such a round patch is taken out of the light ink with this much of the small copy round
    # it (a square, in its pixels; four full-size pixels each on a 640x480 frame): a glare's
    # soft edge, fading out past the clipped core, stands out as light too, and on a blank page
    # nothing dark outweighs it. Of 29,500 blank tuning pages, 206 change polarity with a
    # margin of 9 or 13 instead of 5 (before); with 5, 14 of them published a number read as
    # a number region; with 13 none does, and 5 flawed pages' numbers once lost are read.
    glare_margin_px: int = 13
    # The paper level for the polarity test is a median of a further 4x smaller copy (large
    # OpenCV medians are slow), not shrunk further when under paper_median_min_side_px.
    paper_median_px: int = 5
    paper_median_halvings: int = 2
    paper_median_min_side_px: int = 20
    # Only deviations beyond max(polarity_min_contrast, polarity_noise_factor x the noise,
    # polarity_near_strongest x the strongest stroke) count as writing: paper enclosed by dense
    # strokes (the median leans towards the ink) must not vote for the other polarity.
    polarity_min_contrast: float = 8.0
    # Tight crops (kind digit): the median's distance to the darkest and the lightest
    # majority_tail percent of pixels; one majority_ratio times the other decides polarity.
    majority_tail: float = 5.0
    # The polarity test asks the grey levels only when the thin light features outweigh the
    # dark ones (is_light_on_dark), and chalk may cover a few hundredths of a photo: there the
    # tails are the darkest and lightest polarity_majority_tail percent. 6,006 saved tuning
    # frames (right / ok but wrong) 4,924 / 74 -> 4,925 / 74 at 1 and 2 (a chalk 6); 3,160
    # hard frames drawn from the test sample: a chalk 0 read where nothing was, a chalk 4 no
    # longer published as 7.
    polarity_majority_tail: float = 2.0
    majority_ratio: float = 3.0
    polarity_noise_factor: float = 4.0
    polarity_near_strongest: float = 0.4
    # Dark writing is far more common, so light writing must outweigh it this many times and
    # sum to at least one contrast level per light_ink_px_per_level pixels of the small copy.
    # Lower: bright clutter flips a frame of dark writing to light-on-dark, which inverts every
    # digit; higher: chalk boards with dark smudges are read as dark writing.
    light_ink_margin: float = 3.0
    light_ink_px_per_level: int = 160

    # --- Lines (edge.vision.lines): ruled lines, margins, underlines ---
    # Lines are searched on a copy squeezed this many times along the line (the thickness
    # across is untouched). Larger is faster but a steeply tilted line breaks into steps.
    line_squeeze: int = 4
    # Ruled and printed lines are thinner than this in the mask. Larger: thin strokes of small
    # digits that continue a run (a 7's bar) count as line; smaller: thick or blurred rules
    # stay and merge with the digits sitting on them.
    line_max_thickness_px: int = 8
    # A found line also claims this many pixels either side (its blurred edge); crossing
    # strokes are bridged over the whole band, so a wider slack cuts no digit.
    line_slack_px: int = 1
    # Across-line smear so a line tilted up to 5 degrees (a pixel every dozen) stays one run.
    tilt_smear_px: int = 5
    # A straight thin run at least this long may be part of a line. Shorter: the thin edges of
    # strokes become runs that chain into false lines; longer: a rule broken up by the digits
    # on it yields no runs at all.
    run_px: int = 32
    # Pieces of one line this far apart still chain: where a digit sits on a rule, the rule
    # is not thin, so it breaks for about a digit's width.
    line_gap_px: int = 128
    # A line is at least this long and spans at least 1/line_min_share_horizontal of the width
    # (1/line_min_share_upright of the height for margins); shorter chains are strokes.
    line_min_px: int = 64
    line_min_share_horizontal: int = 8
    line_min_share_upright: int = 4
    # A second look, only when the judge found no digit at all: lines up to this thick and
    # tilted up to about 9 degrees (a close-up of a rule, a grid seen at an angle) are
    # removed too. Always searching that widely eats digits' strokes; on a frame where nothing
    # was found there is nothing to lose.
    second_look_line_max_thickness_px: int = 14
    second_look_tilt_smear_px: int = 9
    # Ink written along a rule goes with the rule: a 7 whose bar lies on a line reads as a
    # sure 1 without it. A digit that removed line ink touches is also read with that ink put
    # back (edge.vision.fainter.lined_ink): within lined_reach_side x its height either side and
    # lined_reach_end above and below, where it is at least lined_stroke_share as dark as
    # the digit's own strokes (pen on a printed rule, not the rule), when that adds at least
    # lined_min_share of the digit's ink. When the two readings are surely different digits,
    # neither is published (edge.reader).
    lined_reach_side: float = 0.5
    lined_reach_end: float = 0.25
    lined_stroke_share: float = 0.8
    lined_min_share: float = 0.05

    # --- Components (edge.vision.group) ---
    # Pieces enclosing fewer pixels are specks (noise, JPEG blocks), and so are pieces under
    # relative_speck_area of the largest plausible piece (the dot beside a 200 px digit).
    min_speck_area_px: int = 6
    relative_speck_area: float = 0.01
    # A piece is plausible (used for the relative speck size) when under this share of the
    # frame in both directions; frame-wide shadows and borders are not.
    plausible_frame_share: float = 0.9
    # A frame of pure noise must not cost O(n^2) Python work: only the largest are kept.
    max_components: int = 400

    # --- Grouping: fragments -> digits (edge.vision.group.merge_fragments, split_wide) ---
    # One piece inside another's box (this share of the smaller box overlaps it): a bit of a
    # loop that broke off inside its digit.
    inside_share: float = 0.7
    # Stacked: overlap in x at least stack_min_x_overlap of the narrower piece, a vertical gap
    # up to stack_max_gap of the taller one, overlap in height at most stack_max_overlap
    # (more overlap means side by side: two neighbouring digits). The bar of a 5, a 7's bar.
    stack_min_x_overlap: float = 0.25
    stack_max_gap: float = 0.2
    stack_max_overlap: float = 0.35
    # Beside: a piece beside_min_height..beside_max_height as tall as its neighbour, within its
    # height (+- beside_reach), at most beside_max_gap apart: the loop of a 6 or the top of an
    # 8 that came apart. Neighbouring digits are about equally tall, so they never match.
    beside_min_height: float = 0.25
    beside_max_height: float = 0.6
    beside_reach: float = 0.1
    beside_max_gap: float = 0.15
    # Merged pieces span at most this many times the taller piece's height: a digit's broken
    # parts do, two digits of different text lines stacked above each other do not.
    merge_max_span_heights: float = 2.2
    # Groups wider than this (width / height) may be touching digits and are tried for a cut.
    split_aspect: float = 1.35
    # The cut is searched away from the group's ends (this share of the width each side),
    # where columns are always thin and a "cut" would shave off an edge.
    split_end_margin: float = 0.15
    # Touching digits meet in one thin stroke: the cut column holds at most this share of the
    # height; the middle of a wide 0 crosses two strokes and is never cut.
    split_max_join: float = 0.2
    # Both pieces of a cut must be at least this share of the group's height, or one side is
    # part of a wide digit (a 7's bar) and the group stays whole.
    split_min_piece_height: float = 0.75

    # --- Touching digits cut apart by what the model reads (edge.vision.apart) ---
    # A group the judge does not take for a digit is tried for cuts when it is at least
    # apart_min_aspect as wide as tall (two touching 1s are about that narrow).
    apart_min_aspect: float = 0.55
    # Cuts are tried at up to apart_max_cuts of the thinnest columns, each piece at least
    # apart_min_piece_aspect x the height wide (a narrow 1) and apart_min_piece_height as tall.
    apart_max_cuts: int = 4
    apart_min_piece_aspect: float = 0.2
    apart_min_piece_height: float = 0.45
    # Besides vertical cuts, cuts along the writing's slant (edge.vision.cuts.cut_lines) when it
    # leans at least apart_slant_min columns per row (about 11 degrees), clipped to
    # apart_slant_max (17). The slant is the median lean of the row's accepted digits when it
    # has at least apart_slant_min_digits, else the forward lean of a touching group at most
    # apart_lean_max_aspect as wide as tall.
    apart_slant_min: float = 0.2
    apart_slant_max: float = 0.3
    apart_slant_min_digits: int = 2
    apart_lean_max_aspect: float = 2.0
    # Of two ways to cut a group whose least sure pieces are both at least apart_sure digits,
    # the one with fewer pieces wins (a 3 cut into a 1 and the rest reads as surely as the 3).
    apart_sure: float = 0.9
    # A piece the judge does not take for a digit (min_digit_score) may be cut again,
    # apart_max_depth levels in all (3 digits).
    apart_max_depth: int = 2
    # A group no such cut explains may be a run of touching digits (edge.vision.chains.read_runs):
    # up to run_cuts_per_height thin places per height of its width are tried as cuts at once,
    # along each of run_slopes (columns per row), and every stretch between two cuts at most
    # run_max_piece_aspect heights wide is judged. Chosen on 5,450 wild-numbers and generate.py
    # tuning frames (right / ok but wrong, 3,782 / 169 without runs): read_apart's cuts 3,788 /
    # 169; these five slopes 3,883 / 177 (0 and +-0.25: 3,866 / 177; seven, 0.1 apart: 3,890 /
    # 186; five only where no row gives a slant, else read_apart's two: 3,860 / 174). Runs
    # read in place of read_apart's cuts, or both read and the better taken: 3,985 / 200 and
    # 4,005 / 203, more right numbers but a wrong one published for every five or six more.
    # 3 or 4 cuts per height, or 1.2 or 1.7 heights: within 5 right numbers of the vertical.
    run_cuts_per_height: float = 2.0
    run_max_piece_aspect: float = 1.4
    run_slopes: tuple[float, ...] = (0.0, -0.15, -0.3, 0.15, 0.3)
    # A group cut in two or three unsurely (least sure piece under apart_sure) takes the
    # run's digits instead when the run finds as many, each at least run_sure
    # (edge.vision.apart.read_touching). 5,450 tuning numbers (right / ok but wrong): 3,882 /
    # 171 -> 3,929 / 176, the new numbers published right 47 in 52 (at 0.8 instead of
    # apart_sure: 3,914 / 172); taking the run's digits whenever they are surer, 4,004 / 197;
    # also with another count of digits, 3,944 / 185; at any sureness, 3,938 / 181.
    run_sure: float = 0.99

    # Two rejected pieces are tried as one digit (edge.vision.apart.read_joined) when they
    # overlap in x by at least join_min_x_overlap of the narrower and are at most join_max_gap
    # of the taller apart vertically: a 5 whose bar did not meet its bow.
    join_min_x_overlap: float = 0.5
    join_max_gap: float = 0.5
    # Two neighbouring digits of a number are offered to the reader as one digit
    # (edge.vision.find.joined; edge.number_read.join_pieces, which asks when one of them is
    # unsure or the row reader reads a digit fewer) only when together they are at most this
    # wide for their height: a 4 or a 0 whose strokes did not meet is about as wide as tall,
    # two digits side by side seldom.
    pieces_join_max_aspect: float = 1.4

    # --- Digit filter and the number's row (edge.vision.select, shape, row, faint) ---
    # The learned judge (a model with a "not a digit" output) takes a candidate for a digit
    # when it gives "digit" at least this probability: more likely a digit than not.
    min_digit_score: float = 0.5
    # Marks too faint for the contrast rule join a number only at this score (a surer "digit"
    # than other marks need: shadows and grain are many, a lost pencil digit is rare).
    faint_min_digit_score: float = 0.9
    # ... and only when at least this share of the median height of the marks already seen
    # (a faint tail or dot that broke off a digit is smaller).
    faint_min_height: float = 0.75
    # A number written wholly in faint pencil (edge.vision.faint.faint_alone) is read when at
    # least this many of its marks reach faint_alone_contrast of the contrast rule's level and
    # score faint_min_digit_score. Lower or fewer: ruled and grid lines on blank pages break
    # into rows of "1"s (of 400 such pages on the tuning frames 0.6 read two, 0.65 one; one
    # mark alone gave 15 of 500 blank pages a reading).
    faint_alone_contrast: float = 0.7
    faint_alone_min_digits: int = 2
    # When nothing at all was found (after every look), one faint mark alone is read if it is
    # the only one the judge is sure of, at least this tall (analysis pixels) and at least
    # faint_single_min_width of its height wide (edge.vision.faint.faint_single). Narrower
    # (0.3-0.4) or shorter (20 px) let scraps of ruled lines read as 1s and small grain as
    # digits on the tuning frames; 0.55 and 25 read 5 more of the 3,850 tuning frames and 1
    # more of the 800 read as digit regions, and no more wrong. The judge must be surer of it
    # than of other faint marks: the edge of a hard shadow across a ruled page made a "7" it
    # scored 0.997 (and marks in shadowed corners 0.91-0.97) where the lone faint digits of
    # the tuning frames scored 0.9999 and more; 0.99 still published that 7.
    faint_single_min_height_px: int = 25
    faint_single_min_width: float = 0.55
    faint_single_min_digit_score: float = 0.999
    # In a digit region (one digit, nothing else to find) the lone faint mark needs only be
    # faint_digit_min_height_px tall, and no width: since pieces of lines are told by their
    # continuation (line_piece_*), a thin faint 1 is a 1 unless it is a shadow's edge (its two
    # sides differ by faint_edge_asymmetry of its own contrast: 0.25 for the one edge seen,
    # 0.00-0.04 for the 1s). Chosen on 1,600 wild-single tuning frames read as digit regions
    # and 2,400 blank pages read so (seeds 16-19): right / ok but wrong 3,918 / 4 -> 3,924 / 4
    # (no width rule: 3,922 / 4; a contrast of 0.55 instead of 0.7 read five blank pages as
    # 1s, a judge at 0.99 one as 4); the shadow rule came from seed 20 (1,000 frames), where
    # a blank page's shadow edge was read as 1 without it. In a number region the same
    # relaxation read two numbers as one faint 7 of theirs, so there the rules above stay.
    faint_digit_min_height_px: int = 20
    # There a mark at least faint_single_min_width of its height wide needs only reach this
    # share of the rule's level (the 1s that ruled lines and shadow edges leave are narrow and
    # keep faint_alone_contrast): a large pencil digit in dim light, its strokes 0.6 of the
    # level, was read by nobody. 9,300 tuning frames read as digit regions (2,900 + 800
    # single, 1,800 + 400 crops, 3,000 + 400 blank pages; the second of each a fresh draw):
    # 3 more right, none wrong, at 0.45 or 0.55.
    faint_wide_contrast: float = 0.55
    faint_edge_asymmetry: float = 0.15
    # When a number region gives no digit at all but holds digit-sized marks too faint for
    # the contrast rule, the ink map is thresholded again at this share of its threshold:
    # grainy paper in dim light sets the threshold above a pencil stroke's middle, leaving
    # pieces of digits. Never below min_low_threshold. 0.4-0.55 read 5 more numbers of the
    # tuning frames and no more wrong ones (without that floor 0.4 read a blank page).
    faint_look_low: float = 0.5
    # A digit region's digit read unsure is read again with the fainter ink round it joined
    # (edge.vision.fainter.grown_ink, at row_look_low of the threshold): within grown_reach of
    # its height round it, what touches its strokes and pieces of at least grown_min_area of
    # its height squared as dark as row_look_min_contrast of them, when that adds
    # grown_min_gain of its ink. Set once, not swept: on 5,900 tuning frames read as digit
    # regions 15 unsure readings became sure, 14 of them right (a fresh draw, seed 28: 5, 4).
    grown_reach: float = 0.25
    grown_min_area: float = 0.01
    grown_min_gain: float = 0.05
    # Once a number is found, its neighbourhood is looked at again with the ink threshold at
    # row_look_low of its own (never below row_look_min_low): a digit written with less
    # pressure than the rest (pencil) can stay in pieces under the frame's threshold, and the
    # number would go out a digit short. A mark of that fainter ink beside or between the
    # row's digits (on its band, no further than row_gap_heights from it, sharing no more
    # than row_look_max_overlap of either box with a digit already read, its darkest ink at
    # least row_look_min_contrast of the row's digits' darkest: not a shadow) joins the number when
    # the judge is faint_min_digit_score sure of it and it is faint_min_height of the row's
    # height; one at least unread_min_height tall it does not take for a digit leaves the
    # number incomplete (edge.vision.find.look_beside). On the 13,150 saved tuning frames
    # (right / ok but wrong) 11,659 / 233 -> 11,665 / 221, the same for look_low 0.5-0.7 and
    # min_contrast 0.4-0.75 (0.8: 222); 1,800 fresh wild numbers and 900 blank pages (seeds
    # 25-27) 2,146 / 64 -> 2,147 / 62. Without the contrast rule shadows beside numbers made 9
    # right ones incomplete; at 0.5 a hard shadow's edge crossing a rule (its darkest 0.54
    # of the digits') still did (tests/edge/test_beside.py). The row's digits are left out of
    # the lower look, so the rest of a digit of which the row holds only a piece is a mark of
    # its own (a 4's upright read as 1): 11,673 / 214 -> 11,673 / 208; seeds 25-27 2,148 / 61
    # -> 2,149 / 57.
    row_look_low: float = 0.6
    # The frame's threshold has a floor (min_low_threshold) against the noise of a clean, bright
    # frame; round a number the contrast rule below keeps grain out, so the look goes lower:
    # 24 (the frame's floor) -> 16 read 11,665 / 221 -> 11,673 / 214 of the tuning frames (12:
    # 11,674 / 214; 20: 11,672 / 213), seeds 25-27 2,147 / 62 -> 2,148 / 61.
    row_look_min_low: int = 16
    row_look_max_overlap: float = 0.2
    row_look_min_contrast: float = 0.65
    # Digits are at least this tall in analysis pixels; shorter groups are specks and text.
    min_digit_height_px: int = 10
    # A group over this share of the frame in either direction is a shadow or a border.
    max_digit_frame_share: float = 0.95
    # Width / height of one digit after splitting (MNIST has wide 0s and 6s); wider is a line
    # remnant or a word.
    max_digit_aspect: float = 2.2
    # Ink covering more of its box is a blob (a thumb, a hole, a shadow); small bold digits
    # fill ~0.8. Narrow groups (under solid_min_aspect) are exempt: a bold 1 fills its box.
    solid_fill: float = 0.85
    solid_min_aspect: float = 0.4
    # A disc of this radius, as a share of the box's longer side, fits inside a blob (a
    # punched hole: 0.5); in a digit, even a bold 9 whose loop filled in, it is much smaller.
    solid_core: float = 0.4
    # A mark whose pixels lie within ring_fit of its height (mean) from a circle of radius
    # ring_min to ring_max of its height is a piece of a larger ring (a coffee cup's), not a
    # digit (edge.vision.shape.on_a_larger_ring).
    ring_min: float = 0.6
    ring_max: float = 2.0
    ring_fit: float = 0.03
    # A piece of a line: a mark narrower than line_piece_max_aspect of its height whose line
    # goes on past both its ends (edge.vision.lines.continues_as_line): over line_piece_reach
    # of its length beyond each end, at least line_piece_share of the points on its axis hold
    # ink of line_piece_level of the ink threshold or more, their mean at least
    # line_piece_contrast of the mark's own. The sides of squares of a grid seen askew escape
    # the line search between the crossings and read as sure 1s; a 1 ends in paper, and one
    # written over a grid line is darker than the line. Chosen on 2,200 wild tuning frames
    # (seeds 15 and 16: 1,200 numbers, 400 single digits, 600 blank pages): right / ok but
    # wrong 1,721 / 78 -> 1,730 / 71, nothing lost, and the same at aspect 0.5, reach 0.4-0.9
    # or share 0.55-0.85; level 0.7: 1,729 / 72. The contrast rule came from the one 1 lost
    # on 3,200 more (seeds 17 and 18): a ballpoint 1 written over a grid line (the same at 0.4
    # and 0.6; those frames 2,723 / 78 -> 2,733 / 69 with it).
    line_piece_max_aspect: float = 0.4
    line_piece_reach: float = 0.6
    line_piece_share: float = 0.7
    line_piece_level: float = 0.5
    line_piece_contrast: float = 0.5
    # The number's row is a chain of neighbours: each digit links to its nearest neighbour on
    # the right whose centre is within row_max_drift of the taller one's height vertically
    # and whose height is within row_height_ratio either way (neighbouring writing is not).
    # Handwriting wanders up to 40% of a digit height off its baseline, and a slanted line
    # adds to that between neighbours, so 0.75 keeps such digits while a second line of
    # writing (at least about 1.2 heights below) stays out. A chain, unlike overlap with one
    # anchor digit, follows a baseline that drifts or slopes across the number.
    row_max_drift: float = 0.75
    # ... plus this much per pixel between the centres: a baseline sloping up to about 14
    # degrees (a page held askew, writing that climbs), which drift alone does not cover
    # once the digits are a few heights apart.
    row_max_slope: float = 0.25
    row_height_ratio: float = 2.5
    # Digits under this share of the row's median height are dots and commas, not digits.
    row_min_height: float = 0.45
    # A gap wider than this many digit heights ends the number. People leave up to about 3
    # heights between digits of one number on forms; smaller splits such numbers, larger
    # joins a second number further along the line.
    row_gap_heights: float = 3.2
    # A digit of a number's row whose strokes are under thin_stroke_share as wide as the median
    # of the row's other digits' is no digit of it (a hair or a fibre lying beside the number,
    # read as a 1; one pen writes a number's digits about equally thick) and is left out.
    # Tuning frames, sets A+B (11,150 numbers): 8,456 / 182 -> 8,469 / 174 right / ok but
    # wrong (13 numbers with a digit too many read right, none lost); 29,500 blank pages as
    # numbers 29,168 / 66 -> 29,177 / 65; fresh seed 82 (1,800 numbers) 1,347 / 33 -> 1,350 / 33.
    thin_stroke_share: float = 0.5
    # A mark the judge does not take for a digit is part of the number (which is then not
    # read) when it is at least unread_min_height of the row's median height, at least
    # unread_band_share of it lies between the row's top and bottom, and its nearer side is no
    # further than unread_reach heights beyond the row's first or last digit: as far as a
    # digit may stand and still join the number (row_gap_heights). 2.0 -> 3.2: 3,000 tuning
    # numbers 161 -> 159 published ok but wrong, 1,800 fresh ones 114 -> 112, none right lost.
    # Beyond the row's ends, the band follows the line through the row's digit centres
    # (edge.vision.row.row_line), its slope clipped to unread_max_tilt rows per column: a
    # rising row's digit past a gap, or a blob of digits run together there, sits higher.
    unread_min_height: float = 0.6
    unread_band_share: float = 0.5
    unread_reach: float = 3.2
    unread_max_tilt: float = 0.2
    # A rejected mark taller than that (several digits run together on a rising line) counts
    # too when it covers unread_span_share of the row's height and is at most
    # unread_span_max_height of it tall. The band along the row's line with band share 0.5
    # (was 0.6) and span share 0.7 (was 0.8), on the 13,150 saved tuning frames (right / ok
    # but wrong): 11,606 / 234 -> 11,605 / 227 (the line alone, 11,605 / 231; the shares
    # alone 11,606 / 230); 600 fresh wild numbers (seed 25) 408 / 26 -> 408 / 25.
    unread_span_share: float = 0.7
    unread_span_max_height: float = 3.0
    # A digit the judge accepted that the row's chain left out is marked the same way when
    # it lies on the row's line (as above) no further than off_row_reach heights beyond it:
    # a digit past a gap wider than row_gap_heights, or a second number; either way the
    # value would be a guess. 4: 2 fewer numbers out ok but wrong on the tuning frames; 6-30:
    # 3 fewer, and 1 right number lost (a stray digit far along the line).
    off_row_reach: float = 6.0
    # A faint mark (under the contrast rule) the judge does not take for a digit, on the
    # row's line: faint marks beside a number are mostly grain and shadow, but one reaching
    # past faint_unread_reach heights into the row (negative: inside it, between its digits)
    # is part of the number, often two faint digits run together. Tuning frames: ok but
    # wrong 72 -> 71, none right lost; -0.5 to 2 the same, so the narrowest is kept.
    faint_unread_reach: float = -0.5

    # Kind `digit` may read a digit touching the image edge only when it fills at least this
    # share of the image's height or width: a tight crop of a form cell (the digit 60-100%
    # of the crop). On a photo, ink that touches the edge without filling the frame is a
    # shadow edge, a page border or neighbouring writing.
    tight_fill: float = 0.6
    # Ink in a tight crop that lies along one of its sides over this share of its own length
    # without filling the crop across is the desk past the page's edge or a band of shadow,
    # not a digit (edge.vision.shape.along_a_side).
    side_run: float = 0.8
    # Kind `digit` reads the one digit of the image: pieces within piece_reach of its height
    # join it (a crop edge cut the stroke that held them on) while the whole stays no wider
    # than piece_max_aspect x its height; a neighbouring digit would make it wider.
    piece_reach: float = 0.15
    piece_max_aspect: float = 1.1

    # --- Tight crops of one digit (edge.vision.cell), read with kind `digit` ---
    # An image read as one digit whose longer side is at most this is a crop (a form cell, a
    # grid square, a scan cut around a digit), not a photo: the digit fills much of it, so the
    # largest blob is the digit. Photos (a 640x480 frame) go through the photo pipeline.
    cell_max_side_px: int = 400
    # Crops are analysed with this short side, so the sizes below mean the same at any size.
    cell_side_px: int = 96
    # Closing kernel for the paper, a share of the short side: wider than any stroke.
    cell_paper_kernel: float = 0.5
    # Lines: runs at least cell_line_share of the side long anywhere, and (the second
    # proposal) runs at least cell_border_line[0] long within cell_border_line[1] of the
    # border. The model chooses between the proposals, so these need not be exact.
    cell_line_share: float = 0.85
    cell_border_line: tuple[float, float] = (0.4, 0.3)
    # The cell's frame: runs at least cell_frame_line[0] of the side long within
    # cell_frame_line[1] of the border (a printed line running edge to edge). A version without
    # them is proposed last, and when it is read surely as another digit than the version
    # chosen, the crop is read two ways and the digit is not published (edge.reader). Chosen
    # on 1,500 wild-crops tuning frames (seeds 16, 17 and the default) among (0.92-0.98,
    # 0.08-0.2): right / ok but wrong 1,422 / 18 -> 1,424 / 15.
    cell_frame_line: tuple[float, float] = (0.95, 0.12)
    # Pieces under this share of the crop are specks; pieces within cell_piece_reach of the
    # digit's longer side and over cell_piece_share of its area join it (a broken stroke).
    cell_min_piece: float = 0.002
    cell_piece_reach: float = 0.25
    cell_piece_share: float = 0.02

    # --- Normalise (edge.vision.find.digit_ink, edge.vision.normalise, edge.vision.crops) ---
    # The digit's ink is scaled so this quantile of its stroke pixels becomes 1 (MNIST strokes
    # are saturated), so pencil and pen look alike; below ink_floor x the threshold is 0.
    stroke_level_quantile: float = 0.75
    ink_floor: float = 0.5
    # Ink fainter than this does not count towards the 20x20 bounding box (anti-aliased rims).
    faint: float = 0.05
    # Share of a digit's longer side kept around a stored crop, for a person labelling it.
    crop_margin: float = 0.15


DEFAULT = VisionParams()
