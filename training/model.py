"""The digit CNN: a small, fast network sized for a Raspberry Pi CPU.

The shape is chosen for CPU latency, not parameter count alone: a stride-2 stem and
pooling keep most convolutions at 14x14 and 7x7, so a single digit costs well under a
million multiply-adds; batch norm makes it train quickly and folds away at export.

Eleven classes by default: the ten digits and "not a digit" (class 10), so a line fragment,
a letter or a speck the finder hands over can be told apart from a digit. The device contract
stays ten digit probabilities (`probs`), with the eleventh as a separate output (`not_digit`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

# The MNIST convention: white digit on black, 0..1. Mean and std of the MNIST training set;
# applied inside the network so the exported ONNX graph carries its own normalisation.
MNIST_MEAN = 0.1307
MNIST_STD = 0.3081
DIGITS = 10
NOT_DIGIT = 10  # the class index of "not a digit" in an 11-class network
# Checkpoint key of the lone-digit judge (training/judge.py --lone): {"weight": [F], "bias": []},
# and the model file's output that carries it (edge.model reads it by the same name).
LONE_KEY = "lone_not_digit"
LONE_OUTPUT = "not_digit_lone"
MEMORY_SEED = 2026  # the exported memory's switched-off rows: any fixed, non-zero bytes
MEMORY_OFF = 8.0  # its switched-off bias: a cosine is at most 1, so relu(cos - 8) is 0
MEMORY_EPSILON = 1e-6  # features / (|features| + this): edge/adapt.py computes it the same way


@dataclass(frozen=True)
class ModelConfig:
    """Everything needed to rebuild the network; stored in every checkpoint as `model_args`."""

    channels: tuple[int, int, int] = (16, 32, 64)
    num_classes: int = DIGITS + 1  # 10: digits only (models before the not-digit class)
    dropout: float = 0.1
    # Convolution stacks side by side, their features joined before the one last layer:
    # `digitcam train --join` makes a 2-tower network out of two trained ones (training/join.py).
    towers: int = 1
    # The last pooling's grid: 1 averages each feature over the whole 7x7 map, 2 keeps four
    # overlapping 4x4 quarters apart (where a feature is, not only that it is there).
    pool: int = 1

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> ModelConfig:
        return cls(**{**data, "channels": tuple(data["channels"])})


def _conv_bn(c_in: int, c_out: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    )


def tower(channels: tuple[int, int, int], pool: int = 1) -> nn.Sequential:
    """The convolutions: [N,1,28,28] normalised -> [N,channels[2],pool,pool]."""
    if pool not in (1, 2):
        raise ValueError(f"pool must be 1 or 2, not {pool}")
    c1, c2, c3 = channels
    return nn.Sequential(
        _conv_bn(1, c1),  # 28x28: thin strokes need full resolution once
        _conv_bn(c1, c2, stride=2),  # 14x14
        _conv_bn(c2, c2),
        nn.MaxPool2d(2),  # 7x7
        _conv_bn(c2, c3),
        _conv_bn(c3, c3),
        # 7x7 -> 2x2 with a plain pooling (ONNX has no adaptive pooling to uneven cells).
        nn.AdaptiveAvgPool2d(1) if pool == 1 else nn.AvgPool2d(4, stride=3),
    )


class Towers(nn.Module):
    """Several towers on the same image, their features side by side: [N,towers*c3,pool,pool]."""

    def __init__(self, towers: list[nn.Sequential]) -> None:
        super().__init__()
        self.towers = nn.ModuleList(towers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([t(x) for t in self.towers], dim=1)


class DigitNet(nn.Module):
    """[N,1,28,28] in 0..1 -> logits [N,num_classes]; `outputs` gives what the device reads."""

    mean: torch.Tensor
    std: torch.Tensor
    temperature: torch.Tensor

    def __init__(self, config: ModelConfig = ModelConfig()) -> None:
        super().__init__()
        self.config = config
        self.register_buffer("mean", torch.tensor(MNIST_MEAN))
        self.register_buffer("std", torch.tensor(MNIST_STD))
        # Fitted after training on held-out images (training/calibrate.py); it divides the
        # logits before every softmax the device sees and never changes the argmax.
        self.register_buffer("temperature", torch.tensor(1.0))
        self.features: nn.Module = (
            tower(config.channels, config.pool)
            if config.towers == 1
            else Towers([tower(config.channels, config.pool) for _ in range(config.towers)])
        )
        self.head = nn.Sequential(
            nn.Flatten(), nn.Dropout(config.dropout), nn.Linear(self.width, config.num_classes)
        )

    @property
    def width(self) -> int:
        """How many features the last layer sees."""
        return self.config.channels[2] * self.config.towers * self.config.pool**2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features((x - self.mean) / self.std))

    def outputs(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Calibrated digit probabilities [N,10] and, with 11 classes, P(not a digit) [N,1]."""
        return split_outputs(self(x) / self.temperature)

    def embedding(self, x: torch.Tensor) -> torch.Tensor:
        """What the last layer sees [N,width]: the device refits that layer on it."""
        return torch.flatten(self.features((x - self.mean) / self.std), 1)


