"""The engine registry: what the page, the command line and the build read."""
from __future__ import annotations

import json
import re

import pytest

from backgrone.engines import DEFAULT_ENGINE, ENGINES, get_engine

GUIDE_ROWS = {
    "Model size",
    "Quality",
    "Speed",
    "Edge detail",
    "Hair/Fur",
    "Transparent objects",
    "Memory",
}
LABELS = {"precision": "Precision", "balanced": "Balanced", "lightweight": "Lightweight"}


def test_engine_ids_are_unique():
    ids = [e.id for e in ENGINES]
    assert len(ids) == len(set(ids))


def test_the_three_engines_have_their_labels():
    assert {e.id: e.label for e in ENGINES} == LABELS


def test_default_engine_is_a_known_engine():
    assert get_engine(DEFAULT_ENGINE).id == DEFAULT_ENGINE


@pytest.mark.parametrize("engine", ENGINES, ids=lambda e: e.id)
def test_every_engine_fills_every_guide_row(engine):
    assert set(engine.guide) == GUIDE_ROWS
    assert all(isinstance(v, str) and v.strip() for v in engine.guide.values())


@pytest.mark.parametrize("engine_id", ["precision", "lightweight"])
def test_self_hosted_engines_are_pinned_and_served_from_the_site(engine_id):
    engine = get_engine(engine_id)
    assert engine.self_hosted
    assert isinstance(engine.size, int) and engine.size > 0
    assert re.fullmatch(r"[0-9a-f]{64}", engine.sha256)
    # A relative URL: the site's own copy, in its models/ folder.
    assert "://" not in engine.source and not engine.source.startswith("/")
    assert engine.source.rsplit("/", 1)[-1] == engine.file


def test_balanced_is_fetched_from_an_absolute_https_url():
    engine = get_engine("balanced")
    assert engine.source.startswith("https://")
    assert not engine.self_hosted


@pytest.mark.parametrize("engine", ENGINES, ids=lambda e: e.id)
def test_to_json_is_serialisable_and_says_whether_self_hosted(engine):
    data = json.loads(json.dumps(engine.to_json()))
    assert data["id"] == engine.id
    assert data["self_hosted"] is engine.self_hosted
    assert data["guide"] == engine.guide
    assert data["source"] == engine.source


def test_unknown_engine_raises_key_error_naming_the_known_ids():
    with pytest.raises(KeyError) as info:
        get_engine("turbo")
    message = info.value.args[0]
    assert "turbo" in message
    for engine in ENGINES:
        assert engine.id in message
