"""Equity penetration on the ownership graph (networkx): controllers, circular holdings, related parties.

Nodes are enterprises (keyed by their integer id) and natural persons (keyed ``"p:<id number>"`` when
the frame carries ``holder_id_number``, else ``"p:<name>|<held enterprise>"`` so two different people
who share a common name are never merged). An edge ``holder → held`` carries ``share``, the fraction
held (0–1; several rows for the same pair are summed).

Cumulative shares — the method. Let ``S`` be the share matrix (``S[h, j]`` = fraction of ``j`` held
directly by ``h``). The share of ``h`` in ``t`` through every path is the sum over all paths of the
product of shares along the path, i.e. ``(S + S² + S³ + …)[h, t] = ((I − S)⁻¹ − I)[h, t]``. Each
column of ``S`` sums to at most 1 (nobody holds more than 100 % of a company), and every circular
holding leaks to an outside holder, so the series converges and the closed form is exact — cycles are
summed as a geometric series instead of being walked, so there is no infinite loop and no path
explosion (this is the "integrated ownership" measure used by statistical offices for group
structures). Only the ancestors of ``t`` enter the linear system, so its size is that of one group.
In the pathological case of a cycle with no outside holder the system is singular; we then fall back
to the truncated series (``MAX_DEPTH`` terms). ``paths`` lists the simple paths (no repeated node).
"""

from __future__ import annotations

from datetime import date

import networkx as nx
import numpy as np
import pandas as pd
import plotly.graph_objects as go

from core.enums import SIGNAL_COLOURS

MAX_DEPTH = 60  # terms of the truncated series when (I − S) is singular
MAX_PATH_LEN = 8  # simple paths listed per controller are at most this long


def _person_key(row_name: str, id_number, held) -> str:
    if isinstance(id_number, str) and id_number:
        return f"p:{id_number}"
    return f"p:{row_name}|{held}"


def ownership_graph(shareholdings: pd.DataFrame, as_of: date | None = None) -> nx.DiGraph:
    """The ownership graph of the holdings in force at ``as_of``.

    Args:
        shareholdings: rows ``enterprise_id, holder_type, holder_enterprise_id, holder_name, share_pct,
            since, until`` (``holder_id_number`` optional); ``share_pct`` is 0–100.
        as_of: keep holdings with ``since <= as_of`` and ``until`` empty or after it; None keeps all.
    """
    sh = shareholdings
    if as_of is not None and len(sh):
        end = pd.Timestamp(as_of) + pd.Timedelta(days=1)
        since = pd.to_datetime(sh["since"], errors="coerce", utc=True).dt.tz_localize(None)
        until = pd.to_datetime(sh["until"], errors="coerce", utc=True).dt.tz_localize(None)
        sh = sh[(since.isna() | (since < end)) & (until.isna() | (until >= end))]
    G = nx.DiGraph()
    if sh.empty:
        return G
    is_ent = sh["holder_type"].astype(str).eq("enterprise") & sh["holder_enterprise_id"].notna()
    ids = sh["holder_id_number"] if "holder_id_number" in sh else pd.Series(None, index=sh.index, dtype=object)
    held = sh["enterprise_id"].astype("int64")
    holder = np.where(
        is_ent,
        sh["holder_enterprise_id"].astype("Int64").astype(object),
        [_person_key(n, i, h) for n, i, h in zip(sh["holder_name"], ids, held, strict=True)],
    )
    edges = pd.DataFrame({"holder": holder, "held": held, "share": sh["share_pct"].astype(float) / 100.0,
                          "name": sh["holder_name"].astype(str), "ent": is_ent})
    edges["holder"] = [int(h) if e else h for h, e in zip(edges["holder"], edges["ent"], strict=True)]
    for node, name, ent in edges.drop_duplicates("holder")[["holder", "name", "ent"]].itertuples(index=False):
        G.add_node(node, name=name, holder_type="enterprise" if ent else "person")
    for node in held.unique():
        if node not in G:
            G.add_node(int(node), holder_type="enterprise")
        G.nodes[int(node)].setdefault("name", str(node))
        G.nodes[int(node)]["holder_type"] = "enterprise"
    summed = edges.groupby(["holder", "held"], sort=False)["share"].sum()
    G.add_weighted_edges_from(((h, int(t), float(s)) for (h, t), s in summed.items()), weight="share")
    return G


