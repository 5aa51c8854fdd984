"""The numbers each chapter quotes, computed once from ``data/``.

Each ``chapterN()`` returns ``{glue key: value}`` (ints, floats and short
texts). The chapter glues every entry into its prose; the question bank takes
its numeric answers from here; and the tests recompute them to check that the
built pages agree with the data. A number is computed here and nowhere else.

    from defection import facts
    facts.chapter1()["ch1_n_cases"]
"""
from __future__ import annotations

import pandas as pd

from . import data

__all__ = ["chapter1", "chapter2", "chapter3", "chapter4", "for_chapter", "quiz_facts",
           "peak", "per_decade", "retaliation_gaps", "violent_gaps", "VIOLENT"]

#: The kinds of retaliation chapter 3 calls violent acts.
VIOLENT = ("assassinated", "attempted_assassination", "kidnapped")


# --- shared measures: the chapters' facts and the charts' descriptions both use these ------


def peak(counts: pd.Series) -> tuple[list, int]:
    """The labels with the largest count (all of them, in label order, when tied) and that count."""
    counts = counts.sort_index()
    top = int(counts.max())
    return [label for label, value in counts.items() if int(value) == top], top


def per_decade(cases: pd.DataFrame) -> pd.Series:
    """Cases per decade of defection (1950, 1960, ...), in decade order."""
    return cases["decade"].astype("int64").value_counts().sort_index()


def retaliation_gaps(cases: pd.DataFrame) -> pd.DataFrame:
    """The cases with a dated act of retaliation, with ``kind`` (the retaliation code) and
    ``gap`` (years from leaving to the act)."""
    kind = cases["retaliation"]
    dated = cases[kind.notna() & (kind != "none_known") & cases["retaliation_year"].notna()].copy()
    dated["kind"] = dated["retaliation"].astype("object")
    dated["gap"] = (dated["retaliation_year"].astype("int64") - dated["year"].astype("int64")).astype("int64")
    return dated


def violent_gaps(cases: pd.DataFrame) -> pd.Series:
    """Years from leaving to a killing, attempt or kidnapping, for the dated ones."""
    dated = retaliation_gaps(cases)
    return dated.loc[dated["kind"].isin(VIOLENT), "gap"]


