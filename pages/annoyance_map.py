"""烦恼指数图: grid polygons coloured by the 烦恼指数 (no internet needed), tooltips with the grid's 网格长.
The page opens on a flat map (SVG, drawn at once); the 3D map — building or grid columns by ticket count,
a ticket heat layer, an optional tile server — is WebGL, which took 3–4 s to start in a browser without a GPU
and so is drawn only on request."""

import math

import plotly.graph_objects as go
import polars as pl
import pydeck as pdk
import streamlit as st
import streamlit.components.v1 as components
from shapely import wkt

from cockpit import queries as q
from cockpit import ui

user = ui.require("map")
w, s = ui.wh(), ui.scope()
st.title("烦恼指数图")
window = w.scalar("select annoyance_window_days from meta.params")
st.markdown(
    f"<div class='cockpit-banner'>烦恼指数 = 1000 × Σ(类别权重 × 诉求量) / 实有人口，窗口：截至数据截止日的 {window} 天</div>",
    unsafe_allow_html=True,
)

grids = q.grid_map(w, s)
# buildings only where they can be told apart: a grid, a community, or a street of a few dozen grids;
# a district scope draws one column per grid (15,000 building columns would bury the map and cost seconds)
DETAIL_GRIDS = 60
detail = bool(s.pinned_grid or s.grids or s.communities) or grids.height <= DETAIL_GRIDS
buildings = q.building_map(w, s) if detail else None
ranked_values = sorted(x for x in grids["index"].to_list() if x is not None)
rank_of = {}
for i, v in enumerate(ranked_values):
    rank_of.setdefault(v, i / max(len(ranked_values) - 1, 1))  # tied values share the first rank


def shade(t: float) -> list[int]:
    """Yellow (0) → red (1)."""
    return [int(250 - 20 * t), int(220 - 190 * t), int(90 - 60 * t), 170]


def colour(v):
    """By rank within the shown grids, so one outlier does not wash out the rest; grey without an index."""
    return [90, 100, 120, 90] if v is None else shade(rank_of[v])


BUCKETS = 10  # rank deciles: one filled SVG trace each (a trace per grid would be 600 at district scale)


def flat_map() -> None:
    """Grids coloured by rank, with each grid's card on hover; where buildings are shown, a circle per building
    sized by its tickets. Plain SVG on lon/lat axes: no WebGL, and no base map (plotly's geo maps fetch
    their outlines from the internet)."""
    fills: dict[int | None, tuple[list, list]] = {}
    centres = {"lon": [], "lat": [], "text": []}
    for r in grids.iter_rows(named=True):
        if not r["boundary"]:
            continue
        shape = wkt.loads(r["boundary"])
        t = None if r["index"] is None else rank_of[r["index"]]
        xs, ys = fills.setdefault(None if t is None else min(int(t * BUCKETS), BUCKETS - 1), ([], []))
        for g in getattr(shape, "geoms", [shape]):
            cx, cy = g.exterior.coords.xy
            xs += [*cx, None]
            ys += [*cy, None]
        c = shape.representative_point()
        centres["lon"].append(c.x)
        centres["lat"].append(c.y)
        centres["text"].append(
            f"<b>{r['grid_code']} {r['grid_name']}</b><br>烦恼指数 {'—' if r['index'] is None else format(r['index'], '.1f')}"
            f"<br>诉求 {r['tickets'] or 0} · 人口 {r['residents']}<br>网格长 {r['grid_leader_name'] or '—'}"
        )
    fig = go.Figure()
    for bucket, (xs, ys) in sorted(fills.items(), key=lambda kv: -1 if kv[0] is None else kv[0]):
        rgb = (90, 100, 120) if bucket is None else shade((bucket + 0.5) / BUCKETS)[:3]
        fig.add_trace(go.Scatter(
            x=xs, y=ys, mode="lines", fill="toself", fillcolor=f"rgba({rgb[0]},{rgb[1]},{rgb[2]},0.75)",
            line={"color": "rgb(200,220,255)", "width": 0.6}, hoverinfo="skip",
        ))
    fig.add_trace(go.Scatter(  # one hover point per grid: the grid's card
        x=centres["lon"], y=centres["lat"], mode="markers", marker={"size": 6, "color": "rgba(255,255,255,0.35)"},
        text=centres["text"], hovertemplate="%{text}<extra></extra>",
    ))
    if detail:  # building circles; over a whole district one circle per grid only hid the colours
        points = buildings.filter(pl.col("tickets") > 0).drop_nulls("lon")
        top = points["tickets"].max() if points.height else 1
        fig.add_trace(go.Scatter(
            x=points["lon"].to_list(), y=points["lat"].to_list(), mode="markers",
            marker={"size": ((points["tickets"] / top).sqrt() * 16).clip(3, None).to_list(),
                    "color": "rgba(34,211,238,0.7)", "line": {"width": 0.5, "color": "#0b1220"}},
            text=(points["building_code"] + " " + points["address"].fill_null("") + "<br>诉求 " + points["tickets"].cast(pl.String)).to_list(),
            hovertemplate="%{text}<extra></extra>",
        ))
    lat0 = sum(centres["lat"]) / len(centres["lat"]) if centres["lat"] else 31.2
    hidden = {"visible": False, "showgrid": False, "zeroline": False}
    fig.update_xaxes(**hidden)
    fig.update_yaxes(**hidden, scaleanchor="x", scaleratio=1 / math.cos(math.radians(lat0)))  # a km is a km both ways
    fig.update_layout(height=620, margin={"l": 0, "r": 0, "t": 0, "b": 0}, showlegend=False, hovermode="closest",
                      paper_bgcolor="rgba(0,0,0,0)", plot_bgcolor="rgba(0,0,0,0)")
    st.plotly_chart(fig, width="stretch", config={"displaylogo": False})


