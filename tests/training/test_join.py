"""`digitcam train --join`: two trained networks as one whose answer is the mean of theirs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from edge.model import load_model
from tests.training.conftest import dry_run
from training.checkpoint import load_checkpoint
from training.join import join_networks, main, shared_validation
from training.mnist import load_split

SAMPLE_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "mnist_sample"


@pytest.fixture(scope="module")
def second_checkpoint(sample_data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return dry_run(sample_data_dir, tmp_path_factory.mktemp("seed2") / "s2.pt", "--seed", "2")


def test_joined_logits_are_the_mean_of_the_members_calibrated_logits(
    dry_run_checkpoint: Path, second_checkpoint: Path
) -> None:
    members = [load_checkpoint(p)[0] for p in (dry_run_checkpoint, second_checkpoint)]
    for member, temperature in zip(members, (0.5, 2.0), strict=True):
        member.temperature.fill_(temperature)  # the members' own calibration must count
    joined = join_networks(members)
    images = torch.from_numpy(load_split(SAMPLE_DIR, "test")[0][:64].astype(np.float32) / 255)
    with torch.no_grad():
        want = sum(m(images[:, None]) / m.temperature for m in members) / 2
        got = joined(images[:, None]) / joined.temperature
        features = joined.embedding(images[:, None])
    assert torch.allclose(got, want, atol=1e-5)
    assert features.shape == (64, 2 * members[0].config.channels[2])


def test_join_writes_a_model_the_device_reads_and_can_adapt(
    dry_run_checkpoint: Path, second_checkpoint: Path, sample_data_dir: Path, tmp_path: Path
) -> None:
    from export.onnx_export import main as export_main

    out = tmp_path / "joined.pt"
    code = main(
        [
            "--join",
            str(dry_run_checkpoint),
            str(second_checkpoint),
            "--out",
            str(out),
            "--data-dir",
            str(sample_data_dir),
        ]
    )
    assert code == 0
    net, ckpt = load_checkpoint(out)
    assert net.config.towers == 2
    assert ckpt["train_args"]["join"] == [str(dry_run_checkpoint), str(second_checkpoint)]
    # The two seeds' validation splits (100 of 800) overlap; the temperature is fitted there.
    assert ckpt["fitted_on"]["validation_digits"] > 0
    model_path = tmp_path / "joined.onnx"
    args = [str(out), "--out", str(model_path), "--data-dir", str(sample_data_dir)]
    assert export_main([*args, "--parity-images", "200", "--weights", "int8"]) == 0
    model = load_model(model_path)
    assert model.adaptable
    images = load_split(SAMPLE_DIR, "test")[0][:32].astype(np.float32)[:, None] / 255
    assert model.features(images).shape == (32, 2 * net.config.channels[2])
    probs, not_digit = model.scores(images)
    assert probs.shape == (32, 10) and not_digit.shape == (32,)


def test_networks_of_different_shapes_or_already_joined_are_refused(
    dry_run_checkpoint: Path, sample_data_dir: Path, tmp_path: Path
) -> None:
    narrow = dry_run(sample_data_dir, tmp_path / "narrow.pt", "--channels", "8", "16", "32")
    with pytest.raises(SystemExit, match="differ in shape"):
        main(["--join", str(dry_run_checkpoint), str(narrow), "--out", str(tmp_path / "x.pt")])
    quarters = load_checkpoint(dry_run(sample_data_dir, tmp_path / "q.pt", "--pool", "2"))[0]
    with pytest.raises(Exception, match="pool 2"):
        join_networks([load_checkpoint(dry_run_checkpoint)[0], quarters])
    both = join_networks([quarters, quarters])
    assert both.config.pool == 2 and both.width == 2 * 4 * quarters.config.channels[2]
    x = torch.rand(4, 1, 28, 28)
    assert torch.allclose(both(x), quarters(x) / quarters.temperature, atol=1e-4)
    member = load_checkpoint(dry_run_checkpoint)[0]
    joined = join_networks([member, member])
    with pytest.raises(Exception, match="cannot be joined again"):
        join_networks([joined, member])


def test_shared_validation_is_what_every_member_held_out() -> None:
    one = {"seed": 1, "val_size": 100}
    same = shared_validation(1000, [one, one])
    assert len(same) == 100
    other = shared_validation(1000, [one, {"seed": 2, "val_size": 100}])
    assert 0 < len(other) < 100 and set(other) <= set(same)
    assert len(shared_validation(1000, [one, {}])) == 0  # unknown split: nothing is shared


def test_a_printed_checkpoint_is_refused_by_name(
    dry_run_checkpoint: Path, sample_data_dir: Path, tmp_path: Path
) -> None:
    printed = tmp_path / "printed.pt"
    torch.save({"model_args": {"kind": "printed", "channels": [16, 24, 40]}}, printed)
    with pytest.raises(SystemExit, match=r"printed-digit \(meter\) checkpoint"):
        main(["--join", str(dry_run_checkpoint), str(printed), "--out", str(tmp_path / "j.pt")])
    with pytest.raises(SystemExit, match=r"printed-digit \(meter\) checkpoint"):
        dry_run(sample_data_dir, tmp_path / "s.pt", "--teacher", str(printed))


def test_a_soup_is_one_network_with_the_mean_of_the_fine_tunes_weights(
    dry_run_checkpoint: Path, sample_data_dir: Path, tmp_path: Path
) -> None:
    tuned = [
        dry_run(sample_data_dir, tmp_path / f"t{i}.pt", "--init", str(dry_run_checkpoint), *flags)
        for i, flags in enumerate((["--lr", "1e-3"], ["--lr", "3e-3", "--seed", "2"]))
    ]
    out = tmp_path / "soup.pt"
    data = ["--data-dir", str(sample_data_dir)]
    assert main(["--soup", *map(str, tuned), "--out", str(out), *data]) == 0
    soup, ckpt = load_checkpoint(out)
    members = [load_checkpoint(p)[0] for p in tuned]
    assert soup.config.towers == 1 and ckpt["train_args"]["soup"] == [str(p) for p in tuned]
    state, first, second = soup.state_dict(), members[0].state_dict(), members[1].state_dict()
    assert not torch.equal(first["head.2.weight"], second["head.2.weight"])
    for key, value in state.items():
        if key == "temperature":  # fitted again on the held-out digits both share
            assert ckpt["fitted_on"]["validation_digits"] > 0 and float(value) > 0
        elif value.is_floating_point():
            assert torch.allclose(value, (first[key] + second[key]) / 2, atol=1e-6), key
    with pytest.raises(SystemExit, match="at least two"):
        main(["--soup", str(tuned[0]), "--out", str(tmp_path / "one.pt")])
    narrow = dry_run(sample_data_dir, tmp_path / "narrow.pt", "--channels", "8", "16", "32")
    with pytest.raises(SystemExit, match="differ in shape"):
        main(["--soup", str(tuned[0]), str(narrow), "--out", str(tmp_path / "x.pt")])
