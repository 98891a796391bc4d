"""The API of a short or neutral grid (api/views.py, api/server.py, issue 11): status and the
chart's samples carry the signed net position and the direction beside the gross
``position``; the ladder marks each level long, short or (a neutral grid's pivot) none.
A long grid's documents are exactly as before."""

from __future__ import annotations

from pathlib import Path

import pytest
from net_grid_helpers import engine_with_inventory
from perp_helpers import T0

from gridledger.api.server import ApiServer
from gridledger.api.views import levels_view, status_view
from gridledger.config import ApiConfig


def _docs(tmp_path: Path, direction: str) -> tuple[dict, dict, dict]:
    engine = engine_with_inventory(tmp_path, direction)
    try:
        server = ApiServer(ApiConfig(port=1), None, on_stop=lambda: None)
        server.engine = engine
        sample = server.sample()
        assert sample is not None
        return status_view(engine, started_ms=T0), levels_view(engine, around=2), sample
    finally:
        engine.journal.close()


@pytest.mark.parametrize(
    ("direction", "gross", "net"),
    [("short", "0.006", "-0.006"), ("neutral", "0.01", "0.002")],
)
def test_status_and_samples_show_the_signed_net_position(tmp_path: Path, direction: str, gross: str, net: str):
    status, _levels, sample = _docs(tmp_path, direction)
    for doc in (status, sample):
        assert (doc["position"], doc["net_position"], doc["direction"]) == (gross, net, direction)


def test_the_ladder_marks_each_level_by_direction(tmp_path: Path) -> None:
    _status, levels, _sample = _docs(tmp_path, "neutral")
    by_level = {row["level"]: row for row in levels["levels"]}
    assert by_level[-1]["direction"] == "long" and by_level[-1]["qty"] == "0.006"
    assert by_level[1]["direction"] == "short" and by_level[1]["qty"] == "0.004"
    assert by_level[0]["direction"] is None  # the pivot holds no slot
    (tmp_path / "s").mkdir()
    _status, levels, _sample = _docs(tmp_path / "s", "short")
    assert {row["direction"] for row in levels["levels"]} == {"short"}


def test_a_long_grid_documents_are_unchanged(tmp_path: Path) -> None:
    status, levels, sample = _docs(tmp_path, "long")
    for doc in (status, sample):
        assert doc["position"] == "0.006"
        assert "net_position" not in doc and "direction" not in doc
    assert all("direction" not in row for row in levels["levels"])
