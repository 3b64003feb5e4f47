"""The printed-digit model's data split, training, export and evaluation, end to end.

A small wheel tar is built from the shipped crop sample (tests/fixtures/meter_wheels) under
file names of three installations, so the split and the whole train -> export -> evaluate
path run without ../shared.
"""

from __future__ import annotations

import contextlib
import io
import json
import tarfile
from pathlib import Path

import cv2
import numpy as np
import onnx
import pytest
import torch

from edge.meter.printed import PrintedModel
from export.onnx_export import main as export_main
from training.evaluate import main as evaluate_main
from training.meter_data import TAR_NAME, installations, load_wheels, set_of, source_of
from training.train import main as train_main

SAMPLE = Path(__file__).resolve().parents[1] / "fixtures" / "meter_wheels"
# One installation per set: dig/2022 trains, dig/2021 tunes, main_dig/2022 is reported on.
NAMES = (
    "{p}_dig7_20220601-12{i:04d}.jpg",
    "{p}_dig6_20210601-12{i:04d}.jpg",
    "{p}_main_dig5_20220601-12{i:04d}.jpg",
)


@pytest.fixture(scope="module")
def meter_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("meter")
    with tarfile.open(folder / TAR_NAME, "w") as tar:
        for i, png in enumerate(sorted(SAMPLE.glob("*.png"))):
            tenths = int(png.name.split("_")[0])
            position = f"{tenths // 10}.{tenths % 10}"
            ok, jpeg = cv2.imencode(".jpg", cv2.imread(str(png)))
            assert ok
            name = NAMES[i % 3].format(p=position, i=i)
            info = tarfile.TarInfo(f"meterdigits/{position}/{name}")
            info.size = len(jpeg)
            tar.addfile(info, io.BytesIO(jpeg.tobytes()))
    return folder


def test_file_names_give_the_installation_and_whole_installations_one_set() -> None:
    assert source_of("4.8_main_dig5_20220519-122330.jpg") == ("main_dig", "2022")
    assert source_of("0.3_10_dig6_20220610-145219.jpg") == ("dig", "2022")  # an old label first
    assert source_of("5_3f5b8a0c1d2e3f405162738495a6b7c8.jpg") == ("unknown", "")
    assert set_of("7.2_main_dig7_20220518-042258.jpg") == "report"
    assert set_of("1.7_dig8_20210517-191726.jpg") == "tune"
    assert set_of("8_3f5b8a0c1d2e3f405162738495a6b7c8.jpg") == "train"  # no source: train only


def test_the_split_keeps_each_installation_in_one_set(meter_data: Path) -> None:
    sets = load_wheels(meter_data)
    assert [len(sets[name]) for name in ("train", "tune", "report")] == [67, 67, 66]
    sources = {name: set(sets[name].sources) for name in sets}
    assert sources == {"train": {"dig/2022"}, "tune": {"dig/2021"}, "report": {"main_dig/2022"}}
    assert sets["train"].images.shape[1:] == (32, 20)


def test_the_tune_wheels_fold_into_training_with_the_chosen_recipes_temperature(
    meter_data: Path, tmp_path: Path, capsys
) -> None:
    chosen, folded = tmp_path / "chosen.pt", tmp_path / "folded.pt"
    train_main(["--printed", "--meter-data", str(meter_data), "--dry-run", "--out", str(chosen)])
    printed = capsys.readouterr().out
    assert "67 wheels + " in printed and "temperature" in printed
    temperature = torch.load(chosen, weights_only=False)["temperature"]
    args = ["--printed", "--meter-data", str(meter_data), "--dry-run", "--seed", "2"]
    train_main([*args, "--fold-in-tune", str(chosen), "--out", str(folded)])
    printed = capsys.readouterr().out
    # Train and tune installations both trained on; the report installation never is.
    assert "134 wheels + " in printed and "(66 wheels left for the report)" in printed
    assert "tune wheels (trained on)" in printed
    # Its own tune figures would flatter it: the temperature is the chosen recipe's.
    assert torch.load(folded, weights_only=False)["temperature"] == temperature


