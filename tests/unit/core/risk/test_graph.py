"""Equity penetration on hand-computed graphs: chains, summed paths, cycles, groups, the figure."""

from __future__ import annotations

import pytest

from core.risk.graph import (
    circular_holdings,
    cumulative_shares,
    ownership_figure,
    ownership_graph,
    related_groups,
    related_parties,
    ultimate_controllers,
)
from tests.unit.core.risk.world import AS_OF, holding, inputs


def _graph(*rows):
    return ownership_graph(inputs(shareholdings=list(rows)).shareholdings, AS_OF)


def test_a_chain_multiplies_the_shares_along_the_path():
    # P holds 60 % of B, B holds 50 % of C: P's share in C is 0.6 × 0.5 = 0.3.
    G = _graph(holding(2, 60, name="P"), holding(2, 40, name="Q"), holding(3, 50, holder_enterprise=2),
               holding(3, 50, name="R"))
    out = ultimate_controllers(G, 3, min_share=0.0).set_index("holder_name")
    assert out.loc["P", "cumulative_share"] == pytest.approx(0.30)
    assert out.loc["Q", "cumulative_share"] == pytest.approx(0.20)
    assert out.loc["R", "cumulative_share"] == pytest.approx(0.50)
    assert out["cumulative_share"].sum() == pytest.approx(1.0)
    assert [len(p) for p in out.loc["P", "paths"]] == [3]


def test_two_paths_are_summed():
    # P holds 50 % of A and 40 % of B; A holds 30 % of C and B holds 20 % of C: 0.5·0.3 + 0.4·0.2 = 0.23.
    G = _graph(holding(1, 50, name="P"), holding(1, 50, name="X"), holding(2, 40, name="P"), holding(2, 60, name="Y"),
               holding(3, 30, holder_enterprise=1), holding(3, 20, holder_enterprise=2), holding(3, 50, name="Z"))
    shares = cumulative_shares(G, 3)
    p_keys = [k for k in shares.index if str(k).startswith("p:P|")]
    # Without id numbers, the same name on two companies is two people: 0.15 and 0.08, never merged.
    assert sorted(round(shares[k], 4) for k in p_keys) == [0.08, 0.15]


def test_two_paths_of_the_same_person_sum_when_id_numbers_identify_them():
    rows = [holding(1, 50, name="P"), holding(1, 50, name="X"), holding(2, 40, name="P"), holding(2, 60, name="Y"),
            holding(3, 30, holder_enterprise=1), holding(3, 20, holder_enterprise=2), holding(3, 50, name="Z")]
    frame = inputs(shareholdings=rows).shareholdings
    frame["holder_id_number"] = frame["holder_name"].map({"P": "ID-P"})
    G = ownership_graph(frame, AS_OF)
    out = ultimate_controllers(G, 3, min_share=0.2).set_index("holder_key")
    assert out.loc["p:ID-P", "cumulative_share"] == pytest.approx(0.23)
    assert len(out.loc["p:ID-P", "paths"]) == 2
    assert "p:X|1" not in out.index  # 0.5 × 0.3 = 0.15 < 0.2


def test_a_cycle_is_summed_as_a_geometric_series_without_looping():
    # P holds 90 % of A; A holds 60 % of B; B holds 10 % of A. Walks P→A(→B→A)^k→B:
    # 0.9·0.6·Σ(0.06)^k = 0.54 / 0.94.
    G = _graph(holding(1, 90, name="P"), holding(2, 60, holder_enterprise=1), holding(1, 10, holder_enterprise=2),
               holding(2, 40, name="Q"))
    out = ultimate_controllers(G, 2, min_share=0.0).set_index("holder_name")
    assert out.loc["P", "cumulative_share"] == pytest.approx(0.54 / 0.94)
    assert out.loc["Q", "cumulative_share"] == pytest.approx(0.40 / 0.94)
    # Every share ends with an ultimate holder: the integrated shares add up to 100 %.
    assert out["cumulative_share"].sum() == pytest.approx(1.0)
    assert circular_holdings(G) == [[1, 2]]


def test_a_closed_cycle_with_no_outside_holder_falls_back_to_the_truncated_series():
    G = _graph(holding(1, 100, holder_enterprise=2), holding(2, 100, holder_enterprise=1))
    shares = cumulative_shares(G, 1)
    assert shares.notna().all() and (shares > 0).all()
    assert ultimate_controllers(G, 1).empty  # nobody outside the cycle controls it


def test_min_share_filters_controllers():
    G = _graph(holding(1, 20, name="Small"), holding(1, 80, name="Big"))
    assert ultimate_controllers(G, 1, min_share=0.25)["holder_name"].tolist() == ["Big"]


def test_groups_and_related_parties_follow_ownership_links_in_both_directions():
    G = _graph(holding(2, 60, holder_enterprise=1), holding(3, 55, holder_enterprise=2),
               holding(4, 5, holder_enterprise=3), holding(6, 70, holder_enterprise=5), holding(7, 100, name="Solo"))
    groups = related_groups(G)
    assert groups == {1: 1, 2: 1, 3: 1, 4: 1, 5: 5, 6: 5}
    assert related_parties(G, 3, 0.0) == {1, 2, 4}
    assert related_parties(G, 3, 0.1) == {1, 2}  # the 5 % holding does not link
    assert related_parties(G, 7, 0.0) == set()
    assert related_groups(G, 0.1) == {1: 1, 2: 1, 3: 1, 5: 5, 6: 5}


def test_ended_and_future_holdings_are_not_in_the_graph():
    G = _graph(holding(2, 60, holder_enterprise=1, until_days_ago=10), holding(3, 60, holder_enterprise=1,
                                                                               since_days_ago=-10))
    assert not G.has_edge(1, 2) and not G.has_edge(1, 3)


def test_the_ownership_figure_draws_the_neighbourhood():
    G = _graph(holding(2, 60, holder_enterprise=1), holding(2, 40, name="P"), holding(3, 55, holder_enterprise=2))
    fig = ownership_figure(G, 2, {1: "甲公司", 2: "乙公司"}, locale="en", levels={1: 7})
    nodes = fig.data[-1]
    assert set(nodes.text) >= {"甲公司", "乙公司", "P"}
    assert "red" in list(nodes.marker.color)
    assert fig.layout.title.text == "Ownership graph"
    assert len(ownership_figure(G, 99, {}).data) == 0
