"""Training end to end on the shipped sample, the augmentation, and evaluation."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.training.conftest import dry_run
from training.augment import AugmentConfig, _elastic_field, augment
from training.checkpoint import load_checkpoint
from training.evaluate import main as evaluate_main
from training.evaluate import summarise
from training.mnist import load_split
from training.model import DigitNet, ModelConfig, count_parameters


def test_dry_run_checkpoint_rebuilds_its_model(dry_run_checkpoint: Path) -> None:
    net, ckpt = load_checkpoint(dry_run_checkpoint)
    assert ModelConfig.from_dict(ckpt["model_args"]) == ModelConfig()
    assert len(ckpt["train_data_sha256"]) == 64
    assert ckpt["train_args"]["dry_run"] is True
    probs, _ = net.outputs(torch.zeros(3, 1, 28, 28))
    assert probs.shape == (3, 10)
    assert dry_run_checkpoint.with_suffix(".json").is_file()


def test_model_is_compact() -> None:
    params = count_parameters(DigitNet())
    assert 20_000 <= params <= 150_000, params


def test_augmentation_keeps_digits_recognisable_and_in_range(sample_data_dir: Path) -> None:
    images, _ = load_split(sample_data_dir, "test")
    x = torch.from_numpy(images[:64]).float().div(255).unsqueeze(1)
    gen = torch.Generator().manual_seed(0)
    out = augment(x, AugmentConfig(), gen)
    assert out.shape == x.shape
    assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0
    assert not torch.equal(out, x)
    # Ink mass stays of the same order: a transform that erased or flooded digits would not.
    ratio = out.sum(dim=(1, 2, 3)) / x.sum(dim=(1, 2, 3))
    assert float(ratio.median()) > 0.5 and float(ratio.median()) < 2.0
    again = augment(x, AugmentConfig(), torch.Generator().manual_seed(0))
    assert torch.equal(out, again), "same seed, same augmentation"


ONLY_ELASTIC = AugmentConfig(
    rotate_deg=0.0,
    shear_deg=0.0,
    scale=(1.0, 1.0),
    shift_px=0.0,
    thickness_p=0.0,
    blur_p=0.0,
    noise_p=0.0,
    contrast_p=0.0,
    elastic_p=1.0,
    elastic_px=1.5,
)


def test_elastic_field_is_smooth_and_as_large_as_asked() -> None:
    field = _elastic_field(torch.Size([256, 1, 28, 28]), ONLY_ELASTIC, torch.Generator())
    pixels = field * 14.0  # affine_grid units -> pixels
    spread = pixels.flatten(1).std(dim=1)
    # Each image draws its strength from 0..elastic_px: on average half of it.
    assert 0.6 < float(spread.mean()) < 0.9, float(spread.mean())
    assert float(spread.max()) <= 1.5 + 1e-4
    # Smooth: neighbouring pixels move almost together (white noise would differ by ~1.4x
    # the spread), so strokes bend rather than scatter.
    step = (pixels[:, 1:] - pixels[:, :-1]).abs().mean()
    assert float(step) < 0.25 * float(pixels.abs().mean())
    none = _elastic_field(
        torch.Size([8, 1, 28, 28]), AugmentConfig(elastic_p=0.0), torch.Generator()
    )
    assert float(none.abs().max()) == 0.0


def test_elastic_augmentation_bends_digits_without_losing_them(sample_data_dir: Path) -> None:
    images, _ = load_split(sample_data_dir, "test")
    x = torch.from_numpy(images[:64]).float().div(255).unsqueeze(1)
    plain = augment(
        x, AugmentConfig(**{**ONLY_ELASTIC.__dict__, "elastic_p": 0.0}), torch.Generator()
    )
    assert float((plain - x).abs().max()) < 1e-4, "no elastic field: the digit is untouched"
    bent = augment(x, ONLY_ELASTIC, torch.Generator().manual_seed(0))
    changed = (bent - x).abs().flatten(1).sum(dim=1) / x.flatten(1).sum(dim=1)
    assert float(changed.median()) > 0.1, "strokes moved"
    ratio = bent.sum(dim=(1, 2, 3)) / x.sum(dim=(1, 2, 3))
    assert 0.85 < float(ratio.median()) < 1.15, "ink neither erased nor smeared"


def test_summarise_confusion() -> None:
    labels = np.array([0, 0, 1, 2, 2, 2])
    predicted = np.array([0, 1, 1, 2, 2, 0])
    report = summarise(labels, predicted)
    assert report["accuracy"] == 4 / 6
    assert report["confusion"][0][1] == 1 and report["confusion"][2][0] == 1
    assert report["per_class_accuracy"]["2"] == 2 / 3


def test_evaluate_onnx_prints_accuracy_and_writes_plot(
    sample_data_dir: Path, tmp_path: Path, capsys
) -> None:
    model = Path(__file__).resolve().parents[2] / "edge" / "models" / "mnist-cnn.onnx"
    plot = tmp_path / "cm.png"
    assert evaluate_main([str(model), "--data-dir", str(sample_data_dir), "--plot", str(plot)]) == 0
    out = capsys.readouterr().out
    assert "accuracy" in out and "confusion matrix" in out
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_train_cli_without_torch_says_how_to_install() -> None:
    # A device install has no torch: the verb must explain itself in one line, not crash.
    code = (
        "import importlib.util, sys\n"
        "real = importlib.util.find_spec\n"
        "importlib.util.find_spec = lambda n, *a: None if n == 'torch' else real(n, *a)\n"
        "from edge.cli import main\n"
        "sys.exit(main(['train', '--epochs', '1']))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 2
    assert "pip install 'digitcam[train]'" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_fine_tune_from_checkpoint_with_device_labels(
    dry_run_checkpoint: Path, sample_data_dir: Path, tmp_path: Path, capsys
) -> None:
    import cv2

    images, labels = load_split(sample_data_dir, "test")
    labelled = tmp_path / "labels"
    for i in range(20):  # the PNG layout the device's label export writes
        folder = labelled / str(labels[i])
        folder.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(folder / f"{i}.png"), images[i])
    out = dry_run(
        sample_data_dir, tmp_path / "tuned.pt",
        "--init", str(dry_run_checkpoint), "--extra-data", str(labelled),
    )  # fmt: skip
    out_text = capsys.readouterr().out
    assert "extra to train on" in out_text
    assert "each batch: 30% of its digits from the extra examples" in out_text
    _, base = load_checkpoint(dry_run_checkpoint)
    _, tuned = load_checkpoint(out)
    assert tuned["train_data_sha256"] != base["train_data_sha256"], "the labels are named"
    assert out.with_suffix(".png").read_bytes()[:4] == b"\x89PNG"


def test_every_batch_holds_the_share_of_extra_examples_however_few_they_are() -> None:
    import torch

    from training.extra_data import epoch_order, split_extra

    order = epoch_order(1000, 20, 100, 0.3, torch.Generator().manual_seed(0))
    blocks = order[: len(order) // 100 * 100].reshape(-1, 100)
    assert len(blocks) == 14  # 1000 MNIST digits, 70 a batch
    assert all((block >= 1000).sum() == 30 for block in blocks)
    assert set(order[order >= 1000]) <= set(range(1000, 1020))
    assert len(set(order[order < 1000])) == len(order[order < 1000]), "MNIST once each"
    held = split_extra(np.repeat(np.arange(10), 10))
    assert held.sum() == 20 and all(held.reshape(10, 10).sum(1) == 2)  # every 5th per digit


def test_a_teacher_pulls_the_loss_towards_its_own_calibrated_answers(
    dry_run_checkpoint: Path,
) -> None:
    from training.train import Teacher

    net, _ = load_checkpoint(dry_run_checkpoint)
    net.temperature.fill_(0.5)  # the teacher's calibration counts
    teacher = Teacher(net, weight=0.5, temperature=2.0)
    images = torch.rand(8, 1, 28, 28)
    with torch.no_grad():
        same = net(images) / net.temperature
        assert float(teacher.loss(same, images)) < 1e-5
        # The raw logits are not what the teacher answers once calibrated.
        assert float(teacher.loss(net(images), images)) > 1e-3
        assert float(teacher.loss(-same, images)) > float(teacher.loss(net(images), images))


def test_training_from_a_teacher_of_another_class_count_is_refused(
    digits_only_checkpoint: Path, sample_data_dir: Path, tmp_path: Path
) -> None:
    with pytest.raises(SystemExit, match="the teacher has 10 classes, this network 11"):
        dry_run(sample_data_dir, tmp_path / "x.pt", "--teacher", str(digits_only_checkpoint))


def test_training_with_a_teacher_says_so_and_keeps_its_name(
    dry_run_checkpoint: Path, sample_data_dir: Path, tmp_path: Path, capsys
) -> None:
    out = dry_run(sample_data_dir, tmp_path / "s.pt", "--teacher", str(dry_run_checkpoint))
    assert f"teacher: {dry_run_checkpoint}, 50% of the loss" in capsys.readouterr().out
    _, ckpt = load_checkpoint(out)
    assert ckpt["train_args"]["teacher"] == str(dry_run_checkpoint)


def test_the_moving_average_follows_the_weights_and_the_batch_statistics() -> None:
    from training.train import WeightAverage

    net = DigitNet()
    average = WeightAverage(net, decay=0.75)
    conv = net.features[0][0].weight
    norm = net.features[0][1]
    with torch.no_grad():
        conv.fill_(1.0)
        norm.running_mean.fill_(2.0)
    average.update_parameters(net)  # the first update takes the weights as they are
    with torch.no_grad():
        conv.fill_(5.0)
        norm.running_mean.fill_(6.0)
    average.update_parameters(net)
    kept = average.module
    assert torch.allclose(kept.features[0][0].weight, torch.full_like(conv, 2.0))  # .75*1+.25*5
    assert torch.allclose(kept.features[0][1].running_mean, torch.full_like(norm.running_mean, 3.0))
    assert float(conv.detach().mean()) == 5.0, "the network being trained is left alone"


def test_training_with_a_moving_average_ships_the_average(
    sample_data_dir: Path, tmp_path: Path, capsys
) -> None:
    plain = dry_run(sample_data_dir, tmp_path / "plain.pt")
    averaged = dry_run(sample_data_dir, tmp_path / "ema.pt", "--ema", "0.5")
    assert "weights: moving average, decay 0.5 per step" in capsys.readouterr().out
    net_plain, _ = load_checkpoint(plain)
    net_ema, ckpt = load_checkpoint(averaged)
    assert ckpt["train_args"]["ema"] == 0.5
    # Same seed, same steps: only the averaging differs, and it changed the shipped weights.
    first = net_plain.features[0][0].weight
    assert not torch.allclose(first, net_ema.features[0][0].weight)


def test_a_pooling_of_four_quarters_trains_exports_and_adapts(
    sample_data_dir: Path, tmp_path: Path
) -> None:
    """`--pool 2`: the last layer sees each feature in four quarters of the 7x7 map, and the
    exported file keeps the device's contract (and stays under 300 KB in float16)."""
    from edge.model import load_model
    from export.onnx_export import main as export_main

    checkpoint = dry_run(sample_data_dir, tmp_path / "pool2.pt", "--pool", "2")
    net, ckpt = load_checkpoint(checkpoint)
    assert net.config.pool == 2 and ckpt["model_args"]["pool"] == 2
    assert net.width == 4 * net.config.channels[2]
    # A checkpoint from before the option rebuilds the network it was trained as.
    old = {k: v for k, v in ModelConfig().to_dict().items() if k != "pool"}
    assert ModelConfig.from_dict(old).pool == 1
    model_path = tmp_path / "pool2.onnx"
    args = [str(checkpoint), "--out", str(model_path), "--data-dir", str(sample_data_dir)]
    assert export_main([*args, "--parity-images", "200", "--weights", "float16"]) == 0
    assert model_path.stat().st_size < 300_000
    model = load_model(model_path)
    assert model.adaptable
    images = load_split(sample_data_dir, "train")[0][:16].astype(np.float32)[:, None] / 255
    assert model.features(images).shape == (16, 4 * net.config.channels[2])
    probs = model.predict(images)
    assert probs.shape == (16, 10) and np.allclose(probs.sum(1), 1.0, atol=1e-4)
    with pytest.raises(ValueError, match="pool"):
        DigitNet(ModelConfig(pool=3))


