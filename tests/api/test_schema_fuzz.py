"""Property-based requests generated from the app's own OpenAPI schema: no 500, ever.

Schemathesis sends valid and invalid parameters and bodies to every documented operation
and checks each answer is not a server error and matches the documented status codes,
content types and response schemas. The example count is bounded to keep the run short.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import cv2
import numpy as np
import pytest

from edge.api.factory import create_app
from edge.api.services import Services
from edge.config import Settings

schemathesis = pytest.importorskip("schemathesis", reason="pip install schemathesis (dev extra)")

from hypothesis import HealthCheck, settings  # noqa: E402  (schemathesis brings hypothesis)
from schemathesis.specs.openapi.checks import (  # noqa: E402
    negative_data_rejection,
    positive_data_acceptance,
)

EXAMPLES_PER_OPERATION = 30
# A schema can say "a file" but not "a readable image" or "an ONNX model": random bytes there
# are rightly refused (400/415), so these operations skip the check that valid-by-schema data
# must be accepted.
IMAGE_UPLOADS = {"/predict", "/api/v1/predict", "/api/v1/draw", "/api/v1/labels", "/api/v1/model"}


def fuzz_settings(folder: Path) -> Settings:
    """A working device: a camera folder with one frame, so 503 would be a real failure."""
    camera = folder / "camera"
    camera.mkdir()
    frame = np.full((120, 160), 255, np.uint8)
    cv2.line(frame, (80, 20), (80, 100), 0, 8)
    cv2.imwrite(str(camera / "frame.png"), frame)
    return Settings(
        device_id="fuzzcam",
        storage={"path": folder / "state.sqlite"},
        camera={"source": str(camera)},
        # schemathesis sends `Host: testserver`: a name the API must be told to answer to.
        api={"max_upload_bytes": 256 * 1024, "allowed_hosts": ["testserver"]},
    )


# Built at import because schemathesis parametrizes at collection time; the app opens its
# store and model in its lifespan, which schemathesis runs. The folder goes at exit.
_FOLDER = tempfile.TemporaryDirectory(prefix="digitcam-fuzz-")
schema = schemathesis.openapi.from_asgi(
    "/openapi.json", create_app(Services(fuzz_settings(Path(_FOLDER.name))))
)


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION, deadline=None, suppress_health_check=list(HealthCheck)
)
def test_no_request_makes_the_api_fail(case: schemathesis.Case) -> None:
    upload = case.path in IMAGE_UPLOADS and case.method == "POST"
    excluded = [positive_data_acceptance] if upload else []
    response = case.call()
    if response.status_code == 413:
        # A body over api.max_upload_bytes is refused before anything parses it, invalid or
        # not (schemathesis counts 413 as neither a rejection nor an acceptance).
        excluded.append(negative_data_rejection)
    case.validate_response(response, excluded_checks=excluded)
