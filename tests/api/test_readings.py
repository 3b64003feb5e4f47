"""The readings history: paging, filters, one reading, delete, corrections and what they teach."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient

from edge.api.services import Services
from edge.reading import Digit, Reading, utc_timestamp
from tests.api.conftest import encoded, on_paper, upload


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
