"""Export tests reuse the training fixtures (sample data folder, dry-run checkpoint)."""

from tests.training.conftest import dry_run_checkpoint, sample_data_dir  # noqa: F401
