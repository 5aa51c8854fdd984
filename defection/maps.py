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

import pandas as pd

__all__ = ["ATLAS", "atlas", "feature_ids", "ids_for", "centroid", "area_names", "ch1_places", "ch3_places"]

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


# --- the places on the chapters' maps (defection.charts draws them) ------------------

#: Retaliation abroad that the chapter 3 map shows.
ABROAD = ("assassinated", "attempted_assassination", "kidnapped")


def ch1_places(cases: pd.DataFrame) -> pd.DataFrame:
    """One row per country code and side (Left from / Went to) with the number of cases and a marker position.

    Columns: ``code``, ``country``, ``side``, ``cases``, ``today`` (today's countries the code covers,
    from data/country_areas.csv), ``lon``, ``lat`` (centre of the largest landmass among them).
    """
    rows = []
    for side, column, names in (("Left from", "origin_country", "origin_name"),
                                ("Went to", "destination_country", "destination_name")):
        part = cases[cases[column].notna()]
        counts = part.groupby(part[column].astype(str)).size()
        name_of = dict(zip(part[column].astype(str), part[names].astype(str)))
        for code, n in counts.items():
            rows.append({"code": code, "country": name_of[code], "side": side, "cases": int(n)})
    frame = pd.DataFrame(rows)
    ids = ids_for(frame["code"].unique())
    missing = sorted(set(frame["code"]) - set(ids))
    if missing:
        raise ValueError(f"no rows in data/country_areas.csv for {', '.join(missing)}")
    areas = area_names()
    frame["today"] = frame["code"].map(lambda c: ", ".join(areas[c]))
    where = {c: centroid(i) for c, i in ids.items()}
    frame["lon"] = frame["code"].map(lambda c: where[c][0])
    frame["lat"] = frame["code"].map(lambda c: where[c][1])
    # Two codes at one place on one map (the Soviet Union and Russia, East and West Germany): move the
    # smaller marker 8 degrees south so both show.
    frame = frame.sort_values("cases", ascending=False)
    seen: set = set()
    for i, row in frame.iterrows():
        while (row["side"], frame.at[i, "lon"], frame.at[i, "lat"]) in seen:
            frame.at[i, "lat"] = frame.at[i, "lat"] - 8
        seen.add((row["side"], frame.at[i, "lon"], frame.at[i, "lat"]))
    total = frame.groupby("code")["cases"].sum()
    frame["rank"] = frame["code"].map(total)
    frame = frame.sort_values(["rank", "code", "side"], ascending=[False, True, True]).drop(columns="rank")
    return frame.reset_index(drop=True)


def area_names() -> dict[str, list[str]]:
    """Dataset code -> names of today's countries it covers (data/country_areas.csv, in file order)."""
    from . import data

    areas = data.country_areas()
    out: dict[str, list[str]] = {}
    for code, name in zip(areas["code"].astype(str), areas["area_name"].astype(str)):
        out.setdefault(code, []).append(name)
    return out


def ch3_places(cases: pd.DataFrame) -> pd.DataFrame:
    """Acts abroad (killings, attempts, kidnappings) with a known country, one row per country and status.

    ``status`` is Documented (the case's confidence is documented) or Reported or disputed. Columns:
    ``code``, ``country``, ``status``, ``acts``, ``names`` (name and year of the act), ``lon``, ``lat``.
    """
    acts = cases[cases["retaliation"].astype("object").isin(ABROAD) & cases["retaliation_country"].notna()]
    from . import data

    names = dict(zip(data.countries()["code"].astype(str), data.countries()["name"].astype(str)))
    rows = []
    for (code, status), group in acts.groupby([acts["retaliation_country"].astype(str),
                                                acts["confidence"].astype(str).map(
                                                    lambda c: "Documented" if c == "documented" else "Reported or disputed")]):
        group = group.sort_values("retaliation_year")
        who = "; ".join(f"{n} ({int(y)})" if pd.notna(y) else str(n)
                        for n, y in zip(group["name"].astype(str), group["retaliation_year"]))
        rows.append({"code": code, "country": names[code].split(" (")[0], "status": status,
                     "acts": len(group), "names": who})
    frame = pd.DataFrame(rows)
    ids = ids_for(frame["code"].unique())
    where = {c: centroid(i) for c, i in ids.items()}
    both = frame.groupby("code")["status"].nunique() > 1
    shift = {"Documented": -3.5, "Reported or disputed": 3.5}  # side by side where a country has both
    frame["lon"] = [where[c][0] + (shift[s] if both[c] else 0) for c, s in zip(frame["code"], frame["status"])]
    frame["lat"] = frame["code"].map(lambda c: where[c][1])
    total = frame.groupby("code")["acts"].sum()
    frame["rank"] = frame["code"].map(total)
    frame = frame.sort_values(["rank", "country", "status"], ascending=[False, True, True]).drop(columns="rank")
    return frame.reset_index(drop=True)
