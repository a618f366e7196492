"""Where a point is: the grid polygon containing it, and how far it lies outside the street's area."""

from __future__ import annotations

import math

import numpy as np
import shapely

KM_PER_DEG_LAT = 110.574


class Area:
    """The grids of the registry as polygons (or, without polygons, their centres), in a local km plane."""

    def __init__(self, codes: list[str], boundaries: list[str | None], lons: list, lats: list):
        self.codes = np.array(codes, dtype=object)
        geoms = [shapely.from_wkt(b, on_invalid="ignore") if b else None for b in boundaries]
        self.has_polygons = any(g is not None and not g.is_empty for g in geoms)
        pts = [
            (x, y)
            for x, y in zip(lons, lats, strict=True)
            if x is not None and y is not None and not np.isnan(x)
        ]
        if self.has_polygons:
            polys = [g for g in geoms if g is not None and not g.is_empty]
            c = shapely.union_all(polys).centroid
            self.lon0, self.lat0 = c.x, c.y
        elif pts:
            self.lon0, self.lat0 = float(np.mean([p[0] for p in pts])), float(np.mean([p[1] for p in pts]))
        else:
            self.lon0 = self.lat0 = None
        self.kx = KM_PER_DEG_LAT * math.cos(math.radians(self.lat0)) if self.lat0 is not None else None
        self.poly_idx = np.array(
            [i for i, g in enumerate(geoms) if g is not None and not g.is_empty], dtype=int
        )
        self.polys = np.array([geoms[i] for i in self.poly_idx], dtype=object)
        self.tree = shapely.STRtree(self.polys) if self.has_polygons else None
        if self.has_polygons:
            self.area_km = self._to_km(shapely.union_all(self.polys))
        elif pts:
            self.area_km = self._to_km(shapely.MultiPoint(pts).convex_hull)
        else:
            self.area_km = None
        if self.area_km is not None:
            shapely.prepare(self.area_km)  # most points lie inside: a prepared containment test settles them

    @property
    def empty(self) -> bool:
        return self.area_km is None

    def _to_km(self, geom):
        return shapely.transform(
            geom,
            lambda xy: np.column_stack(
                ((xy[:, 0] - self.lon0) * self.kx, (xy[:, 1] - self.lat0) * KM_PER_DEG_LAT)
            ),
        )

    def km_outside(self, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        """Distance in km from each point to the area (0 inside); NaN where a coordinate is missing."""
        out = np.full(len(lon), np.nan)
        ok = ~(np.isnan(lon) | np.isnan(lat))
        if self.area_km is None or not ok.any():
            return out
        x = (lon[ok] - self.lon0) * self.kx
        y = (lat[ok] - self.lat0) * KM_PER_DEG_LAT
        km = np.zeros(len(x))
        outside = ~shapely.contains_xy(self.area_km, x, y)
        km[outside] = shapely.distance(self.area_km, shapely.points(x[outside], y[outside]))
        out[ok] = km
        return out

    def grid_of(self, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        """The code of the grid polygon containing each point (first by registry order), else None."""
        out = np.full(len(lon), None, dtype=object)
        ok = ~(np.isnan(lon) | np.isnan(lat))
        if self.tree is None or not ok.any():
            return out
        idx = np.flatnonzero(ok)
        pts = shapely.points(lon[ok], lat[ok])
        pt_i, poly_i = self.tree.query(pts, predicate="intersects")
        order = np.lexsort((poly_i, pt_i))
        pt_i, poly_i = pt_i[order], poly_i[order]
        first = np.unique(pt_i, return_index=True)[1]
        out[idx[pt_i[first]]] = self.codes[self.poly_idx[poly_i[first]]]
        return out


def gcj02_to_wgs84(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """GCJ-02 (Chinese map services) → WGS-84 by fixed-point iteration of the public forward formula (< 1 m)."""
    wlon, wlat = lon.copy(), lat.copy()
    for _ in range(8):
        glon, glat = _wgs84_to_gcj02(wlon, wlat)
        wlon = wlon - (glon - lon)
        wlat = wlat - (glat - lat)
    return wlon, wlat


def _wgs84_to_gcj02(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a, ee = 6378245.0, 0.00669342162296594323
    x, y = lon - 105.0, lat - 35.0
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    dlat += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    dlat += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    dlat += (160.0 * np.sin(y / 12.0 * np.pi) + 320 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    dlon += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    dlon += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    dlon += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    radlat = lat / 180.0 * np.pi
    magic = 1 - ee * np.sin(radlat) ** 2
    sqrtmagic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((a * (1 - ee)) / (magic * sqrtmagic) * np.pi)
    dlon = (dlon * 180.0) / (a / sqrtmagic * np.cos(radlat) * np.pi)
    return lon + dlon, lat + dlat