def chapter1(cases=None) -> dict:
    """The named numbers chapter 1 (How defection works) quotes, by glue key."""
    cases = data.cases() if cases is None else cases
    out: dict = {}
    put = out.__setitem__

    n = len(cases)
    put("ch1_n_cases", n)
    put("ch1_first_year", int(cases["year"].min()))
    put("ch1_last_year", int(cases["year"].max()))
    put("ch1_n_origins", int(cases["origin_country"].nunique()))
    put("ch1_n_destinations", int(cases["destination_country"].nunique()))

    communist = cases["origin_bloc"] == "communist"
    put("ch1_n_communist", int(communist.sum()))
    put("ch1_pct_communist", float(100 * communist.mean()))
    put("ch1_n_western_origin", int((cases["origin_bloc"] == "western").sum()))

    by_origin = cases["origin_name"].value_counts()
    put("ch1_top_origin", str(by_origin.index[0]))
    put("ch1_n_top_origin", int(by_origin.iloc[0]))
    by_dest = cases["destination_name"].value_counts()
    put("ch1_top_destination", str(by_dest.index[0]))
    put("ch1_n_top_destination", int(by_dest.iloc[0]))
    put("ch1_pct_top_destination", float(100 * by_dest.iloc[0] / n))

    peak_decades, peak_n = peak(per_decade(cases))
    put("ch1_peak_decade", f"{int(peak_decades[0])}s")
    put("ch1_n_peak_decade", peak_n)

    # Where the cases since 1990 came from: the commonest origins (at least four, more on a tie),
    # as prose, e.g. "North Korea (11), Russia (7), Cuba (6) and Iran (3)".
    recent = cases[cases["year"] >= 1990]
    put("ch1_n_since1990", int(len(recent)))
    put("ch1_n_sun_since1990", int((recent["origin_country"] == "SUN").sum()))
    counts = recent["origin_name"].astype(str).value_counts()
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    cutoff = ranked[min(3, len(ranked) - 1)][1] if ranked else 0
    top = [f"{name} ({n})" for name, n in ranked if n >= cutoff]
    put("ch1_top_origins_since1990",
        str(", ".join(top[:-1]) + " and " + top[-1] if len(top) > 1 else (top[0] if top else "none")))
    put("ch1_n_top_origins_since1990", int(sum(n for _, n in ranked if n >= cutoff)))

    roles = cases["role"]
    methods = cases["method"]
    put("ch1_n_roles", int(roles.nunique()))
    put("ch1_n_intel", int((roles == "intelligence_officer").sum()))
    put("ch1_pct_intel", float(100 * (roles == "intelligence_officer").mean()))
    put("ch1_n_civilian", int((roles == "civilian").sum()))
    put("ch1_n_civ_border", int(((roles == "civilian") & (methods == "crossed_land_border")).sum()))
    put("ch1_n_civ_aircraft", int(((roles == "civilian") & (methods == "landed_aircraft")).sum()))
    put("ch1_n_civ_embassy", int(((roles == "civilian") & (methods == "embassy_walk_in")).sum()))
    put("ch1_n_civ_other_routes",
         int(((roles == "civilian") & ~methods.isin(["crossed_land_border", "landed_aircraft"])).sum()))
    put("ch1_n_ship_returned", int(((methods == "jumped_ship") & (cases["outcome"] == "returned")).sum()))

    stage = roles.isin(["athlete", "performer"])
    put("ch1_n_stage", int(stage.sum()))
    put("ch1_n_stage_abroad", int((stage & methods.isin(["stayed_behind", "went_to_host_officials"])).sum()))
    pilots = roles == "military_pilot"
    put("ch1_n_pilots", int(pilots.sum()))
    put("ch1_n_pilots_flew", int((pilots & (methods == "landed_aircraft")).sum()))

    for method in ["embassy_walk_in", "stayed_behind", "went_to_host_officials", "landed_aircraft", "jumped_ship",
                   "crossed_land_border", "by_sea", "other"]:
        put(f"ch1_n_{method}", int((methods == method).sum()))
    put("ch1_n_other_intel", int(((methods == "other") & (roles == "intelligence_officer")).sum()))
    put("ch1_n_documented", int((cases["confidence"] == "documented").sum()))
    put("ch1_n_not_documented", int((cases["confidence"] != "documented").sum()))
    return out


def chapter2(cases=None, events=None) -> dict:
    """The named numbers chapter 2 (What completes a defection) quotes, by glue key."""
    cases = data.cases() if cases is None else cases
    events = data.events() if events is None else events
    out: dict = {}
    put = out.__setitem__

    outcome = cases["outcome"]
    kept = outcome == "asylum_granted"
    put("ch2_n_cases", len(cases))
    put("ch2_n_kept", int(kept.sum()))
    put("ch2_pct_kept", f"{kept.mean():.0%}")
    put("ch2_n_not_kept", int((~kept).sum()))
    for value in ["returned", "caught", "redefected", "killed"]:
        put(f"ch2_n_{value}", int((outcome == value).sum()))
    # "killed" covers deaths during the attempt and murders soon afterwards while in hiding
    # (data/README.md); a murder by the origin state's agents is recorded as retaliation "assassinated".
    killed = outcome == "killed"
    killed_later = killed & (cases["retaliation"] == "assassinated")
    put("ch2_n_killed_attempt", int((killed & ~killed_later).sum()))
    put("ch2_n_killed_later", int(killed_later.sum()))
    killed_later_names = cases.loc[killed_later, "name"].tolist()
    put("ch2_killed_later_names", " and ".join(killed_later_names) if killed_later_names else "none")
    not_kept_years = cases.loc[~kept, "year"].astype(int)
    put("ch2_first_not_kept", int(not_kept_years.min()))
    put("ch2_last_not_kept", int(not_kept_years.max()))

    method = cases["method"]
    walk = method == "embassy_walk_in"
    put("ch2_n_walkin", int(walk.sum()))
    put("ch2_n_walkin_kept", int((walk & kept).sum()))
    put("ch2_n_walkin_not_kept", int((walk & ~kept).sum()))
    ship = method == "jumped_ship"
    put("ch2_n_ship", int(ship.sum()))
    put("ch2_n_ship_kept", int((ship & kept).sum()))
    ship_failed = cases.loc[ship & ~kept, "name"].tolist()
    put("ch2_ship_failed_names", " and ".join(ship_failed) if ship_failed else "none")

    confidence = cases["confidence"]
    put("ch2_pct_disputed_kept", f"{(confidence[kept] == 'disputed').mean():.0%}")
    put("ch2_pct_disputed_not_kept", f"{(confidence[~kept] == 'disputed').mean():.0%}")
    put("ch2_n_disputed_not_kept", int((confidence[~kept] == "disputed").sum()))

    cuba = cases["origin_country"] == "CUB"
    put("ch2_n_cuba", int(cuba.sum()))
    put("ch2_n_cuba_usa", int((cuba & (cases["destination_country"] == "USA")).sum()))
    return out


