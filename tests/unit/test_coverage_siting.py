"""Site selection (MCLP): greedy and exact on small hand-checkable and random cases."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from registry.coverage.inputs import LayerInfo, PopulationGrid, UnitTable
from registry.coverage.params import CoverageInputError
from registry.coverage.siting import (
    build_problem,
    exact,
    greedy,
    grid_candidates,
    select_sites,
)


def _line_problem(capacity: float | None = None):
    """Cells at x = 0, 100, 200, 300 with 1, 2, 2, 1 residents; radius 60.

    Candidate A (x=50) covers cells 0 and 100 (3 residents), B (x=250) covers 200 and 300 (3),
    C (x=150) covers 100 and 200 (4).  Greedy takes C first and then gains 1: 5; A + B cover 6.
    """
    cells = np.array([[0.0, 0], [100, 0], [200, 0], [300, 0]])
    pop = np.array([1.0, 2, 2, 1])
    cands = np.array([[50.0, 0], [250, 0], [150, 0]])
    return build_problem(cells, pop, np.zeros(4, bool), cands, 60, capacity)


def test_problem_structure() -> None:
    p = _line_problem()
    assert p.n_candidates == 3 and p.n_pairs == 6
    assert sorted(p.weights[p.cells_of(2)].tolist()) == [2.0, 2.0]
    assert p.covered_before == 0 and p.total_population == 6 and p.unreachable == 0


def test_greedy_is_suboptimal_here_and_exact_finds_the_optimum() -> None:
    p = _line_problem()
    g = greedy(p, 2)
    assert g.chosen[0] == 2 and g.value == 5.0 and g.gains == [4.0, 1.0]
    e = exact(p, 2)
    assert sorted(e.chosen) == [0, 1] and e.value == 6.0 and e.status == "optimal" and e.gap == 0.0
    # The greedy bound is a valid upper bound on the optimum, so its gap is proven.
    assert g.upper_bound >= e.value
    assert g.gap == pytest.approx((g.upper_bound - 5) / g.upper_bound)


def test_k_larger_than_useful_candidates() -> None:
    p = _line_problem()
    g = greedy(p, 10)
    assert g.value == 6.0 and sorted(g.chosen) == [0, 1, 2]  # every candidate adds someone
    assert exact(p, 10).value == 6.0


def test_existing_sites_are_kept() -> None:
    cells = np.array([[0.0, 0], [100, 0], [200, 0], [300, 0]])
    pop = np.array([1.0, 2, 2, 1])
    covered = np.array([True, True, False, False])  # an existing site covers the first two cells
    p = build_problem(cells, pop, covered, np.array([[50.0, 0], [250, 0], [150, 0]]), 60)
    assert p.covered_before == 3
    g = greedy(p, 1)
    assert g.chosen == [1] and g.value == 3.0  # B now beats C (C only adds cell 200)


def test_capacity_limits_what_a_site_serves() -> None:
    p = _line_problem(capacity=2.5)
    g = greedy(p, 2)
    e = exact(p, 2)
    assert g.value <= e.value + 1e-9
    assert e.value == pytest.approx(5.0)  # two sites, 2.5 residents each
    assert all(x <= 2.5 + 1e-9 for x in e.gains) and all(x <= 2.5 + 1e-9 for x in g.gains)
    assert g.upper_bound is None  # the submodular bound is only claimed without capacities


def test_capacity_serves_nearest_cells_first() -> None:
    cells = np.array([[0.0, 0], [50, 0], [90, 0]])
    p = build_problem(cells, np.array([10.0, 10, 10]), np.zeros(3, bool), np.array([[0.0, 0]]), 100, 15)
    g = greedy(p, 1)
    assert g.value == 15.0
    served = dict(zip(p.demand_index.tolist(), g.served.tolist()))
    assert served == {0: 10.0, 1: 5.0, 2: 0.0}


@pytest.mark.parametrize("seed", range(6))
def test_greedy_and_exact_agree_on_small_random_cases(seed: int) -> None:
    rng = np.random.default_rng(seed)
    cells = rng.uniform(0, 3_000, (400, 2))
    pop = rng.integers(0, 60, 400).astype(float)
    cands = rng.uniform(0, 3_000, (60, 2))
    covered = rng.random(400) < 0.1
    p = build_problem(cells, pop, covered, cands, 350)
    g, e = greedy(p, 5), exact(p, 5)
    assert e.status == "optimal"
    assert g.value <= e.value + 1e-6
    assert g.value >= (1 - 1 / math.e) * e.value
    assert (e.value - g.value) / e.value <= 0.05
    assert g.upper_bound + 1e-6 >= e.value
    # Values are the residents actually covered by the chosen sites.
    for sel in (g, e):
        union = np.unique(np.concatenate([p.cells_of(j) for j in sel.chosen]))
        assert sel.value == pytest.approx(p.weights[union].sum())
        assert sum(sel.gains) == pytest.approx(sel.value)


def test_exact_refuses_huge_problems() -> None:
    rng = np.random.default_rng(0)
    p = build_problem(rng.uniform(0, 100, (50, 2)), np.ones(50), np.zeros(50, bool), rng.uniform(0, 100, (10_000, 2)),
                      500)
    with pytest.raises(CoverageInputError) as err:
        exact(p, 3)
    assert err.value.parameter == "solver"


def test_grid_candidates_reach_uncovered_residents_only() -> None:
    cells = np.array([[1000.0, 1000], [5000, 5000]])
    pop = np.array([10.0, 10])
    covered = np.array([False, True])
    cand = grid_candidates(cells, pop, covered, 250, 300)
    assert len(cand) > 0
    d = np.hypot(cand[:, 0] - 1000, cand[:, 1] - 1000)
    assert (d <= 300).all()
    assert np.allclose(np.mod(cand, 250), 0)  # aligned to multiples of the spacing
    with pytest.raises(CoverageInputError):
        grid_candidates(cells, pop, covered, 1, 300)


def test_select_sites_reports_before_and_after_per_unit() -> None:
    cells = np.array([[0.0, 0], [100, 0], [200, 0], [300, 0]]) + [500_000, 3_850_000]
    grid = PopulationGrid(cells, [1, 2, 2, 1], ["A", "A", "B", "B"], [1, 2, 3, 4], LayerInfo("t", 2020, "t"))
    units = UnitTable(pd.DataFrame({"code": ["A", "B"], "name": ["甲", "乙"]}))
    cands = np.array([[50.0, 0], [250, 0], [150, 0]]) + [500_000, 3_850_000]
    res = select_sites(grid, np.full(4, np.inf), cands, 60, 2, units=units, solver="both")
    assert res.city["covered_before"] == 0 and res.city["covered_after"] == 5  # greedy result is shown
    assert res.solvers["exact"]["value"] == 6 and res.solvers["gap_vs_exact"] == pytest.approx(1 / 6)
    assert res.sites["newly_covered"].tolist() == [4.0, 1.0] and res.sites["cumulative"].tolist() == [4.0, 5.0]
    assert res.sites.crs.to_epsg() == 4326
    by_code = res.units.set_index("code")
    assert by_code.loc["A", "covered_after"] + by_code.loc["B", "covered_after"] == 5
    d = res.to_dict()
    assert d["sites"]["features"][0]["properties"]["rank"] == 1 and d["k"] == 2


def test_both_solvers_fall_back_to_greedy_when_too_large() -> None:
    rng = np.random.default_rng(1)
    base = np.array([500_000.0, 3_850_000.0])
    cells = base + rng.uniform(0, 100, (50, 2))
    grid = PopulationGrid(cells, np.ones(50), ["A"] * 50, np.arange(50), LayerInfo("t", 2020, "t"))
    units = UnitTable(pd.DataFrame({"code": ["A"], "name": ["甲"]}))
    cands = base + rng.uniform(0, 100, (10_000, 2))
    res = select_sites(grid, np.full(50, np.inf), cands, 500, 2, units=units, solver="both")
    assert res.solvers["exact"]["status"] == "skipped" and "at most" in res.solvers["exact"]["reason"]
    assert res.solvers["greedy"]["value"] == 50 and "gap_vs_exact" not in res.solvers
    with pytest.raises(CoverageInputError):
        select_sites(grid, np.full(50, np.inf), cands, 500, 2, units=units, solver="exact")
