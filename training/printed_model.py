"""The printed-digit CNN: meter counter wheels and 7-segment display digits.

Input: one digit's crop as the camera sees it, grey, 32 rows by 20 columns, 0..1, either
polarity (white wheels on black, black LCD segments on grey). Contrast is normalised inside
the network, per image, so a dim display and a sunlit wheel look alike to it and the device
repeats no constant.

Output: 100 classes, the wheel position in tenths (class 37: a wheel showing 3 and seven
tenths of the way to 4). A display digit is a wheel standing at a whole step. The device reads
two things from it: `positions` [N,100] (where a wheel stands, so a rolling wheel can be
resolved from its neighbour) and `probs` [N,10], the chance of each digit being the one
nearest the window's centre line, which is the digit a display shows.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import cast

import torch
from torch import nn

from training.meter_data import CROP_H, CROP_W, POSITIONS

DIGITS = 10
CONTRAST_FLOOR = 0.04  # the smallest std divided by: a blank crop must not blow up its noise


@dataclass(frozen=True)
class PrintedConfig:
    """Everything needed to rebuild the network; stored in every checkpoint as `model_args`."""

    channels: tuple[int, int, int] = (16, 24, 40)
    dropout: float = 0.1
    # Each row's strongest response beside its mean, so a stroke at one side of the figure (a
    # 1's flag, the gap of an open 4) is not averaged away (`--column-max`; not shipped).
    column_max: bool = False
    # While training, the chance that a batch's images swap part of their feature statistics
    # after each of the first two poolings (MixStyle, Zhou et al. 2021: an installation's look,
    # its light, contrast and print, is largely in those statistics; `--mixstyle`; not shipped).
    # Nothing changes at inference: the exported graph has no trace of it.
    mixstyle: float = 0.0
    # While training, the chance that a batch is first seen through a random convolution
    # (RandConv, Xu et al. 2021: a random 1x1, 3x3 or 5x5 filter mixed with the image, so
    # strokes, print and blur change while shapes and places stay; `--randconv`; not shipped).
    randconv: float = 0.0
    # A second output beside the positions: how likely the crop shows no digit at all (a wheel
    # burnt out by glare, under a sticker or a smudge; `--hidden-head`). A crop more likely
    # hidden than not gets every position alike in `outputs`, so its digit is unsure; any
    # other crop's outputs are the positions' own.
    hidden_head: bool = False
    kind: str = "printed"  # tells `export` and `evaluate` which network a checkpoint holds

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> PrintedConfig:
        return cls(**{**data, "channels": tuple(data["channels"])})


def _conv_bn(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU()
    )


class PrintedNet(nn.Module):
    """[N,1,32,20] in 0..1 -> position logits [N,100]; `outputs` gives what the device reads."""

    temperature: torch.Tensor
    nearest: torch.Tensor

    def __init__(self, config: PrintedConfig = PrintedConfig()) -> None:
        super().__init__()
        c1, c2, c3 = config.channels
        self.config = config
        self.register_buffer("temperature", torch.tensor(1.0))
        # positions -> digits: position p belongs to the digit nearest it (3.5..4.4 -> 4).
        nearest = torch.zeros(POSITIONS, DIGITS)
        for p in range(POSITIONS):
            nearest[p, ((p + 5) // 10) % DIGITS] = 1.0
        self.register_buffer("nearest", nearest)
        self.features = nn.Sequential(
            _conv_bn(1, c1),  # 32x20: strokes of a small crop are 2-3 px wide
            nn.MaxPool2d(2),  # 16x10
            _conv_bn(c1, c2),
            _conv_bn(c2, c2),
            nn.MaxPool2d(2),  # 8x5
            _conv_bn(c2, c3),
            _conv_bn(c3, c3),
        )
        # Where the digit sits vertically is the position on the wheel: keep the rows apart,
        # pool the columns (4 rows of 5 columns become 4 rows).
        self.mean_rows = nn.AdaptiveAvgPool2d((CROP_H // 8, 1))
        self.max_rows = nn.AdaptiveMaxPool2d((CROP_H // 8, 1)) if config.column_max else None
        pooled = c3 * (CROP_H // 8) * (2 if config.column_max else 1)
        self.head = nn.Sequential(
            nn.Flatten(),
            nn.Dropout(config.dropout),
            nn.Linear(pooled, POSITIONS),
        )
        self.hidden = (
            nn.Sequential(nn.Flatten(), nn.Linear(pooled, 1)) if config.hidden_head else None
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.pooled(x))

    def forward_hidden(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Position logits [N,100] and the hidden output's logit [N] (`hidden_head`)."""
        pooled = self.pooled(x)
        if self.hidden is None:
            raise ValueError("this network has no hidden output (PrintedConfig.hidden_head)")
        return self.head(pooled), self.hidden(pooled)[:, 0]

    def pooled(self, x: torch.Tensor) -> torch.Tensor:
        """The rows' pooled features both heads read."""
        if self.training and self.config.randconv > 0:
            x = rand_conv(x, self.config.randconv)
        mean = x.mean(dim=(2, 3), keepdim=True)
        std = x.std(dim=(2, 3), keepdim=True).clamp_min(CONTRAST_FLOOR)
        features = (x - mean) / std
        mixing = self.training and self.config.mixstyle > 0
        for layer in self.features:
            features = layer(features)
            if mixing and isinstance(layer, nn.MaxPool2d):
                features = mix_style(features, self.config.mixstyle)
        pooled = self.mean_rows(features)
        if self.max_rows is not None:
            pooled = torch.cat([pooled, self.max_rows(features)], dim=1)
        return pooled

    def outputs(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Calibrated digit probabilities [N,10] and position probabilities [N,100]."""
        pooled = self.pooled(x)
        positions = torch.softmax(self.head(pooled) / self.temperature, dim=1)
        if self.hidden is not None:
            hidden = self.hidden(pooled) > 0  # [N,1]: more likely hidden than not
            positions = torch.where(hidden, torch.full_like(positions, 1.0 / POSITIONS), positions)
        return positions @ self.nearest, positions


def rand_conv(images: torch.Tensor, p: float) -> torch.Tensor:
    """With chance `p`, the batch through one random filter (1x1, 3x3 or 5x5, Gaussian
    weights scaled by its size, reflected at the edges), mixed with the images by a random
    share. Centred filters move nothing, so a wheel's position stays; the network's own
    contrast normalisation undoes the filter's scale and sign."""
    if torch.rand(()) >= p:
        return images
    k = int(torch.randint(0, 3, ()).item()) * 2 + 1
    weight = torch.randn(1, 1, k, k) / k
    padded = nn.functional.pad(images, (k // 2,) * 4, mode="reflect") if k > 1 else images
    filtered = nn.functional.conv2d(padded, weight)
    share = torch.rand(())
    return share * images + (1 - share) * filtered


def mix_style(features: torch.Tensor, p: float, alpha: float = 0.1) -> torch.Tensor:
    """With chance `p`, each image's per-channel mean and spread become a random mix of its own
    and another image's of the batch (weights ~ Beta(alpha, alpha)); where the features lie in
    the image is untouched, so a wheel's position is too. Gradients do not flow through the
    statistics (as in MixStyle)."""
    if features.shape[0] < 2 or torch.rand(()) >= p:
        return features
    mu = features.mean(dim=(2, 3), keepdim=True).detach()
    sigma = (features.var(dim=(2, 3), keepdim=True) + 1e-6).sqrt().detach()
    lam = torch.distributions.Beta(alpha, alpha).sample((features.shape[0], 1, 1, 1))
    other = torch.randperm(features.shape[0])
    mixed_mu = lam * mu + (1 - lam) * mu[other]
    mixed_sigma = lam * sigma + (1 - lam) * sigma[other]
    return (features - mu) / sigma * mixed_sigma + mixed_mu


class PrintedProbabilityNet(nn.Module):
    """The exported form: `probs` and `positions`, softmax inside the graph."""

    def __init__(self, net: PrintedNet | PrintedPair) -> None:
        super().__init__()
        self.net = net

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.net.outputs(image)


class PrintedPair(nn.Module):
    """Trained printed networks read as one (`digitcam train --printed --join A.pt B.pt`): each
    member reads the crop with its own calibration, and `outputs` are the means of theirs. Two
    networks trained with different seeds misread different crops, and a crop one of them
    misreads surely the other seldom does, so the mean is sure of fewer wrong digits. It costs
    every member's time and weights (two of the shipped recipe: 0.15 ms a digit and 409 KB in
    float32; the counter and the display model ship as such pairs in 8 bits, 136 KB, README)."""

    def __init__(self, members: list[PrintedNet]) -> None:
        super().__init__()
        if len(members) < 2:
            raise ValueError("a pair needs at least two networks")
        self.members = nn.ModuleList(members)

    @property
    def nets(self) -> list[PrintedNet]:
        return [cast(PrintedNet, m) for m in self.members]

    @property
    def temperatures(self) -> list[float]:
        return [float(m.temperature) for m in self.nets]

    def outputs(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The members' calibrated digit and position probabilities, averaged."""
        probs, positions = zip(*(m.outputs(x) for m in self.nets), strict=True)
        return torch.stack(probs).mean(0), torch.stack(positions).mean(0)


def temperatures(net: PrintedNet | PrintedPair) -> list[float]:
    """The fitted temperature of a network, or of each member of a pair."""
    return net.temperatures if isinstance(net, PrintedPair) else [float(net.temperature)]


def load_printed_checkpoint(path: Path) -> tuple[PrintedNet | PrintedPair, dict]:
    """Rebuild the printed network (or pair) from a checkpoint's own `model_args` (in eval mode)."""
    ckpt = torch.load(path, map_location="cpu", weights_only=False)
    args = ckpt["model_args"]
    net: PrintedNet | PrintedPair
    if "members" in args:
        net = PrintedPair([PrintedNet(PrintedConfig.from_dict(m)) for m in args["members"]])
    else:
        net = PrintedNet(PrintedConfig.from_dict(args))
    net.load_state_dict(ckpt["state_dict"])
    return net.eval(), ckpt


def join_printed(paths: list[Path]) -> tuple[PrintedPair, dict]:
    """The networks of `paths` as one pair, and its checkpoint (members' data digests, seeds
    and temperatures kept); a pair is not joined again."""
    loaded = [load_printed_checkpoint(p) for p in paths]
    nets = []
    for path, (net, _) in zip(paths, loaded, strict=True):
        if not isinstance(net, PrintedNet):
            raise ValueError(f"{path} is already a pair; join single networks")
        nets.append(net)
    pair = PrintedPair(nets).eval()
    digests = {str(c.get("train_data_sha256", "")) for _, c in loaded}
    ckpt = {
        "model_args": {"kind": "printed", "members": [n.config.to_dict() for n in nets]},
        "state_dict": pair.state_dict(),
        "members": [
            {"path": str(p), "temperature": float(n.temperature), "args": c.get("args", {})}
            for p, n, (_, c) in zip(paths, nets, loaded, strict=True)
        ],
        "train_data_sha256": digests.pop() if len(digests) == 1 else "",
        "created": max(str(c.get("created", "")) for _, c in loaded),
        "input": [None, 1, CROP_H, CROP_W],
    }
    return pair, ckpt


def example_input(batch: int = 2) -> torch.Tensor:
    return torch.zeros(batch, 1, CROP_H, CROP_W)