def cumulative_shares(G: nx.DiGraph, enterprise_id: int) -> pd.Series:
    """Every holder's cumulative (integrated) share in ``enterprise_id``, over all paths (see module doc).

    Args:
        G: an ownership graph.
        enterprise_id: the held enterprise.
    """
    if enterprise_id not in G:
        return pd.Series(dtype=float)
    nodes = [enterprise_id, *sorted(nx.ancestors(G, enterprise_id), key=str)]
    if len(nodes) == 1:
        return pd.Series(dtype=float)
    index = {n: i for i, n in enumerate(nodes)}
    S = np.zeros((len(nodes), len(nodes)))
    for h, t, s in G.subgraph(nodes).edges(data="share"):
        S[index[h], index[t]] = s
    e_t = np.zeros(len(nodes))
    e_t[0] = 1.0
    try:
        A = np.eye(len(nodes)) - S
        if np.linalg.cond(A) > 1e12:
            raise np.linalg.LinAlgError("singular")
        y = np.linalg.solve(A, e_t)
    except np.linalg.LinAlgError:
        y, term = e_t.copy(), e_t.copy()
        for _ in range(MAX_DEPTH):
            term = S @ term
            y += term
    y[0] -= 1.0  # drop the empty path from t to itself
    return pd.Series(y[1:], index=nodes[1:])


def ultimate_controllers(G: nx.DiGraph, enterprise_id: int, min_share: float = 0.25) -> pd.DataFrame:
    """The ultimate holders (nobody holds them) whose cumulative share in the enterprise is ≥ ``min_share``.

    Args:
        G: an ownership graph.
        enterprise_id: the enterprise being penetrated.
        min_share: the smallest cumulative share (0–1) to report.

    Returns:
        Columns ``holder_key, holder_name, holder_type, cumulative_share, paths`` (largest share first);
        ``paths`` is the list of simple paths from the holder to the enterprise.
    """
    cols = ["holder_key", "holder_name", "holder_type", "cumulative_share", "paths"]
    shares = cumulative_shares(G, enterprise_id)
    rows = []
    for node, share in shares.items():
        if G.in_degree(node) != 0 or share < min_share - 1e-12:
            continue
        paths = list(nx.all_simple_paths(G, node, enterprise_id, cutoff=MAX_PATH_LEN))
        rows.append({"holder_key": str(node), "holder_name": G.nodes[node].get("name", str(node)),
                     "holder_type": G.nodes[node].get("holder_type", "person"),
                     "cumulative_share": float(share), "paths": paths})
    out = pd.DataFrame(rows, columns=cols)
    return out.sort_values(["cumulative_share", "holder_key"], ascending=[False, True], ignore_index=True)


def _enterprise_subgraph(G: nx.DiGraph, min_share: float = 0.0) -> nx.DiGraph:
    ents = [n for n, d in G.nodes(data=True) if d.get("holder_type") == "enterprise"]
    H = nx.DiGraph()
    H.add_nodes_from(ents)
    H.add_edges_from((h, t) for h, t, s in G.subgraph(ents).edges(data="share") if s >= min_share)
    return H


def circular_holdings(G: nx.DiGraph) -> list[list]:
    """Every circular holding among enterprises (A holds B … holds A), each cycle once.

    Args:
        G: an ownership graph.

    Returns:
        Cycles as node lists starting at their smallest id, sorted.
    """
    H = _enterprise_subgraph(G)
    cycles = []
    for comp in nx.strongly_connected_components(H):
        if len(comp) < 2:
            continue
        for cyc in nx.simple_cycles(H.subgraph(comp), length_bound=MAX_PATH_LEN):
            k = cyc.index(min(cyc))
            cycles.append(cyc[k:] + cyc[:k])
    return sorted(cycles, key=lambda c: (len(c), c))


