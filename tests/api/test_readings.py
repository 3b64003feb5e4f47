"""The readings history: paging, filters, one reading, delete, corrections and what they teach."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import httpx
import pytest
from fastapi.testclient import TestClient

from edge.api.server import ApiServer
from edge.api.services import Services
from edge.reading import Digit, Reading, utc_timestamp
from tests.api.conftest import encoded, on_paper, upload

CONCURRENT = 16  # simultaneous corrections of one reading, as a double-clicking page sends


def store_of(client: TestClient):
    services: Services = client.app.state.services  # type: ignore[attr-defined]
    assert services.store is not None
    return services.store


def add_reading(
    client: TestClient,
    value: str | None,
    *,
    region: str = "main",
    status: str = "ok",
    ts: str | None = None,
) -> int:
    digits = [Digit(int(c), 0.9, (10 * i, 0, 8, 12)) for i, c in enumerate(value or "")]
    reading = Reading(
        "testcam",
        region,
        value,
        status,
        0.9 if digits else None,  # type: ignore[arg-type]
        digits,
        2.0,
        "mnist-cnn-test",
        "frames/x.png",
        0,
    )
    if ts:
        reading.ts = ts
    return store_of(client).record(reading, [], 1)


def test_history_pages_newest_first(client: TestClient) -> None:
    for i in range(7):
        add_reading(client, str(i))
    first = client.get("/api/v1/readings", params={"limit": 3}).json()
    assert [r["seq"] for r in first["items"]] == [7, 6, 5]
    assert first["next_offset"] == 3
    last = client.get("/api/v1/readings", params={"limit": 3, "offset": 6}).json()
    assert [r["seq"] for r in last["items"]] == [1]
    assert last["next_offset"] is None


def test_history_filters_by_region_status_value_and_time(client: TestClient) -> None:
    old = utc_timestamp(datetime.now(timezone.utc) - timedelta(days=2))
    add_reading(client, "12", region="kitchen", ts=old)
    add_reading(client, "12", region="hall")
    add_reading(client, None, region="kitchen", status="no_digit")

    def seqs(**params: str) -> list[int]:
        return [r["seq"] for r in client.get("/api/v1/readings", params=params).json()["items"]]

    assert seqs(region="kitchen") == [3, 1]
    assert seqs(status="no_digit") == [3]
    assert seqs(value="12") == [2, 1]
    yesterday = (datetime.now(timezone.utc) - timedelta(days=1)).isoformat()
    assert seqs(since=yesterday) == [3, 2]
    assert seqs(until=yesterday) == [1]
    naive = (datetime.now(timezone.utc) - timedelta(days=1)).replace(tzinfo=None).isoformat()
    assert seqs(since=naive) == [3, 2], "a time without a zone is taken as UTC"


@pytest.mark.parametrize(
    "params",
    [{"limit": 0}, {"limit": 100_000}, {"offset": -1}, {"status": "maybe"}, {"since": "yesterday"}],
)
def test_bad_history_queries_are_422(client: TestClient, params: dict) -> None:
    response = client.get("/api/v1/readings", params=params)
    assert response.status_code == 422


def test_one_reading_and_a_missing_one(client: TestClient) -> None:
    seq = add_reading(client, "5")
    assert client.get(f"/api/v1/readings/{seq}").json()["value"] == "5"
    missing = client.get("/api/v1/readings/999")
    assert missing.status_code == 404
    assert "999" in missing.json()["detail"]


def test_delete_forgets_the_reading(client: TestClient) -> None:
    seq = add_reading(client, "5")
    assert client.delete(f"/api/v1/readings/{seq}").status_code == 204
    assert client.get(f"/api/v1/readings/{seq}").status_code == 404
    assert client.delete(f"/api/v1/readings/{seq}").status_code == 404


def test_a_correction_is_kept_beside_the_prediction(client: TestClient) -> None:
    seq = add_reading(client, "417")
    response = client.put(f"/api/v1/readings/{seq}/correction", json={"value": "411"})
    assert response.status_code == 200
    entry = client.get(f"/api/v1/readings/{seq}").json()
    assert entry["value"] == "417", "the prediction is not overwritten"
    assert entry["corrected_value"] == "411"
    assert entry["corrected_at"]
    cleared = client.post(f"/api/v1/readings/{seq}/correction", json={"value": None}).json()
    assert cleared["corrected_value"] is None and cleared["value"] == "417"


@pytest.mark.parametrize("body", [{"value": "4a7"}, {"value": ""}, {}, {"value": 417}])
def test_a_correction_must_be_digits(client: TestClient, body: dict) -> None:
    seq = add_reading(client, "417")
    assert client.put(f"/api/v1/readings/{seq}/correction", json=body).status_code == 422


def test_correcting_an_uploaded_number_makes_one_training_example_per_digit(
    client: TestClient, first_of: Callable
) -> None:
    reading = upload(client, encoded(on_paper(first_of(4), first_of(1), first_of(7)))).json()
    assert reading["value"] == "417"
    assert client.get(f"/api/v1/readings/{reading['seq']}").json()["crops_stored"] == 3
    result = client.put(
        f"/api/v1/readings/{reading['seq']}/correction", json={"value": "417"}
    ).json()
    assert len(result["labels_added"]) == 3
    labels = client.get("/api/v1/labels").json()["items"]
    assert [(lb["label"], lb["source"]) for lb in labels] == [
        (4, "correction"),
        (1, "correction"),
        (7, "correction"),
    ]
    again = client.put(
        f"/api/v1/readings/{reading['seq']}/correction", json={"value": "417"}
    ).json()
    assert again["labels_added"] == [], "correcting twice does not add the examples twice"
    assert len(client.get("/api/v1/labels").json()["items"]) == 3


def test_a_correction_with_another_digit_count_makes_no_examples_and_says_why(
    client: TestClient, first_of: Callable
) -> None:
    reading = upload(client, encoded(on_paper(first_of(4), first_of(1)))).json()
    result = client.put(
        f"/api/v1/readings/{reading['seq']}/correction", json={"value": "4111"}
    ).json()
    assert result["labels_added"] == []
    assert "4 digits but 2 were found" in result["labels_note"]
    assert result["corrected_value"] == "4111"


def test_simultaneous_corrections_of_one_reading_make_one_example(
    live_server: Callable[..., ApiServer], first_of: Callable
) -> None:
    server = live_server()
    reading = httpx.post(
        f"{server.url}/predict",
        files={"file": ("seven.png", encoded(on_paper(first_of(7))), "image/png")},
    ).json()
    assert reading["value"] == "7"
    url = f"{server.url}/api/v1/readings/{reading['seq']}/correction"
    start = threading.Barrier(CONCURRENT)

    def correct(value: str) -> dict:
        start.wait()
        return httpx.put(url, json={"value": value}, timeout=30).json()

    with ThreadPoolExecutor(CONCURRENT) as pool:
        answers = list(pool.map(correct, ["7", "1"] * (CONCURRENT // 2)))

    labels = httpx.get(f"{server.url}/api/v1/labels").json()["items"]
    final = httpx.get(f"{server.url}/api/v1/readings/{reading['seq']}").json()
    assert len(labels) == 1, "one digit was corrected, so there is one training example"
    assert str(labels[0]["label"]) == final["corrected_value"], "the example says the correction"
    assert [a["corrected_value"] for a in answers] == ["7", "1"] * (CONCURRENT // 2), (
        "each answer shows the correction it made"
    )
    written = {(a["corrected_value"], a["corrected_at"]) for a in answers}
    assert (final["corrected_value"], final["corrected_at"]) in written, "the last one stands"


def test_a_correction_corrected_again_relabels_its_examples(
    client: TestClient, first_of: Callable
) -> None:
    reading = upload(client, encoded(on_paper(first_of(4), first_of(1)))).json()
    url = f"/api/v1/readings/{reading['seq']}/correction"
    assert len(client.put(url, json={"value": "41"}).json()["labels_added"]) == 2
    assert len(client.put(url, json={"value": "47"}).json()["labels_added"]) == 2

    def examples() -> list[int]:
        return [lb["label"] for lb in client.get("/api/v1/labels").json()["items"]]

    assert examples() == [4, 7], "the mistaken example 1 is gone; the reading teaches 4, 7"
    mismatch = client.put(url, json={"value": "471"}).json()
    assert mismatch["labels_added"] == [] and "3 digits but 2 were found" in mismatch["labels_note"]
    assert examples() == [], "examples that contradict the reading's correction are removed"
    assert len(client.put(url, json={"value": "41"}).json()["labels_added"]) == 2
    assert examples() == [4, 1]
    client.put(url, json={"value": None})
    assert examples() == [], "removing the correction removes the examples it made"