def test_train_export_and_evaluate_a_printed_model(
    meter_data: Path, tmp_path: Path, capsys
) -> None:
    checkpoint, model = tmp_path / "printed.pt", tmp_path / "printed.onnx"
    train_main(
        ["--printed", "--meter-data", str(meter_data), "--dry-run", "--out", str(checkpoint)]
    )
    # --half checks itself on MNIST digits, so it is refused for the printed model, by name.
    with pytest.raises(SystemExit, match="--half and --weights are for the handwriting model"):
        export_main([str(checkpoint), "--out", str(model), "--half"])
    assert not model.exists()
    export_main([str(checkpoint), "--out", str(model), "--meter-data", str(meter_data)])
    meta = {p.key: p.value for p in onnx.load(model).metadata_props}
    assert (meta["name"], meta["kind"], meta["positions"]) == ("printed-cnn", "printed", "100")
    assert json.loads(meta["input_convention"])["shape"] == [None, 1, 32, 20]
    assert model.stat().st_size <= 300_000
    # The device takes it through the same checks as the shipped one.
    loaded = PrintedModel(model)
    probs, positions = loaded.read(np.random.default_rng(0).random((3, 1, 32, 20), np.float32))
    assert probs.shape == (3, 10) and positions.shape == (3, 100)
    assert np.allclose(probs.sum(1), 1, atol=1e-4) and np.allclose(positions.sum(1), 1, atol=1e-4)
    capsys.readouterr()
    report = tmp_path / "report.json"
    evaluate_main(
        [
            "--printed",
            str(model),
            "--meter-data",
            str(meter_data),
            "--renders",
            "50",
            "--json",
            str(report),
        ]
    )
    printed = capsys.readouterr().out
    assert "wheels, report installations (66 crops)" in printed
    figures = json.loads(report.read_text())
    assert 0 <= figures["wheels_report"]["within_tenth"] <= 1
    # 7-segment and dot-matrix renders are counted apart, 50 of each
    assert figures["display_rendered"]["crops"] == figures["display_rendered_matrix"]["crops"] == 50
    assert "rendered 7-segment (50)" in printed and "rendered dot-matrix (50)" in printed
    assert figures["ms_per_digit"] > 0 and figures["ms_per_digit_network"] > 0
    assert figures["second_look"] is True and "second looks included" in printed
    # The wheels again between a counter window's dark gaps, for both sets.
    gaps = figures["wheels_report_gaps"]
    assert set(gaps) == {"0.10", "0.15", "0.20"} and "wheels_tune_gaps" in figures
    assert all(0 <= g["sure_right"] + g["sure_wrong"] <= 1 for g in gaps.values())
    assert printed.count("between a window's dark gaps (a side)") == 2
    # And hidden under glare, a sticker, a smudge and as a blank cell, for both sets.
    hidden = figures["wheels_report_hidden"]
    assert (
        set(hidden) == {"glare", "sticker", "smudge", "blank"} and "wheels_tune_hidden" in figures
    )
    assert all(0 <= h["sure_right"] <= h["sure"] <= 1 for h in hidden.values())
    assert printed.count("hidden (no digit to see), read surely all the same") == 2


def test_wheels_between_gaps_are_squeezed_between_dark_bars() -> None:
    from training.printed_eval import GAP_GREY, between_gaps

    wheels = np.full((3, 32, 20), 200, np.uint8)
    wheels[:, 8:24, 9:11] = 0  # a stroke down the middle
    for share, bar in ((0.10, 2), (0.20, 4)):
        out = between_gaps(wheels, share)
        assert out.shape == (3, 32, 20)
        # Bars of about `share` of the width at each side, as dark as a gap...
        assert (out[:, :, :1] <= GAP_GREY + 5).all() and (out[:, :, -1:] <= GAP_GREY + 5).all()
        assert (out[:, 2, bar + 1 : 20 - bar - 1] > 150).all()  # ...the face light between
        assert (out[:, 16, 9:11] < 100).all()  # and the stroke still in the middle


def test_a_student_learns_the_teachers_averaged_raw_answers(
    meter_data: Path, tmp_path: Path
) -> None:
    import argparse

    import torch

    from training.printed_train import Teachers

    teacher = tmp_path / "teacher.pt"
    args = ["--printed", "--meter-data", str(meter_data), "--dry-run"]
    train_main([*args, "--out", str(teacher)])
    student = tmp_path / "student.pt"
    train_main([*args, "--teacher", str(teacher), "--out", str(student)])
    assert "teacher" in torch.load(student, weights_only=False)["args"]
    taught = Teachers.load(
        argparse.Namespace(teacher=[teacher, teacher], teacher_weight=0.5, teacher_temperature=1)
    )
    images = torch.rand(4, 1, 32, 20)
    with torch.no_grad():
        logits = taught.nets[0](images)
    # Answering as the teachers do costs nothing; their calibration is not applied.
    assert float(taught.loss(logits, images)) < 1e-5
    sure_of_0 = torch.zeros_like(logits)
    sure_of_0[:, 0] = 20.0
    assert float(taught.loss(sure_of_0, images)) > 1.0


