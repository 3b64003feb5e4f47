"""Training batches: MNIST digits, some redrawn in continental forms, plus synthetic negatives.

Each batch is `batch_size` images: a share of them (`negative_share`, about one in eight)
are "not a digit" examples labelled NOT_DIGIT, the rest are the next digits of the shuffled
epoch. The batch-wide augmentation (rotation, thickness, blur, noise...) then applies to
both, since the camera distorts a letter as much as a digit.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import torch

from training.augment import AugmentConfig, augment
from training.model import NOT_DIGIT
from training.negatives import make_negatives
from training.strokes import StrokeConfig, continental_forms

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class BatchRecipe:
    """What goes into a batch; None or 0 turns a part off."""

    augment: AugmentConfig | None = field(default_factory=AugmentConfig)
    strokes: StrokeConfig | None = field(default_factory=StrokeConfig)
    negative_share: float = 0.125


class BatchMaker:
    """Builds batches from uint8 digits; its own seeded generators make runs repeatable."""

    def __init__(
        self, images: np.ndarray, labels: np.ndarray, recipe: BatchRecipe, seed: int
    ) -> None:
        self.images, self.labels, self.recipe = images, labels, recipe
        self.rng = np.random.default_rng(seed)
        self.gen = torch.Generator().manual_seed(seed)

    def negatives_per_batch(self, batch_size: int) -> int:
        """How many of each batch's images are negatives."""
        if self.recipe.negative_share <= 0:
            return 0
        return min(batch_size - 1, max(1, round(batch_size * self.recipe.negative_share)))

    def make(self, idx: np.ndarray, negatives: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Images float [B,1,28,28] 0..1 and int64 labels [B]: digits `idx`, then negatives."""
        digits = self.images[idx].astype(np.float32) / 255
        labels = self.labels[idx].astype(np.int64)
        if self.recipe.strokes is not None:
            digits = continental_forms(digits, labels, self.rng, self.recipe.strokes)
        if negatives:
            extra = make_negatives(negatives, self.rng, self.images, self.labels)
            digits = np.concatenate([digits, extra])
            labels = np.concatenate([labels, np.full(negatives, NOT_DIGIT, np.int64)])
        images = torch.from_numpy(digits).unsqueeze(1)
        if self.recipe.augment is not None:
            images = augment(images, self.recipe.augment, self.gen)
        return images, torch.from_numpy(labels)


def validation_negatives(
    images: np.ndarray, labels: np.ndarray, digits: int, share: float, seed: int
) -> np.ndarray:
    """A fixed set of negatives beside `digits` validation digits, in the training proportion.

    Made from the validation digits (halves, pairs) with their own seed, so no training image
    and no training draw is in them.
    """
    if share <= 0:
        return np.zeros((0, 28, 28), np.float32)
    count = max(1, round(digits * share / (1 - share)))
    return make_negatives(count, np.random.default_rng(seed), images, labels)
