"""烦恼指数图: grid polygons coloured by the 烦恼指数 (the base layer: no internet needed), building
columns by ticket count, a ticket heat layer, tooltips with the grid's 网格长. A tile server is optional."""

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


def colour(v):
    """By rank within the shown grids (yellow → red), so one outlier does not wash out the rest."""
    if v is None or not ranked_values:
        return [90, 100, 120, 90]
    t = ranked_values.index(v) / max(len(ranked_values) - 1, 1)
    return [int(250 - 20 * t), int(220 - 190 * t), int(90 - 60 * t), 170]


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
show = st.multiselect(
    "图层", ["网格烦恼指数", "诉求柱状", "诉求热力"], default=["网格烦恼指数", "诉求柱状"] if detail else ["网格烦恼指数"],
    key="map_layers",
)
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

st.caption(
    "网格颜色：按所显示网格的烦恼指数排名，由黄（低）到红（高）；灰色为无人口数据。"
    + ("柱高：楼栋窗口内诉求量。" if detail else f"柱高：网格窗口内诉求量（共 {grids.height} 个网格；选择社区或网格后按楼栋显示）。")
)
st.subheader("网格烦恼指数排名")
ranked = grids.select("grid_code", "grid_name", "community", "residents", "tickets", "weighted_tickets", "index").sort(
    "index", descending=True, nulls_last=True
)
ui.table(ranked, "网格烦恼指数", "map", height=320)
