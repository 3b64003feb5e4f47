"""Batched augmentation on the CPU, chosen for what the camera pipeline hands the model.

The edge pipeline normalises each camera crop the MNIST way, but what survives is still
different from MNIST: a few degrees of rotation and shear, imperfect centring and scale,
strokes thicker or thinner than a pen on paper at 28x28, blur, sensor noise and weaker
contrast. Each transform below imitates one of those, applied to a whole batch at once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class AugmentConfig:
    rotate_deg: float = 12.0
    shear_deg: float = 8.0
    scale: tuple[float, float] = (0.85, 1.12)
    shift_px: float = 2.5
    thickness_p: float = 0.3  # chance of thicker or thinner strokes
    blur_p: float = 0.2
    noise_p: float = 0.25
    noise_std: float = 0.08
    contrast_p: float = 0.3
    contrast: tuple[float, float] = (0.6, 1.0)
    # Elastic distortion (Simard et al. 2003): a smooth random displacement field, so that
    # loops open and close, strokes bend and proportions change the way another writer's
    # hand changes them, which no affine map does. elastic_px is the field's largest typical
    # displacement (its standard deviation, in 28x28 pixels; each image draws 0..elastic_px),
    # elastic_sigma its smoothness. 0 leaves it out.
    elastic_p: float = 0.0
    elastic_px: float = 1.5
    elastic_sigma: float = 4.0


def augment(x: torch.Tensor, cfg: AugmentConfig, gen: torch.Generator) -> torch.Tensor:
    """x: float [N,1,28,28] in 0..1 -> augmented copy in 0..1."""
    x = _affine(x, cfg, gen)
    x = _thickness(x, cfg.thickness_p, gen)
    x = _blur(x, cfg.blur_p, gen)
    x = _contrast(x, cfg.contrast_p, cfg.contrast, gen)
    x = _noise(x, cfg.noise_p, cfg.noise_std, gen)
    return x.clamp_(0.0, 1.0)


def _uniform(n: int, low: float, high: float, gen: torch.Generator) -> torch.Tensor:
    return torch.rand(n, generator=gen) * (high - low) + low


def _chosen(n: int, p: float, gen: torch.Generator) -> torch.Tensor:
    return (torch.rand(n, generator=gen) < p).float().view(n, 1, 1, 1)


def _affine(x: torch.Tensor, cfg: AugmentConfig, gen: torch.Generator) -> torch.Tensor:
    n = x.shape[0]
    angle = _uniform(n, -cfg.rotate_deg, cfg.rotate_deg, gen) * math.pi / 180
    shear = _uniform(n, -cfg.shear_deg, cfg.shear_deg, gen) * math.pi / 180
    scale = _uniform(n, *cfg.scale, gen)
    # affine_grid maps output to input coordinates in [-1, 1]: one pixel is 2/28.
    shift = _uniform(2 * n, -cfg.shift_px, cfg.shift_px, gen).view(n, 2) * 2 / 28
    cos, sin, tan = torch.cos(angle), torch.sin(angle), torch.tan(shear)
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0] = cos / scale
    theta[:, 0, 1] = (-sin + tan * cos) / scale
    theta[:, 1, 0] = sin / scale
    theta[:, 1, 1] = (cos + tan * sin) / scale
    theta[:, :, 2] = shift
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    if cfg.elastic_p > 0:
        grid = grid + _elastic_field(x.shape, cfg, gen)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def _elastic_field(shape: torch.Size, cfg: AugmentConfig, gen: torch.Generator) -> torch.Tensor:
    """[N,H,W,2] displacements in affine_grid's units (2/W per pixel), zero where not chosen."""
    n, _, h, w = shape
    field = torch.rand(n, 2, h, w, generator=gen) * 2 - 1
    radius = math.ceil(3 * cfg.elastic_sigma)
    taps = torch.arange(-radius, radius + 1, dtype=torch.float32)
    kernel = torch.exp(-(taps**2) / (2 * cfg.elastic_sigma**2))
    kernel = kernel / kernel.sum()
    # Separable Gaussian smoothing of both components at once (grouped convolutions).
    field = F.pad(field, (radius, radius, radius, radius), mode="reflect")
    field = F.conv2d(field, kernel.view(1, 1, 1, -1).repeat(2, 1, 1, 1), groups=2)
    field = F.conv2d(field, kernel.view(1, 1, -1, 1).repeat(2, 1, 1, 1), groups=2)
    spread = field.flatten(1).std(dim=1).clamp_min(1e-6).view(n, 1, 1, 1)
    amount = _uniform(n, 0.0, cfg.elastic_px, gen).view(n, 1, 1, 1)
    pixels = field / spread * amount * _chosen(n, cfg.elastic_p, gen)
    return pixels.permute(0, 2, 3, 1) * torch.tensor([2.0 / w, 2.0 / h])


def _thickness(x: torch.Tensor, p: float, gen: torch.Generator) -> torch.Tensor:
    n = x.shape[0]
    thicker = F.max_pool2d(x, 3, stride=1, padding=1)
    thinner = -F.max_pool2d(-x, 3, stride=1, padding=1)
    # A partial blend gives the in-between widths a real pen produces, not only +-1 px.
    amount = _uniform(n, 0.3, 1.0, gen).view(n, 1, 1, 1) * _chosen(n, p, gen)
    direction = _chosen(n, 0.5, gen)
    target = direction * thicker + (1 - direction) * thinner
    return x + amount * (target - x)


def _blur(x: torch.Tensor, p: float, gen: torch.Generator) -> torch.Tensor:
    kernel = torch.tensor([1.0, 2.0, 1.0])
    kernel = (kernel[:, None] * kernel[None, :]) / 16
    blurred = F.conv2d(x, kernel.view(1, 1, 3, 3), padding=1)
    mask = _chosen(x.shape[0], p, gen)
    return mask * blurred + (1 - mask) * x


def _contrast(
    x: torch.Tensor, p: float, span: tuple[float, float], gen: torch.Generator
) -> torch.Tensor:
    n = x.shape[0]
    factor = _uniform(n, *span, gen).view(n, 1, 1, 1)
    mask = _chosen(n, p, gen)
    return x * (mask * factor + (1 - mask))


def _noise(x: torch.Tensor, p: float, std: float, gen: torch.Generator) -> torch.Tensor:
    n = x.shape[0]
    sigma = _uniform(n, 0.0, std, gen).view(n, 1, 1, 1) * _chosen(n, p, gen)
    return x + sigma * torch.randn(x.shape, generator=gen)
