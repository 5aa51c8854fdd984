"""Country boundaries for the book's maps, shipped with the package (never fetched).

The boundaries are Natural Earth's 1:110m Admin 0 countries as TopoJSON, from
npm's ``world-atlas`` 2.0.2 (``defection/geo/countries-110m.json``; licence and
source in ``defection/geo/README.txt``). Natural Earth draws today's de facto
boundaries, not those at the time of a case. Features are keyed by ISO 3166-1
numeric code; ``data/country_areas.csv`` says which of today's countries each
code in the dataset covers (the Soviet Union: its 15 successor states).

Typical use (inside ``defection.charts``)::

    topo = maps.atlas()                      # the TopoJSON topology, a dict
    maps.ids_for(["SUN", "USA"])             # {'SUN': ['051', ...], 'USA': ['840']}
    maps.centroid(["643"])                   # (lon, lat) of Russia's largest part
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

__all__ = ["ATLAS", "atlas", "feature_ids", "ids_for", "centroid"]

#: The vendored TopoJSON file.
ATLAS = Path(__file__).resolve().parent / "geo" / "countries-110m.json"
#: Antarctica, left off the maps (no case happened there; it takes a third of the height).
ANTARCTICA = "010"


@lru_cache(maxsize=1)
def _atlas_text() -> str:
    if not ATLAS.is_file():
        raise FileNotFoundError(f"the map boundaries are missing: {ATLAS} (see defection/geo/README.txt)")
    return ATLAS.read_text(encoding="utf-8")


def atlas() -> dict:
    """The topology (a fresh dict each call, so a chart may change it)."""
    return json.loads(_atlas_text())


def feature_ids() -> set[str]:
    """The ISO 3166-1 numeric ids the atlas has a country for."""
    return {g["id"] for g in atlas()["objects"]["countries"]["geometries"] if g.get("id")}


def ids_for(codes) -> dict[str, list[str]]:
    """For each dataset country code, the atlas ids of today's countries it covers (data/country_areas.csv)."""
    from . import data

    areas = data.country_areas()
    out: dict[str, list[str]] = {}
    wanted = set(codes)
    for code, number in zip(areas["code"].astype(str), areas["iso_numeric"].astype(str)):
        if code in wanted:
            out.setdefault(code, []).append(number)
    return out


@lru_cache(maxsize=1)
def _rings() -> dict[str, list[list[tuple[float, float]]]]:
    """Every feature's outer rings in longitude/latitude, decoded from the topology's arcs."""
    topo = json.loads(_atlas_text())
    (sx, sy), (tx, ty) = topo["transform"]["scale"], topo["transform"]["translate"]
    arcs = []
    for arc in topo["arcs"]:
        x = y = 0
        points = []
        for dx, dy in arc:
            x, y = x + dx, y + dy
            points.append((x * sx + tx, y * sy + ty))
        arcs.append(points)

    def ring(indexes):
        out = []
        for i in indexes:
            points = arcs[i] if i >= 0 else arcs[~i][::-1]
            out.extend(points if not out else points[1:])
        return out

    rings: dict[str, list] = {}
    for geometry in topo["objects"]["countries"]["geometries"]:
        if not geometry.get("id"):
            continue
        polygons = geometry["arcs"] if geometry["type"] == "MultiPolygon" else [geometry["arcs"]]
        rings[geometry["id"]] = [ring(polygon[0]) for polygon in polygons]
    return rings


def _unwrapped(points):
    """The ring with no jump of more than 180 degrees of longitude between neighbours (Russia, Fiji)."""
    out, shift = [], 0.0
    for i, (x, y) in enumerate(points):
        if i and x + shift - out[-1][0] > 180:
            shift -= 360
        elif i and x + shift - out[-1][0] < -180:
            shift += 360
        out.append((x + shift, y))
    return out


def _area_centroid(points):
    points = _unwrapped(points)
    area = cx = cy = 0.0
    for (x0, y0), (x1, y1) in zip(points, points[1:] + points[:1]):
        cross = x0 * y1 - x1 * y0
        area += cross
        cx += (x0 + x1) * cross
        cy += (y0 + y1) * cross
    if not area:
        return 0.0, (points[0] if points else (0.0, 0.0))
    return abs(area) / 2, (cx / (3 * area), cy / (3 * area))


def centroid(ids) -> tuple[float, float]:
    """(longitude, latitude) of the centre of the largest single landmass among the countries ``ids``.

    The largest part, not the whole: France's centre stays in Europe (not pulled
    towards French Guiana), the Soviet Union's in Siberia. Computed in plain
    longitude/latitude, which is close enough to place a marker inside the country.
    """
    rings = _rings()
    best = None
    for number in ids:
        for points in rings.get(str(number), []):
            area, centre = _area_centroid(points)
            if best is None or area > best[0]:
                best = (area, centre)
    if best is None:
        raise KeyError(f"no country in the atlas for ids {list(ids)}")
    lon, lat = best[1]
    lon = (lon + 180) % 360 - 180
    return round(lon, 2), round(lat, 2)
