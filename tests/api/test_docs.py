"""/docs and /redoc load their scripts from the package, and a built wheel ships them.

The pages themselves are rendered in Chromium, offline, in tests/api/test_browser.py.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from edge.api.routes.pages import static_dir
from tests.api.conftest import ROOT

TYPES = {".js": "javascript", ".css": "text/css", ".png": "image/png"}


def assets(html: str) -> list[str]:
    return re.findall(r'(?:src|href)="([^"]+)"', html)


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_the_docs_pages_load_everything_from_this_device(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    found = assets(response.text)
    assert found, "the page names its script"
    for url in found:
        assert url.startswith("/static/vendor/"), f"{path} loads {url} from elsewhere"
        served = client.get(url)
        assert served.status_code == 200, url
        assert TYPES[Path(url).suffix] in served.headers["content-type"], url
    assert "fonts.googleapis" not in response.text
    assert "default-src 'self'" in response.headers["content-security-policy"]


def test_swagger_ui_does_not_send_the_schema_address_to_the_online_validator(
    client: TestClient,
) -> None:
    assert '"validatorUrl": null' in client.get("/docs").text


def test_the_vendored_files_come_with_their_licences() -> None:
    vendor = static_dir() / "vendor"
    for folder, licence in (("swagger-ui", "Apache License"), ("redoc", "MIT License")):
        assert licence in (vendor / folder / "LICENSE").read_text()
    assert (vendor / "swagger-ui" / "NOTICE").exists()
    readme = (vendor / "README.md").read_text()
    assert "swagger-ui-dist@" in readme and "redoc@" in readme


def test_a_built_wheel_ships_every_page_and_docs_file(tmp_path: Path) -> None:
    """A non-editable install has what `pip install -e .` serves from the working tree."""
    source = tmp_path / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(ROOT / name, source / name)
    for package in ("edge", "training", "export"):
        shutil.copytree(
            ROOT / package, source / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    offline = ["--no-deps", "--no-build-isolation", "--no-index", "-q"]
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", *offline, "-w", str(tmp_path / "dist"), str(source)],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = (tmp_path / "dist").glob("digitcam-*.whl")
    shipped = set(zipfile.ZipFile(wheel).namelist())
    static = source / "edge" / "static"
    expected = {
        f"edge/static/{p.relative_to(static).as_posix()}" for p in static.rglob("*") if p.is_file()
    }
    assert "edge/static/vendor/redoc/redoc.standalone.js" in expected
    assert expected - shipped == set()