def chapter3(cases=None) -> dict:
    """The named numbers chapter 3 (State retaliation) quotes, by glue key."""
    cases = data.cases() if cases is None else cases
    out: dict = {}
    put = out.__setitem__

    kind = cases["retaliation"]
    acted = cases[kind != "none_known"].copy()
    acted["kind"] = acted["retaliation"]
    violent_kinds = list(VIOLENT)
    violent = acted[acted["kind"].isin(violent_kinds)].copy()

    put("ch3_n_cases", len(cases))
    put("ch3_n_acted", len(acted))
    put("ch3_pct_acted", 100 * len(acted) / len(cases))
    for k in ["assassinated", "attempted_assassination", "kidnapped", "family_punished", "sentenced_in_absentia", "other"]:
        put(f"ch3_n_{k}", int((acted["kind"] == k).sum()))
    put("ch3_n_violent", len(violent))
    conf = violent["confidence"]
    put("ch3_n_violent_documented", int((conf == "documented").sum()))
    put("ch3_n_violent_doubtful", int((conf != "documented").sum()))
    put("ch3_n_killed_documented", int(((violent["kind"] == "assassinated") & (conf == "documented")).sum()))

    dated = retaliation_gaps(cases)
    put("ch3_n_dated", len(dated))
    put("ch3_n_undated", len(acted) - len(dated))
    put("ch3_n_same_year", int((dated["gap"] == 0).sum()))
    vgap = violent_gaps(cases)
    put("ch3_median_gap_violent", float(vgap.median()))
    put("ch3_max_gap_violent", int(vgap.max()))
    put("ch3_n_gap5_violent", int((vgap >= 5).sum()))
    put("ch3_max_gap_all", int(dated["gap"].max()))

    decade = dated["retaliation_year"].astype("int64") // 10 * 10
    put("ch3_n_absentia_1980s", int(((decade == 1980) & (dated["kind"] == "sentenced_in_absentia")).sum()))
    put("ch3_n_1980s", int((decade == 1980).sum()))
    recent = dated[dated["retaliation_year"] >= 1990]
    put("ch3_n_since1990", len(recent))
    put("ch3_n_violent_since1990", int(recent["kind"].isin(violent_kinds).sum()))

    put("ch3_n_states", int(acted["origin_name"].nunique()))
    sov = cases[cases["origin_country"] == "SUN"]
    put("ch3_n_sov_cases", len(sov))
    put("ch3_n_sov_acted", int((sov["retaliation"] != "none_known").sum()))
    rus_sov_violent = violent[violent["origin_country"].isin(["SUN", "RUS"])]
    put("ch3_n_sov_rus_violent", len(rus_sov_violent))
    put("ch3_n_violent_not_sov_rus", len(violent) - len(rus_sov_violent))
    put("ch3_n_states_violent", int(violent["origin_name"].nunique()))
    western = acted[acted["origin_bloc"] == "western"]
    put("ch3_n_western_acted", len(western))
    put("ch3_n_western_violent", int(western["kind"].isin(violent_kinds).sum()))
    return out