def test_evaluating_a_model_that_is_not_a_printed_one_says_so(tmp_path: Path) -> None:
    handwriting = Path(__file__).resolve().parents[2] / "edge" / "models" / "mnist-cnn.onnx"
    for model, says in (
        (handwriting, "not a DigitCam printed-digit model"),
        (tmp_path / "none.onnx", "none.onnx"),
    ):
        with pytest.raises(SystemExit, match=says):
            evaluate_main(["--printed", str(model), "--renders", "10"])


def test_a_render_pool_draws_each_epochs_renders_afresh() -> None:
    from training.printed_train import epoch_order

    rng = np.random.default_rng(0)
    shares = [(0, 5, 5), (5, 30, 10)]  # 5 real wheels, 10 renders an epoch of a pool of 30
    first, second = epoch_order(rng, 35, shares), epoch_order(rng, 35, shares)
    for order in (first, second):
        assert sorted(order[order < 5]) == [0, 1, 2, 3, 4]  # every real wheel, once
        assert len(order) == 15 and len(set(order[order >= 5])) == 10
    assert set(first[first >= 5]) != set(second[second >= 5])
    assert sorted(epoch_order(rng, 35, None)) == list(range(35))  # no pool: all of it


def test_rendered_wheels_move_with_the_position_and_need_no_installed_font(monkeypatch) -> None:
    from training import wheel_render

    rng = np.random.default_rng(3)
    images, tenths = wheel_render.render_wheels(rng, 40)
    assert images.shape == (40, 32, 20) and images.dtype == np.uint8 and tenths.max() < 100
    none, no_tenths = wheel_render.render_wheels(rng, 0)  # --wheel-renders 0: real wheels only
    assert none.shape == (0, 32, 20) and len(no_tenths) == 0
    monkeypatch.setattr(wheel_render, "font_paths", lambda: ())  # a machine without the fonts
    # The same drum at 3.0 and at 3.5: whole, the 3 fills the window's middle; half-way, the
    # window's middle is the gap between the 3 going up and the 4 coming in.
    for seed in range(5):
        whole, half = (
            wheel_render.render_wheel(np.random.default_rng(seed), tenths).astype(float)
            for tenths in (30, 35)
        )
        middle = [
            np.abs(i - np.median(i))[11:21].sum() / np.abs(i - np.median(i)).sum()
            for i in (whole, half)
        ]
        assert middle[0] > middle[1] + 0.1, (seed, middle)


def test_column_max_adds_each_rows_strongest_response_and_old_checkpoints_still_load(
    meter_data: Path, tmp_path: Path
) -> None:
    from training.printed_model import PrintedPair, load_printed_checkpoint

    paths = {}
    for name, extra in (("mean", []), ("max", ["--column-max"])):
        paths[name] = tmp_path / f"{name}.pt"
        argv = ["--printed", "--meter-data", str(meter_data), "--dry-run", "--out"]
        assert train_main([*argv, str(paths[name]), *extra]) == 0
    mean, _ = load_printed_checkpoint(paths["mean"])
    both, ckpt = load_printed_checkpoint(paths["max"])
    assert ckpt["model_args"]["column_max"] is True
    assert mean.max_rows is None and both.max_rows is not None
    # The head sees twice the features: 40 channels x 4 rows more weights per position.
    count = [sum(p.numel() for p in net.parameters()) for net in (mean, both)]
    assert count[1] - count[0] == 40 * 4 * 100
    # Exported and loaded by the device like any printed model, within the size budget.
    model = tmp_path / "max.onnx"
    export_main([str(paths["max"]), "--out", str(model), "--meter-data", str(meter_data)])
    assert model.stat().st_size <= 300_000
    probs, _ = PrintedModel(model).read(np.zeros((2, 1, 32, 20), np.float32))
    assert probs.shape == (2, 10)
    # The shipped checkpoint's networks predate the option and rebuild as the networks they are.
    shipped = Path(__file__).resolve().parents[2] / "training" / "checkpoints" / "printed-cnn.pt"
    old, _ = load_printed_checkpoint(shipped)
    assert isinstance(old, PrintedPair) and all(net.max_rows is None for net in old.nets)