def related_groups(G: nx.DiGraph, min_share: float = 0.0) -> dict[int, int]:
    """Enterprise → group id (the group's smallest enterprise id), for groups linked by ownership.

    Two enterprises are related when a chain of holdings of at least ``min_share`` each links them in
    either direction (parent, subsidiary, sister through a common parent, members of a cycle).
    Enterprises linked to nobody are left out.

    Args:
        G: an ownership graph.
        min_share: holdings below this fraction (0–1) do not link.
    """
    H = _enterprise_subgraph(G, min_share)
    out: dict[int, int] = {}
    for comp in nx.weakly_connected_components(H):
        if len(comp) > 1:
            gid = min(comp)
            out.update(dict.fromkeys(comp, gid))
    return out


def related_parties(G: nx.DiGraph, enterprise_id: int, min_share: float = 0.0) -> set:
    """The enterprises related to ``enterprise_id`` (its group, without itself); see :func:`related_groups`.

    Args:
        G: an ownership graph.
        enterprise_id: the enterprise.
        min_share: holdings below this fraction (0–1) do not link.
    """
    H = _enterprise_subgraph(G, min_share)
    if enterprise_id not in H:
        return set()
    return set(nx.node_connected_component(H.to_undirected(as_view=True), enterprise_id)) - {enterprise_id}


_LABELS = {
    "zh_CN": {"title": "股权穿透图", "person": "自然人", "enterprise": "企业", "share": "持股"},
    "en": {"title": "Ownership graph", "person": "Person", "enterprise": "Enterprise", "share": "holds"},
}


def ownership_figure(
    G: nx.DiGraph, enterprise_id: int, names: dict, *, locale: str = "zh_CN", levels: dict | None = None,
    depth: int = 3,
) -> go.Figure:
    """The enterprise's ownership neighbourhood as a Plotly network figure (pure).

    Args:
        G: an ownership graph.
        enterprise_id: the centre.
        names: node → display name (falls back to the node's ``name`` attribute).
        locale: ``zh_CN`` or ``en`` for the legend and hover labels.
        levels: optional enterprise → highest signal level, colours those nodes by signal colour.
        depth: how many ownership steps up and down to draw.
    """
    lab = _LABELS.get(locale, _LABELS["zh_CN"])
    fig = go.Figure()
    fig.update_layout(title=lab["title"], showlegend=False, margin={"l": 10, "r": 10, "t": 40, "b": 10},
                      xaxis={"visible": False}, yaxis={"visible": False}, height=420)
    if enterprise_id not in G:
        return fig
    U = G.to_undirected(as_view=True)
    near = nx.single_source_shortest_path_length(U, enterprise_id, cutoff=depth)
    sub = G.subgraph(near)
    pos = nx.spring_layout(sub, seed=7) if len(sub) > 1 else {enterprise_id: np.array([0.0, 0.0])}
    ex, ey, mx, my, mt = [], [], [], [], []
    for h, t, s in sub.edges(data="share"):
        (x0, y0), (x1, y1) = pos[h], pos[t]
        ex += [x0, x1, None]
        ey += [y0, y1, None]
        mx.append(x0 * 0.4 + x1 * 0.6)
        my.append(y0 * 0.4 + y1 * 0.6)
        mt.append(f"{s * 100:.1f}%")
    fig.add_trace(go.Scatter(x=ex, y=ey, mode="lines", line={"width": 1, "color": "#999"}, hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=mx, y=my, mode="text", text=mt, textfont={"size": 10}, hoverinfo="skip"))
    levels = levels or {}
    xs, ys, text, colour, size, hover = [], [], [], [], [], []
    for node in sub.nodes:
        data = sub.nodes[node]
        kind = data.get("holder_type", "person")
        name = names.get(node, data.get("name", str(node)))
        xs.append(pos[node][0])
        ys.append(pos[node][1])
        text.append(name)
        lvl = levels.get(node)
        colour.append(SIGNAL_COLOURS.get(lvl, "#2b6cb0" if kind == "enterprise" else "#718096"))
        size.append(26 if node == enterprise_id else 16)
        hover.append(f"{name} ({lab[kind]})")
    fig.add_trace(go.Scatter(x=xs, y=ys, mode="markers+text", text=text, textposition="top center",
                             hovertext=hover, hoverinfo="text",
                             marker={"size": size, "color": colour, "line": {"width": 1, "color": "#fff"}}))
    return fig
