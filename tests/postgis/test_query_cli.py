"""``registry query``: the same answers as the query layer, in table, CSV and GeoJSON; clear errors."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from registry import query as ql
from registry.commands.query import query


@pytest.fixture()
def env(pg_url: str, sample_loaded: None) -> Iterator[dict[str, str]]:
    from registry.db import engine_for

    yield {"DATABASE_URL": pg_url}
    engine_for(pg_url).dispose()  # the command's pooled connections


def test_near_in_three_formats_matches_the_query_layer(engine: Engine, env: dict[str, str]) -> None:
    with Session(engine) as session:
        want = ql.run(session, ql.parse_params({"near": ["113.6654,34.7579"], "radius": ["3000"], "limit": ["500"]}))
    runner = CliRunner()
    out = runner.invoke(query, ["near", "113.6654", "34.7579", "--radius", "3000", "--limit", "500",
                                "--format", "csv"], env=env)
    assert out.exit_code == 0, out.output
    rows = list(csv.DictReader(io.StringIO(out.output)))
    assert [int(r["id"]) for r in rows] == [r["id"] for r in want.rows]
    geo = runner.invoke(query, ["near", "113.6654", "34.7579", "--radius", "3000", "--limit", "500",
                                "--format", "geojson"], env=env)
    assert json.loads(geo.output)["numberMatched"] == want.number_matched
    table = runner.invoke(query, ["near", "113.6654", "34.7579", "--radius", "3000"], env=env)
    assert table.exit_code == 0 and f"{want.number_matched} matched" in table.output


def test_nearest_with_gcj02_and_kind(env: dict[str, str]) -> None:
    out = CliRunner().invoke(query, ["nearest", "113.671103", "34.752187", "--crs", "gcj02", "--k", "3",
                                     "--kind", "幼儿园", "--format", "geojson"], env=env)
    assert out.exit_code == 0, out.output
    body = json.loads(out.output)
    assert body["query"]["point"]["crs"] == "gcj02"
    assert all(f["properties"]["kind"] == "kindergarten" for f in body["features"])


@pytest.mark.parametrize("args,option", [
    (["near", "113.6", "34.7", "--radius", "0"], "--radius"),
    (["near", "113.6", "34.7", "--radius", "60000"], "--radius"),
    (["nearest", "113.6", "34.7", "--k", "0"], "--k"),
    (["near", "113.6", "34.7", "--radius", "300", "--kind", "library"], "--kind"),
    (["near", "113.6", "34.7", "--radius", "300", "--where", "colour=red"], "--where"),
    (["within", "atlantis"], "--within"),
])
def test_bad_input_exits_2_naming_the_option(env: dict[str, str], args: list[str], option: str) -> None:
    out = CliRunner().invoke(query, args, env=env)
    assert out.exit_code == 2 and option in out.output and "Traceback" not in out.output


def test_polygon_file(env: dict[str, str], tmp_path: Path) -> None:
    good = tmp_path / "area.geojson"
    good.write_text(json.dumps({"type": "Polygon", "coordinates": [[[113.6, 34.7], [113.75, 34.7], [113.75, 34.8],
                                                                    [113.6, 34.8], [113.6, 34.7]]]}))
    assert CliRunner().invoke(query, ["polygon", str(good)], env=env).exit_code == 0
    bad = tmp_path / "bad.geojson"
    bad.write_text("{nope")
    out = CliRunner().invoke(query, ["polygon", str(bad)], env=env)
    assert out.exit_code == 2 and "GeoJSON" in out.output