def test_mixstyle_mixes_feature_statistics_while_training_and_never_when_reading() -> None:
    from training.printed_model import PrintedConfig, PrintedNet, mix_style

    torch.manual_seed(0)
    # Eight images' features: the same pattern at eight contrasts and brightnesses.
    pattern = torch.rand(1, 3, 8, 5)
    features = torch.cat([pattern * (1 + k) + 2 * k for k in range(8)])
    mixed = mix_style(features, p=1.0, alpha=1.0)
    # Each image keeps its pattern (where features lie, so a wheel's position), standardised...
    for before, after in zip(features, mixed, strict=True):
        assert torch.corrcoef(torch.stack([before.flatten(), after.flatten()]))[0, 1] > 0.999
    # ...and takes on statistics between its own and the other image's.
    means = mixed.mean(dim=(2, 3))
    assert not torch.allclose(means, features.mean(dim=(2, 3)), atol=1e-3)
    assert bool((means >= features.mean(dim=(2, 3)).min(0).values - 1e-4).all())
    assert bool((means <= features.mean(dim=(2, 3)).max(0).values + 1e-4).all())
    assert torch.equal(mix_style(features, p=0.0), features)
    # In the network: only in training mode; reading (eval) is the plain network.
    net = PrintedNet(PrintedConfig(mixstyle=1.0))
    plain = PrintedNet(PrintedConfig())
    plain.load_state_dict(net.state_dict())
    x = torch.rand(4, 1, 32, 20)
    net.eval(), plain.eval()
    assert torch.equal(net(x), plain(x))
    net.train(), plain.train()
    torch.manual_seed(1)
    a = net(x)
    torch.manual_seed(1)
    assert not torch.allclose(a, plain(x))


def test_randconv_changes_the_strokes_not_where_they_are_and_never_when_reading() -> None:
    from training.printed_model import PrintedConfig, PrintedNet, rand_conv

    images = torch.zeros(6, 1, 32, 20)
    images[:, :, 10:22, 8:12] = 1.0  # a bar: where a wheel's digit stands
    rows = torch.arange(32, dtype=torch.float32)[None, :, None]
    changed = 0
    for seed in range(20):
        torch.manual_seed(seed)
        out = rand_conv(images, p=1.0)
        assert out.shape == images.shape
        changed += not torch.allclose(out, images)
        # Whatever the filter, the bar's rows stay where they were (its energy's centre).
        energy = (out - out.mean(dim=(2, 3), keepdim=True)).abs().sum(dim=(0, 1, 3))
        assert abs(float((energy * rows[0, :, 0]).sum() / energy.sum()) - 15.5) < 1.5
    assert changed >= 15
    assert torch.equal(rand_conv(images, p=0.0), images)
    net = PrintedNet(PrintedConfig(randconv=1.0))
    plain = PrintedNet(PrintedConfig())
    plain.load_state_dict(net.state_dict())
    net.eval(), plain.eval()
    x = torch.rand(4, 1, 32, 20)
    assert torch.equal(net(x), plain(x))


def test_another_installation_can_be_tuned_on_and_a_report_one_never(
    meter_data: Path, capsys
) -> None:
    # A larger held-out installation to compare recipes on: it leaves training, and the
    # usual tune installation trains instead; the report set stays as it is.
    sets = load_wheels(meter_data, installations(["dig/2022"]))
    sources = {name: set(sets[name].sources) for name in sets}
    assert sources == {"train": {"dig/2021"}, "tune": {"dig/2022"}, "report": {"main_dig/2022"}}
    with pytest.raises(ValueError, match="report installation"):
        installations(["main_dig/2022"])
    with pytest.raises(ValueError, match="ROI/YEAR"):
        installations(["dig2022"])
    args = ["--printed", "--meter-data", str(meter_data), "--dry-run"]
    with pytest.raises(SystemExit) as refused:
        train_main([*args, "--tune-installation", "main_dig/2022"])
    assert refused.value.code == 2 and "never tuned on" in capsys.readouterr().err


def test_a_turned_wheel_moves_up_with_its_position_and_its_label_moves_with_it() -> None:
    from training.printed_train import TENTH_PX, augment, turned_targets

    images = torch.zeros(64, 1, 32, 20)
    images[:, :, 14:18, 4:16] = 1.0  # a bar across the middle of the window (rows 14-17)
    rows = torch.arange(32, dtype=torch.float32)
    turn = np.full(64, 2 * TENTH_PX)  # two tenths further on: the picture 4.8 px higher
    centres = []
    for out in (
        augment(images, np.random.default_rng(0)),
        augment(images, np.random.default_rng(0), turn),
    ):
        energy = (out - out.median(dim=2, keepdim=True).values).abs().sum(dim=(1, 3))
        centres.append(float(((energy * rows).sum(1) / energy.sum(1)).median()))
    assert abs(centres[0] - 15.5) < 1.0, centres  # the usual shift keeps it in place
    assert abs(centres[0] - centres[1] - 2 * TENTH_PX) < 1.0, centres
    # Its soft label: round 3.7 + 2 tenths = 3.9; round 9.96, across 0.0 (the wheel is round).
    label = turned_targets(np.array([37 + turn[0] / TENTH_PX]))[0]
    assert int(label.argmax()) == 39 and label[39] > label[38] > label[37]
    across = turned_targets(np.array([99.6]))[0]
    assert int(across.argmax()) == 0 and across[99] > across[1] > across[98]
    # Only real wheels are turned (a display's digit is no position); no turn, no change.
    same = []
    for turned in (np.zeros(64), None):
        torch.manual_seed(5)  # the noise's
        same.append(augment(images, np.random.default_rng(5), turned))
    assert torch.equal(*same)