def deck_map(show: list[str]) -> None:
    """The 3D map: grid polygons, building (or grid) columns, ticket heat — deck.gl, on request."""
    polys = []
    for r in grids.iter_rows(named=True):
        if not r["boundary"]:
            continue
        shape = wkt.loads(r["boundary"])
        for g in getattr(shape, "geoms", [shape]):
            polys.append({
                "polygon": [list(c) for c in g.exterior.coords],
                "name": f"{r['grid_code']} {r['grid_name']}",
                "index": "—" if r["index"] is None else f"{r['index']:.1f}",
                "tickets": r["tickets"] or 0,
                "residents": r["residents"],
                "leader": r["grid_leader_name"] or "—",
                "fill": colour(r["index"]),
            })

    # many grids: the coloured polygons alone by default (columns over 600 grids hide the colours); add layers at will
    layers = []
    if "网格烦恼指数" in show:
        layers.append(pdk.Layer("PolygonLayer", polys, get_polygon="polygon", get_fill_color="fill", get_line_color=[200, 220, 255],
                                line_width_min_pixels=1, pickable=True, auto_highlight=True))
    centre = grids.drop_nulls("lon")
    if detail:
        bdata = buildings.filter(buildings["tickets"] > 0).to_dicts()
        for b in bdata:
            b["name"], b["leader"] = f"{b['building_code']} {b['address']}", ""
            b["index"] = "—" if b["index"] is None else f"{b['index']:.1f}"
        radius = 18
    else:
        bdata = [
            {"lon": r["lon"], "lat": r["lat"], "tickets": r["tickets"], "name": f"{r['grid_code']} {r['grid_name']}",
             "index": "—" if r["index"] is None else f"{r['index']:.1f}", "residents": r["residents"], "leader": r["grid_leader_name"] or "—"}
            for r in centre.filter(centre["tickets"] > 0).iter_rows(named=True)
        ]
        radius = 60
    # column heights relative to the tallest, up to a quarter of the shown area's width, so a street and
    # a district read alike (absolute counts would make a district's columns kilometres high)
    span_m = 111_000 * max(float(centre["lon"].max() - centre["lon"].min()) * 0.85, float(centre["lat"].max() - centre["lat"].min())) if centre.height > 1 else 400
    top = max((b["tickets"] for b in bdata), default=0) or 1
    for b in bdata:
        b["height"] = b["tickets"] / top * max(span_m, 400) / 4
    if "诉求热力" in show:
        layers.append(pdk.Layer("HeatmapLayer", bdata, get_position=["lon", "lat"], get_weight="tickets", radius_pixels=40))
    if "诉求柱状" in show:
        layers.append(pdk.Layer("ColumnLayer", bdata, get_position=["lon", "lat"], get_elevation="height",
                                radius=radius, get_fill_color=[34, 211, 238, 200], pickable=True))
    if centre.height > 1:  # fit the shown grids, whether one grid, a street or a district
        view = pdk.data_utils.compute_view(centre.select("lon", "lat").rows(), view_proportion=0.95)
        view.zoom = min(max(view.zoom + 0.6, 10), 16)
    else:
        lon, lat = (float(centre["lon"][0]), float(centre["lat"][0])) if centre.height else (121.46, 31.21)
        view = pdk.ViewState(longitude=lon, latitude=lat, zoom=16)
    view.pitch = 40 if "诉求柱状" in show else 0
    tooltip = {"html": "<b>{name}</b><br/>烦恼指数 {index}<br/>诉求 {tickets} · 人口 {residents}<br/>网格长 {leader}"}
    tile_url = ui.settings().map_tile_url
    if tile_url:  # custom tile layers do not render in st.pydeck_chart (streamlit#5127): standalone deck.gl HTML
        layers.insert(0, pdk.Layer("TileLayer", data=tile_url, min_zoom=0, max_zoom=19, tile_size=256))
        components.html(pdk.Deck(layers=layers, initial_view_state=view, map_style=None, tooltip=tooltip).to_html(as_string=True), height=620)
    else:
        st.pydeck_chart(pdk.Deck(layers=layers, initial_view_state=view, map_style=None, tooltip=tooltip), height=620)


mode = st.radio("视图", ["平面图", "三维图（柱状 / 热力）"], horizontal=True, key="map_mode",
                help="平面图即时显示；三维图用 WebGL 绘制，在没有显卡的电脑上要几秒。")
if mode == "平面图":
    flat_map()
    marks = "圆点" if detail else ""
else:
    layers_shown = st.multiselect(
        "图层", ["网格烦恼指数", "诉求柱状", "诉求热力"], default=["网格烦恼指数", "诉求柱状"] if detail else ["网格烦恼指数"],
        key="map_layers",
    )
    deck_map(layers_shown)
    marks = "柱高"
st.caption(
    "网格颜色：按所显示网格的烦恼指数排名，由黄（低）到红（高）；灰色为无人口数据。"
    + (f"{marks}：楼栋窗口内诉求量。" if detail else (f"{marks}：网格窗口内诉求量" if marks else "")
       + f"（共 {grids.height} 个网格；选择社区或网格后按楼栋显示诉求量）。")
)
st.subheader("网格烦恼指数排名")
ranked = grids.select("grid_code", "grid_name", "community", "residents", "tickets", "weighted_tickets", "index").sort(
    "index", descending=True, nulls_last=True
)
ui.table(ranked, "网格烦恼指数", "map", height=320)