def chapter4(cases=None, years=None, renunciations=None, rules=None) -> dict:
    """The named numbers chapter 4 (Leaving the United States) quotes, by glue key."""
    cases = data.cases() if cases is None else cases
    years = data.renunciations_by_year() if years is None else years
    renunciations = data.renunciations() if renunciations is None else renunciations
    rules = data.us_rules() if rules is None else rules
    out: dict = {}
    put = out.__setitem__

    us = cases[cases["origin_country"] == "USA"].sort_values("year")
    dest = us["destination_country"].value_counts()
    put("ch4_n_cases", int(len(cases)))
    put("ch4_n_us", int(len(us)))
    put("ch4_n_us_sun", int(dest.get("SUN", 0)))
    put("ch4_n_us_prk", int(dest.get("PRK", 0)))
    put("ch4_n_us_soldiers", int((us["role"] == "soldier").sum()))
    put("ch4_n_us_intel", int((us["role"] == "intelligence_officer").sum()))
    put("ch4_n_us_back", int((us["outcome"] == "redefected").sum()))
    put("ch4_us_first", int(us["year"].min()))
    put("ch4_us_last", int(us["year"].max()))

    fee = rules[rules["rule"] == "renunciation_fee"].sort_values("effective_date")
    fee_dates = list(fee["effective_date"])
    fee_values = [int(v) for v in fee["value_usd"]]
    put("ch4_fee_first", fee_values[0])
    put("ch4_fee_first_date", str(f"{fee_dates[0].day} {fee_dates[0]:%B %Y}"))
    put("ch4_fee_peak", max(fee_values))
    peak_at = fee_values.index(max(fee_values))
    put("ch4_fee_peak_date", str(f"{fee_dates[peak_at].day} {fee_dates[peak_at]:%B %Y}"))
    put("ch4_fee_rise_pct", round(100 * (max(fee_values) / fee_values[0] - 1)))
    put("ch4_fee_now", fee_values[-1])
    put("ch4_fee_now_date", str(f"{fee_dates[-1].day} {fee_dates[-1]:%B %Y}"))

    def amount(rule, pick):
        part = rules[rules["rule"] == rule].sort_values("effective_date")
        row = part.iloc[0] if pick == "first" else part.iloc[-1]
        return int(row["value_usd"]), int(row["effective_date"].year)

    liab_first, liab_first_year = amount("exit_tax_tax_liability_threshold", "first")
    liab_last, liab_last_year = amount("exit_tax_tax_liability_threshold", "last")
    excl_first, excl_first_year = amount("exit_tax_exclusion_amount", "first")
    excl_last, excl_last_year = amount("exit_tax_exclusion_amount", "last")
    net_worth, net_worth_year = amount("exit_tax_net_worth_threshold", "first")
    put("ch4_liab_first", liab_first)
    put("ch4_liab_first_year", liab_first_year)
    put("ch4_liab_last", liab_last)
    put("ch4_liab_last_year", liab_last_year)
    put("ch4_liab_growth", round(100 * (liab_last / liab_first - 1)))
    put("ch4_excl_first", excl_first)
    put("ch4_excl_first_year", excl_first_year)
    put("ch4_excl_last", excl_last)
    put("ch4_excl_last_year", excl_last_year)
    put("ch4_net_worth", net_worth)

    example_gain = 1_500_000
    put("ch4_example_gain", example_gain)
    put("ch4_example_taxed", example_gain - excl_last)

    yr = years.astype({"year": "int64", "names_listed": "int64"}).set_index("year")["names_listed"]
    put("ch4_ren_first_year", int(yr.index.min()))
    put("ch4_ren_first", int(yr.iloc[0]))
    peak_years, peak_names = peak(yr)
    put("ch4_ren_peak_year", int(peak_years[0]))
    put("ch4_ren_peak", peak_names)
    put("ch4_ren_n_years", int(len(yr)))
    span = range(int(yr.index.min()), int(yr.index.max()) + 1)
    gaps = [str(y) for y in span if y not in yr.index]
    gap_text = (", ".join(gaps[:-1]) + " and " + gaps[-1]) if len(gaps) > 1 else (gaps[0] if gaps else "none")
    put("ch4_ren_gaps", str(gap_text))
    put("ch4_ren_2013", int(yr.get(2013, 0)))
    put("ch4_ren_2015", int(yr.get(2015, 0)))
    put("ch4_ren_2021", int(yr.get(2021, 0)))
    put("ch4_net_worth_year", net_worth_year)

    # More annual totals and single quarterly lists quoted in the prose.
    for y in (2008, 2011, 2012, 2019, 2020, 2022):
        put(f"ch4_ren_{y}", int(yr.get(y, 0)))
    quarterly = (renunciations.dropna(subset=["quarter"])
                 .astype({"year": "int64", "quarter": "int64", "names_listed": "int64"})
                 .set_index(["year", "quarter"])["names_listed"])
    for y, q in ((2012, 4), (2018, 3), (2019, 3), (2019, 4), (2020, 1)):
        put(f"ch4_ren_{y}q{q}", int(quarterly.get((y, q), 0)))

    def times(ratio):
        """A ratio as prose: whole numbers from 10 up, one decimal below."""
        return str(f"{ratio:.0f}" if ratio >= 10 else f"{ratio:.1f}")

    # How big "the rise" looks depends on the baseline year.
    for base in (2008, 2011, 2012):
        put(f"ch4_ren_rise_{base}_2013", times(yr[2013] / yr[base]))

    # Reader question: The Straight Dope's "800 or so people who renounce ... each year"
    # (Adams 1997, adams1997straightdope). The 800 is the column's figure, not data.
    STRAIGHT_DOPE_PER_YEAR = 800
    recent = yr[yr.index >= 2013]
    put("ch4_sd_per_year", STRAIGHT_DOPE_PER_YEAR)
    put("ch4_ren_recent_first", int(recent.index.min()))
    put("ch4_ren_recent_n", int(len(recent)))
    put("ch4_ren_recent_min", int(recent.min()))
    put("ch4_ren_recent_min_year", int(recent.idxmin()))
    put("ch4_ren_recent_mean", int(round(recent.mean(), -1)))
    put("ch4_sd_times_mean", times(recent.mean() / STRAIGHT_DOPE_PER_YEAR))
    put("ch4_sd_times_peak", times(yr.max() / STRAIGHT_DOPE_PER_YEAR))
    return out


