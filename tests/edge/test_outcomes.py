"""mock_frames/outcomes.py: saved frame folders read with this tree, two runs compared."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import load_script

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "tests" / "fixtures" / "mnist_sample"


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> Path:
    generate = load_script("mock_generate", ROOT / "mock_frames" / "generate.py")
    out = tmp_path_factory.mktemp("frames")
    for scenario in ("single", "wild-blank"):
        args = ["--data-dir", str(SAMPLE), "--out", str(out / scenario), "--scenario", scenario]
        assert generate.main([*args, "--count", "3", "--first-index", "0", "--seed", "5"]) == 0
    return out


def test_every_frame_gets_its_outcome_and_a_changed_one_is_listed(
    folders: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outcomes = load_script("mock_outcomes", ROOT / "mock_frames" / "outcomes.py")
    before = tmp_path / "before.json"
    assert outcomes.main(["read", str(folders / "single"), str(folders / "wild-blank"),
                          "--out", str(before)]) == 0  # fmt: skip
    runs = json.loads(before.read_text())["runs"]
    single = runs[str(folders / "single")]
    expected = json.loads((folders / "single" / "expected.json").read_text())
    assert sorted(single) == sorted(expected)
    for name, (why, _status, value) in single.items():
        assert (why is None) == (value == expected[name]["value"])
    blank = runs[str(folders / "wild-blank")]
    assert all(status == "no_digit" and why is None for why, status, _ in blank.values())
    # Another run where the first single frame went out ok with a wrong value.
    name = sorted(single)[0]
    doctored = json.loads(before.read_text())
    doctored["runs"][str(folders / "single")][name] = ["misread digit", "ok", "x"]
    after = tmp_path / "after.json"
    after.write_text(json.dumps(doctored))
    capsys.readouterr()
    assert outcomes.main(["diff", str(before), str(after)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"- {folders / 'single'}/{name}:")
    right = sum(why is None for why, _, _ in [*single.values(), *blank.values()])
    assert lines[-1].startswith(f"right / ok but wrong: {right} / 0 -> ")


def test_a_threshold_no_digit_reaches_publishes_nothing(folders: Path, tmp_path: Path) -> None:
    outcomes = load_script("mock_outcomes", ROOT / "mock_frames" / "outcomes.py")
    out = tmp_path / "strict.json"
    assert outcomes.main(["read", str(folders / "single"), "--min-confidence", "1.01",
                          "--out", str(out)]) == 0  # fmt: skip
    single = json.loads(out.read_text())["runs"][str(folders / "single")]
    assert {status for _, status, _ in single.values()} == {"low_confidence"}