def test_training_with_turned_wheels_runs_and_records_it(meter_data: Path, tmp_path: Path) -> None:
    checkpoint = tmp_path / "turned.pt"
    argv = ["--printed", "--meter-data", str(meter_data), "--dry-run", "--turn-px", "2.5"]
    train_main([*argv, "--out", str(checkpoint)])
    saved = torch.load(checkpoint, weights_only=False)
    assert saved["args"]["turn_px"] == "2.5"
    assert np.isfinite(saved["history"][-1]["loss"])
    with pytest.raises(SystemExit):
        train_main([*argv[:-1], "-1", "--out", str(tmp_path / "never.pt")])
    assert not (tmp_path / "never.pt").exists()


def test_side_bars_squeeze_a_wheel_between_dark_gaps_as_a_windows_cell_holds_it() -> None:
    from training.printed_train import SIDE_BAR_PX, side_bars

    images = torch.full((200, 1, 32, 20), 0.8)  # a light wheel face...
    images[:, :, 6:26, 9:11] = 0.1  # ...with a dark upright stroke across its middle columns
    before = images.clone()
    side_bars(images, np.random.default_rng(3), chance=0.5)
    changed = [i for i in range(200) if not torch.equal(images[i], before[i])]
    assert 70 < len(changed) < 130  # about half of them
    for i in changed:
        column = images[i, 0, 16]  # one row across the stroke
        dark = (column < 0.25).numpy()
        left = int(np.argmin(dark)) if dark[0] else 0  # the bar's width at the left edge
        right = int(np.argmin(dark[::-1])) if dark[-1] else 0
        assert left + right >= 1 and left <= SIDE_BAR_PX and right <= SIDE_BAR_PX
        # The face between the bars stays light above the stroke, and the stroke is still there.
        assert float(images[i, 0, 2, left : 20 - right].min()) > 0.7
        assert float(images[i, 0, 16, left : 20 - right].min()) < 0.5
    # Never asked: the crops are untouched.
    again = before.clone()
    side_bars(again, np.random.default_rng(3), chance=0.0)
    assert torch.equal(again, before)


def test_window_cells_show_a_wheel_with_its_neighbours_edges_and_never_move_it_up() -> None:
    from training.printed_train import window_cells

    # Wheels of a light face with a dark bar across rows 14-17; every other one a "neighbour"
    # whose face is mid-grey, so what of a neighbour comes into a cell can be seen.
    images = torch.full((200, 1, 32, 20), 0.9)
    images[1::2] = 0.5
    images[:, :, 14:18, 4:16] = 0.0
    before = images.clone()
    out = window_cells(images, np.random.default_rng(4), chance=0.5)
    assert torch.equal(images, before)  # a new tensor; the batch itself is kept
    changed = [i for i in range(200) if not torch.equal(out[i], before[i])]
    assert 70 < len(changed) < 130
    edges = 0
    for i in changed:
        rows = (out[i, 0] < 0.25).float().mean(1)  # dark share of each row
        # The bar stays on its rows: where the digit sits is the wheel's position.
        assert float(rows[14:18].min()) > 0.4 and float(rows[:12].max()) < 0.5
        middle = out[i, 0, 2:12, 8:12]  # the face above the bar, mid-cell
        assert abs(float(middle.mean()) - float(before[i, 0, 0, 0])) < 0.1
        edges += bool((out[i, 0, 2:12, [0, -1]] - before[i, 0, 0, 0]).abs().max() > 0.2)
    assert edges > len(changed) // 3  # a gap or a neighbour at a cell's edge, often