def for_chapter(docname: str) -> dict:
    """The facts of a chapter by its docname, e.g. ``chapters/01-how-defection-works``.

    Includes the chapter's quiz-only numbers (``quiz_facts``), which the chapter does not print.
    """
    number = int(docname.rsplit("/", 1)[-1][:2])
    out = {1: chapter1, 2: chapter2, 3: chapter3, 4: chapter4}[number]()
    out.update(quiz_facts(number))
    return out


def quiz_facts(number: int) -> dict:
    """Numbers the question bank asks students to *compute* (chapter ``number``), by key.

    The chapters do not print these: each is worked out from figures or tables the chapter
    does print, so a numeric question cannot be answered by copying a number from the page.
    """
    cases = data.cases()
    out: dict = {}
    put = out.__setitem__
    role, method, outcome = cases["role"], cases["method"], cases["outcome"]
    kept = outcome == "asylum_granted"

    if number == 1:
        put("ch1_pct_named_route", round(100 * float((method != "other").mean()), 1))
        stage = role.isin(["athlete", "performer"])
        abroad = stage & method.isin(["stayed_behind", "went_to_host_officials"])
        put("ch1_pct_stage_abroad", round(100 * int(abroad.sum()) / int(stage.sum()), 1))
    elif number == 2:
        border = method == "crossed_land_border"
        put("ch2_pct_border_kept", round(100 * int((border & kept).sum()) / int(border.sum()), 1))
        # The 1967 Protocol entered into force in October 1967 (chapter 2).
        put("ch2_n_not_kept_from_1968", int((~kept & (cases["year"] >= 1968)).sum()))
    elif number == 3:
        violent_kinds = list(VIOLENT)
        acted = cases[cases["retaliation"] != "none_known"]
        violent = acted[acted["retaliation"].isin(violent_kinds)]
        put("ch3_pct_violent_of_acted", round(100 * len(violent) / len(acted), 1))
        dated = violent[violent["retaliation_year"].notna()]
        gap = (dated["retaliation_year"] - dated["year"]).astype("int64")
        put("ch3_pct_violent_within_1", round(100 * int((gap <= 1).sum()) / len(dated), 1))
    elif number == 4:
        rules = data.us_rules()
        excl = rules[rules["rule"] == "exit_tax_exclusion_amount"].sort_values("effective_date")
        quiz_gain = 1_200_000  # a made-up holding for the worked question, not data
        put("ch4_quiz_gain", quiz_gain)
        put("ch4_quiz_taxed", quiz_gain - int(excl.iloc[-1]["value_usd"]))
        yr = (data.renunciations_by_year().astype({"year": "int64", "names_listed": "int64"})
              .set_index("year")["names_listed"])
        quarterly = (data.renunciations().dropna(subset=["quarter"])
                     .astype({"year": "int64", "quarter": "int64", "names_listed": "int64"})
                     .set_index(["year", "quarter"])["names_listed"])
        put("ch4_pct_2020_in_q1", round(100 * int(quarterly[(2020, 1)]) / int(yr[2020]), 1))
    return out
