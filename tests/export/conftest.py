"""Export tests reuse the training fixtures (sample data folder, dry-run checkpoint)."""

from pathlib import Path

from tests.training.conftest import (  # noqa: F401
    digits_only_checkpoint,
    dry_run_checkpoint,
    sample_data_dir,
)


def export_sample(checkpoint: Path, out: Path, data_dir: Path, *flags: str) -> Path:
    """`digitcam export` of a test checkpoint, parity-checked on 200 sample images; the file."""
    from export.onnx_export import main

    args = [str(checkpoint), "--out", str(out), "--data-dir", str(data_dir)]
    assert main([*args, "--parity-images", "200", *flags]) == 0
    return out