@pytest.mark.parametrize("how", ["glare", "sticker", "smudge", "blank"])
def test_a_hider_leaves_no_digit_to_see_in_a_wheels_middle(how: str) -> None:
    from training.hiders import hide

    # A light wheel face with a dark 1 down its middle: hidden, the middle holds no stroke.
    for seed in range(20):
        crop = np.full((32, 20), 0.85, np.float32)
        crop[5:27, 9:12] = 0.05
        hide(crop, np.random.default_rng(seed), how)
        middle = crop[12:20, 6:14]
        assert float(middle.max() - middle.min()) < 0.3, (how, seed)
        assert float(crop.min()) >= 0.0 and float(crop.max()) <= 1.0
        if how == "glare":
            assert float(middle.min()) > 0.8  # burnt out white
        if how == "smudge":
            assert float(middle.max()) < 0.3  # dark over the light face too
    with pytest.raises(ValueError, match="one of glare"):
        hide(np.zeros((32, 20), np.float32), np.random.default_rng(0), "fog")


def test_hide_wheels_hides_about_the_share_asked_and_leaves_the_rest() -> None:
    from training.printed_train import hide_wheels

    images = torch.rand(400, 1, 32, 20)
    before = images.clone()
    hidden = hide_wheels(images, np.random.default_rng(5), chance=0.25)
    assert 60 < hidden.sum() < 140
    changed = np.array([not torch.equal(images[i], before[i]) for i in range(400)])
    assert (changed == hidden).all()


@pytest.mark.parametrize(
    ("option", "key"),
    [("--side-bars", "side_bars"), ("--window-cells", "window_cells"), ("--hidden", "hidden")],
)
def test_training_with_window_augmentations_runs_and_records_them(
    meter_data: Path, tmp_path: Path, option: str, key: str
) -> None:
    checkpoint = tmp_path / f"{key}.pt"
    argv = ["--printed", "--meter-data", str(meter_data), "--dry-run", option, "0.3"]
    train_main([*argv, "--out", str(checkpoint)])
    saved = torch.load(checkpoint, weights_only=False)
    assert saved["args"][key] == "0.3"
    assert np.isfinite(saved["history"][-1]["loss"])


def test_a_crop_the_hidden_output_calls_hidden_reads_every_position_alike() -> None:
    from training.printed_model import POSITIONS, PrintedConfig, PrintedNet

    torch.manual_seed(0)
    net = PrintedNet(PrintedConfig(hidden_head=True)).eval()
    plain = PrintedNet(PrintedConfig()).eval()
    plain.load_state_dict({k: v for k, v in net.state_dict().items() if "hidden" not in k})
    crops = torch.rand(6, 1, 32, 20)
    assert net.hidden is not None
    linear = net.hidden[1]
    with torch.no_grad():
        linear.weight.zero_()
        linear.bias.fill_(-3.0)  # nothing hidden: the positions' own outputs
        probs, positions = net.outputs(crops)
        want_probs, want_positions = plain.outputs(crops)
        assert torch.allclose(positions, want_positions) and torch.allclose(probs, want_probs)
        linear.bias.fill_(3.0)  # every crop hidden: no digit surer than another
        probs, positions = net.outputs(crops)
    assert torch.allclose(positions, torch.full_like(positions, 1.0 / POSITIONS))
    assert torch.allclose(probs, torch.full_like(probs, 0.1))


def test_the_hidden_output_is_trained_only_beside_hidden_crops(
    meter_data: Path, tmp_path: Path
) -> None:
    argv = ["--printed", "--meter-data", str(meter_data), "--dry-run", "--hidden-head"]
    with pytest.raises(SystemExit, match="needs --hidden"):
        train_main([*argv, "--out", str(tmp_path / "never.pt")])
    assert not (tmp_path / "never.pt").exists()
    checkpoint = tmp_path / "head.pt"
    train_main([*argv, "--hidden", "0.3", "--out", str(checkpoint)])
    saved = torch.load(checkpoint, weights_only=False)
    assert saved["model_args"]["hidden_head"] is True
    assert np.isfinite(saved["history"][-1]["loss"])
    onnx_path = tmp_path / "head.onnx"
    export_main([str(checkpoint), "--out", str(onnx_path), "--meter-data", str(meter_data)])
    probs, positions = PrintedModel(onnx_path).read(np.random.rand(3, 1, 32, 20).astype(np.float32))
    assert probs.shape == (3, 10) and positions.shape == (3, 100)