def test_an_8_bit_copy_keeps_the_contract_and_a_float32_last_layer_to_adapt(
    sample_data_dir: Path, tmp_path: Path, capsys
) -> None:
    import onnx

    from edge.model import load_model
    from edge.onnx_edit import initializers
    from export.onnx_export import main as export_main
    from training.evaluate import onnx_probs

    checkpoint = dry_run(sample_data_dir, tmp_path / "m.pt")
    model_path = tmp_path / "m.onnx"
    args = [str(checkpoint), "--out", str(model_path), "--data-dir", str(sample_data_dir)]
    assert export_main([*args, "--parity-images", "200", "--int8"]) == 0
    small = tmp_path / "m-int8.onnx"
    assert "m-int8.onnx: MNIST test" in capsys.readouterr().out
    assert small.stat().st_size < model_path.stat().st_size / 2
    meta = {p.key: p.value for p in onnx.load(str(small)).metadata_props}
    assert meta["version"].endswith("-int8") and meta["weights"].startswith("convolutions in 8")
    test_images, test_labels = load_split(sample_data_dir, "test")
    accuracy = (onnx_probs(small, test_images).argmax(1) == test_labels).mean()
    assert meta["mnist_test_accuracy"] == f"{accuracy:.4f}"
    # The device reads it through the same contract, and `model adapt` finds the last layer
    # and the memory where it rewrites them: float32 bytes, as in the float32 file.
    model = load_model(small)
    assert model.adaptable
    head = json.loads(meta["head"])
    names = {head[k] for k in ("weight", "bias", "memory_weight", "memory_bias")}
    assert initializers(small.read_bytes(), names) == initializers(model_path.read_bytes(), names)
    images = test_images[:16].astype(np.float32)[:, None] / 255
    assert np.allclose(model.predict(images).sum(1), 1.0, atol=1e-4)
