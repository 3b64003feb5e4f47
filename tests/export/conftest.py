"""Export tests reuse the training fixtures (sample data folder, dry-run checkpoint)."""

from tests.training.conftest import (  # noqa: F401
    digits_only_checkpoint,
    dry_run_checkpoint,
    sample_data_dir,
)