def test_evaluate_counts_real_lcd_crops_hidden_under_each_hider(tmp_path: Path) -> None:
    from edge.meter.printed import BUNDLED_DISPLAY, bundled_printed_path

    # The shipped LCD sample in the data set's layout: a folder per digit.
    fixture = Path(__file__).resolve().parents[1] / "fixtures" / "lcd_digits"
    for png in sorted(fixture.glob("[0-9]_*.png")):
        (tmp_path / "lcd" / png.name[0]).mkdir(parents=True, exist_ok=True)
        (tmp_path / "lcd" / png.name[0] / png.name).write_bytes(png.read_bytes())
    out = tmp_path / "figures.json"
    model = bundled_printed_path(BUNDLED_DISPLAY)
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        evaluate_main(
            ["--printed", str(model), "--lcd-data", str(tmp_path / "lcd"), "--json", str(out)]
        )
    figures = json.loads(out.read_text())
    hidden = figures["display_real_hidden"]
    assert set(hidden) == {"glare", "sticker", "smudge", "blank"}
    assert all(0 <= h["sure_right"] <= h["sure"] <= 1 for h in hidden.values())
    assert hidden["blank"]["sure"] < 0.5  # an empty cell is not read surely as a rule
    assert "real LCD crops (both halves) hidden (no digit to see)" in buffer.getvalue()
    # The tune half again, each crop 20 times under camera changes: the shipped display model
    # reads every plain tune crop of the sample, but not every changed copy of them.
    tune, stressed = figures["display_real_tune"], figures["display_real_tune_stressed"]
    assert stressed["crops"] == tune["crops"] > 10 and stressed["copies"] == 20
    assert tune["accuracy"] == 1.0
    assert 0.8 < stressed["accuracy"] < 1.0
    assert stressed["sure_right"] + stressed["sure_wrong"] <= 1.0
    assert stressed["sure_wrong_copies"] == round(stressed["sure_wrong"] * tune["crops"] * 20)
    assert "each 20 times under camera changes" in buffer.getvalue()


def test_lcd_stress_copies_are_the_same_for_every_model_and_change_each_crop() -> None:
    from training.lcd_stress import stressed

    fixture = Path(__file__).resolve().parents[1] / "fixtures" / "lcd_digits"
    pngs = sorted(fixture.glob("[0-9]_*.png"))[:5]
    originals = [cv2.imread(str(png), cv2.IMREAD_GRAYSCALE) for png in pngs]
    labels = np.array([int(png.name[0]) for png in pngs])
    images, repeated = stressed(originals, labels)
    assert images.shape == (5 * 20, 32, 20) and images.dtype == np.uint8
    assert list(repeated) == [d for d in labels for _ in range(20)]
    again, _ = stressed(originals, labels)
    assert np.array_equal(images, again)  # the same copies for every model compared
    other, _ = stressed(originals, labels, seed=1)
    assert not np.array_equal(images, other)
    plain = cv2.resize(originals[0], (20, 32), interpolation=cv2.INTER_AREA).astype(int)
    changed = [np.abs(copy.astype(int) - plain).mean() for copy in images[:20]]
    assert min(changed) > 1.0  # every copy differs from the crop as the data set holds it


def test_two_networks_joined_read_as_the_mean_of_both_and_ship_as_one_file(
    meter_data: Path, tmp_path: Path, capsys
) -> None:
    from training.printed_model import load_printed_checkpoint

    paths = [tmp_path / f"s{seed}.pt" for seed in (1, 2)]
    for seed, path in zip((1, 2), paths, strict=True):
        args = ["--printed", "--meter-data", str(meter_data), "--dry-run", "--seed", str(seed)]
        train_main([*args, "--channels", "8", "12", "16", "--out", str(path)])
    pair_path = tmp_path / "pair.pt"
    train_main(["--printed", "--join", *map(str, paths), "--out", str(pair_path)])
    assert "2 networks joined" in capsys.readouterr().out
    model = tmp_path / "pair.onnx"
    export_main([str(pair_path), "--out", str(model), "--meter-data", str(meter_data)])
    # The device reads the pair through the same contract; each crop's outputs are the mean
    # of what the two networks say alone.
    crops = load_wheels(meter_data)["report"].images[:, None].astype(np.float32) / 255.0
    probs, positions = PrintedModel(model).read(crops, second_look=False)
    alone = []
    for path in paths:
        single = tmp_path / f"{path.stem}.onnx"
        export_main([str(path), "--out", str(single), "--meter-data", str(meter_data)])
        alone.append(PrintedModel(single).read(crops, second_look=False))
    assert np.allclose(probs, (alone[0][0] + alone[1][0]) / 2, atol=1e-5)
    assert np.allclose(positions, (alone[0][1] + alone[1][1]) / 2, atol=1e-5)
    assert not np.allclose(alone[0][0], alone[1][0], atol=1e-3), "the seeds should differ"
    meta = onnx.load(str(model)).metadata_props
    temperature = next(p.value for p in meta if p.key == "temperature")
    assert len(temperature.split(",")) == 2
    # The checkpoint rebuilds as the pair, and a pair is not joined again.
    pair, _ = load_printed_checkpoint(pair_path)
    assert len(pair.temperatures) == 2
    with pytest.raises(SystemExit, match="already a pair"):
        train_main(
            ["--printed", "--join", str(pair_path), str(paths[0]), "--out", str(tmp_path / "x.pt")]
        )


