"""The digit CNN: a small, fast network sized for a Raspberry Pi CPU.

The shape is chosen for CPU latency, not parameter count alone: a stride-2 stem and
pooling keep most convolutions at 14x14 and 7x7, so a single digit costs well under a
million multiply-adds; batch norm makes it train quickly and folds away at export.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

# The MNIST convention: white digit on black, 0..1. Mean and std of the MNIST training set;
# applied inside the network so the exported ONNX graph carries its own normalisation.
MNIST_MEAN = 0.1307
MNIST_STD = 0.3081


@dataclass(frozen=True)
class ModelConfig:
    """Everything needed to rebuild the network; stored in every checkpoint as `model_args`."""

    channels: tuple[int, int, int] = (16, 32, 64)
    num_classes: int = 10
    dropout: float = 0.1

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


class DigitNet(nn.Module):
    """[N,1,28,28] in 0..1 -> logits [N,10]."""

    def __init__(self, config: ModelConfig = ModelConfig()) -> None:
        super().__init__()
        c1, c2, c3 = config.channels
        self.config = config
        self.register_buffer("mean", torch.tensor(MNIST_MEAN))
        self.register_buffer("std", torch.tensor(MNIST_STD))
        self.features = nn.Sequential(
            _conv_bn(1, c1),  # 28x28: thin strokes need full resolution once
            _conv_bn(c1, c2, stride=2),  # 14x14
            _conv_bn(c2, c2),
            nn.MaxPool2d(2),  # 7x7
            _conv_bn(c2, c3),
            _conv_bn(c3, c3),
            nn.AdaptiveAvgPool2d(1),
        )
        self.head = nn.Sequential(
            nn.Flatten(), nn.Dropout(config.dropout), nn.Linear(c3, config.num_classes)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features((x - self.mean) / self.std))


class ProbabilityNet(nn.Module):
    """The exported form: softmax inside the graph, so the device reads probabilities."""

    def __init__(self, net: DigitNet) -> None:
        super().__init__()
        self.net = net

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.net(image), dim=1)


def count_parameters(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())