def split_outputs(logits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Logits -> (ten digit probabilities summing to 1, the 11th class probability or None).

    The digit probabilities are the 11-way softmax's first ten renormalised, which equals a
    softmax over the first ten logits; computed that way it cannot divide 0 by 0 when the
    not-digit class takes all the mass.
    """
    probs = torch.softmax(logits[:, :DIGITS], dim=1)
    if logits.shape[1] == DIGITS:
        return probs, None
    return probs, torch.softmax(logits, dim=1)[:, NOT_DIGIT : NOT_DIGIT + 1]


class ProbabilityNet(nn.Module):
    """The exported form: softmax inside the graph, so the device reads probabilities; with
    `features`, also what the last layer sees and a memory the device fills when it adapts.

    The memory is a layer on the direction of the features (unit length): for each class, a
    stored example direction (weight row) and a threshold (bias). A digit whose features point
    close to a stored direction gets that class's calibrated logit raised by
    relu(w . f/|f| + b); the device writes the mean direction of its user's examples of each
    digit there (edge/adapt.py). As exported it is switched off: random unit rows (bytes the
    device can find) and a bias no cosine can overcome, so the output is exactly the plain
    network's.

    With `lone` (a checkpoint's LONE_KEY: a second not-digit row on the same features), also
    `not_digit_lone`: the same softmax with that row in place of the not-digit one, a stricter
    judge the device asks only about a reading of one digit (edge.reader).
    """

    def __init__(self, net: DigitNet, features: bool = False, lone: dict | None = None) -> None:
        super().__init__()
        self.net = net
        self.with_features = features
        width, classes = net.width, net.config.num_classes
        self.memory = nn.Linear(width, classes)
        rows = torch.randn(classes, width, generator=torch.Generator().manual_seed(MEMORY_SEED))
        with torch.no_grad():
            self.memory.weight.copy_(rows / rows.norm(dim=1, keepdim=True))
            self.memory.bias.fill_(-MEMORY_OFF)
        self.lone: nn.Linear | None = None
        if lone is not None:
            if classes != DIGITS + 1 or not features:
                raise ValueError("a lone-digit judge needs an 11-class network and its features")
            self.lone = nn.Linear(width, 1)
            with torch.no_grad():
                self.lone.weight.copy_(torch.as_tensor(lone["weight"]).reshape(1, width))
                self.lone.bias.copy_(torch.as_tensor(lone["bias"]).reshape(1))

    def forward(self, image: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, ...]:
        if not self.with_features:
            probs, not_digit = self.net.outputs(image)
            return probs if not_digit is None else (probs, not_digit)
        features = self.net.embedding(image)
        logits = self.net.head(features) / self.net.temperature
        direction = features / (features.norm(dim=1, keepdim=True) + MEMORY_EPSILON)
        remembered = torch.relu(self.memory(direction))
        probs, not_digit = split_outputs(logits + remembered)
        if not_digit is None:
            return probs, features
        if self.lone is None:
            return probs, not_digit, features
        strict = self.lone(features) / self.net.temperature + remembered[:, NOT_DIGIT:]
        _, lone = split_outputs(torch.cat([logits[:, :DIGITS] + remembered[:, :DIGITS], strict], 1))
        assert lone is not None  # eleven logits
        return probs, not_digit, features, lone


def count_parameters(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())