def test_an_8_bit_copy_reads_the_wheels_as_the_float32_file_in_a_third_of_the_bytes(
    meter_data: Path, tmp_path: Path, capsys
) -> None:
    shipped = Path(__file__).resolve().parents[2] / "training" / "checkpoints" / "printed-cnn.pt"
    model = tmp_path / "printed.onnx"
    with pytest.raises(SystemExit, match="give --meter-data"):
        export_main([str(shipped), "--out", str(model), "--int8"])
    assert not model.exists()
    export_main([str(shipped), "--out", str(model), "--meter-data", str(meter_data), "--int8"])
    small = tmp_path / "printed-int8.onnx"
    assert f"wrote {small}" in capsys.readouterr().out
    assert small.stat().st_size < model.stat().st_size / 2.5
    crops = load_wheels(meter_data)["report"].images[:, None].astype(np.float32) / 255.0
    full, eight = (PrintedModel(p).read(crops, second_look=False) for p in (model, small))
    assert (full[0].argmax(1) == eight[0].argmax(1)).mean() >= 0.97
    assert np.abs(full[0] - eight[0]).mean() < 0.01
    meta = {p.key: p.value for p in onnx.load(str(small)).metadata_props}
    assert meta["version"].endswith("-int8") and meta["temperature"] == "0.247823, 0.292454"
    assert PrintedModel(small).version == f"printed-cnn-{meta['version']}"


@pytest.mark.parametrize("name", ["printed-cnn", "display-cnn"])
def test_each_shipped_printed_model_is_its_checkpoints_pair_in_8_bits(name: str) -> None:
    """The counter and the display model ship as two networks read as one, exported in 8 bits
    from the checkpoint beside them (README: the recipe), within the 300 KB budget."""
    from training.printed_model import PrintedPair, load_printed_checkpoint

    root = Path(__file__).resolve().parents[2]
    pair, _ = load_printed_checkpoint(root / "training" / "checkpoints" / f"{name}.pt")
    model = root / "edge" / "models" / f"{name}.onnx"
    meta = {p.key: p.value for p in onnx.load(str(model)).metadata_props}
    assert isinstance(pair, PrintedPair) and len(pair.nets) == 2
    temperatures = [float(t) for t in meta["temperature"].split(",")]
    assert temperatures == pytest.approx([float(t) for t in pair.temperatures], abs=1e-5)
    assert meta["version"].endswith("-int8") and model.stat().st_size <= 300_000
    assert PrintedModel(model).version == f"printed-cnn-{meta['version']}"


def test_a_stress_seed_draws_other_copies_for_a_fresh_look(tmp_path: Path, monkeypatch) -> None:
    """evaluate's stressed LCD figure uses STRESS_SEED; a rule that needs draws nobody has seen
    asks for another with --stress-seed, and that seed reaches the stress and the figures."""
    import training.lcd_stress as lcd_stress
    from edge.meter.printed import BUNDLED_DISPLAY, bundled_printed_path

    fixture = Path(__file__).resolve().parents[1] / "fixtures" / "lcd_digits"
    for png in sorted(fixture.glob("[0-9]_*.png")):
        (tmp_path / "lcd" / png.name[0]).mkdir(parents=True, exist_ok=True)
        (tmp_path / "lcd" / png.name[0] / png.name).write_bytes(png.read_bytes())
    seeds, real = [], lcd_stress.stressed

    def recording(originals, labels, copies=lcd_stress.STRESS_COPIES, seed=lcd_stress.STRESS_SEED):
        seeds.append(seed)
        return real(originals, labels, 2, seed)  # two copies a crop: the seed is what counts

    monkeypatch.setattr(lcd_stress, "stressed", recording)
    model, out = bundled_printed_path(BUNDLED_DISPLAY), tmp_path / "figures.json"
    argv = ["--printed", str(model), "--lcd-data", str(tmp_path / "lcd"), "--renders", "0"]
    for extra, seed in (([], lcd_stress.STRESS_SEED), (["--stress-seed", "4243"], 4243)):
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            evaluate_main([*argv, *extra, "--json", str(out)])
        assert seeds[-1] == seed
        assert json.loads(out.read_text())["display_real_tune_stressed"]["seed"] == seed
        assert f"(training/lcd_stress.py, seed {seed})" in buffer.getvalue()
