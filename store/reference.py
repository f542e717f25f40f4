"""The CBS reference list of localities, and the local authorities derived from it.

Goals are measured per local authority: cities and local councils are rows of the CBS list;
regional councils are not, so they are derived from `municipal_status_name`, and the settlements
inside one roll up to it.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from store import Store

REFERENCE_CSV = Path(__file__).parent / "reference" / "cbs_localities.csv"
REGIONAL_COUNCIL_OFFSET = 10000  # regional council code = 10000 + CBS municipal status code
CITY_STATUS = 0
LOCAL_COUNCIL_STATUS = 99
REGIONAL_COUNCIL_PREFIX = "מועצה אזורית "


def read_reference(path: Path = REFERENCE_CSV) -> pd.DataFrame:
    """The CBS list as published (UTF-8 with BOM)."""
    return pd.read_csv(
        path, encoding="utf-8-sig", dtype={"previous_names": str, "merged_locality_names": str}
    )


def authority_code_for(municipal_status_id: float | None, locality_code: int) -> int | None:
    """Which authority a settlement belongs to: itself (city / local council) or its regional council."""
    if municipal_status_id is None or pd.isna(municipal_status_id):
        return None
    status = int(municipal_status_id)
    if status in (CITY_STATUS, LOCAL_COUNCIL_STATUS):
        return int(locality_code)
    return REGIONAL_COUNCIL_OFFSET + status


def build_tables(ref: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(localities, authorities) frames shaped like the store's tables."""
    loc = pd.DataFrame(
        {
            "code": ref["id"].astype(int),
            "name": ref["name"].str.strip(),
            "name_en": ref["name_en"].str.strip(),
            "district": ref["district_name"],
            "sub_district": ref["sub_district_name"],
            "municipal_status_id": ref["municipal_status_id"].astype("Int64"),
            "authority_code": [
                authority_code_for(s, c) for s, c in zip(ref["municipal_status_id"], ref["id"], strict=True)
            ],
            "population": ref["population"].astype("Int64"),
            "lat": ref["coordinates_wgs84_latitude"],
            "lon": ref["coordinates_wgs84_longitude"],
            "previous_names": ref["previous_names"],
            "merged_names": ref["merged_locality_names"],
        }
    )
    loc["authority_code"] = loc["authority_code"].astype("Int64")

    own = loc[loc["municipal_status_id"].isin([CITY_STATUS, LOCAL_COUNCIL_STATUS])]
    cities = pd.DataFrame(
        {
            "code": own["code"],
            "name": own["name"],
            "name_en": own["name_en"],
            "kind": own["municipal_status_id"].map(
                {CITY_STATUS: "city", LOCAL_COUNCIL_STATUS: "local_council"}
            ),
            "district": own["district"],
            "population": own["population"],
            "lat": own["lat"],
            "lon": own["lon"],
        }
    )

    rc_rows = ref[~ref["municipal_status_id"].isin([CITY_STATUS, LOCAL_COUNCIL_STATUS])].dropna(
        subset=["municipal_status_id"]
    )
    councils = []
    for status, group in rc_rows.groupby("municipal_status_id"):
        pop = group["population"].fillna(0)
        weight = pop if pop.sum() > 0 else pd.Series(1.0, index=group.index)
        full_name = str(group["municipal_status_name"].iloc[0]).strip()
        short = full_name.removeprefix(REGIONAL_COUNCIL_PREFIX)
        councils.append(
            {
                "code": REGIONAL_COUNCIL_OFFSET + int(status),
                "name": f"{REGIONAL_COUNCIL_PREFIX}{short}",
                "name_en": f"{short} Regional Council",  # CBS gives no English name for councils
                "kind": "regional_council",
                # The district most of its residents live in.
                "district": group.groupby("district_name")["population"].sum().idxmax(),
                "population": int(pop.sum()),
                "lat": float((group["coordinates_wgs84_latitude"] * weight).sum() / weight.sum()),
                "lon": float((group["coordinates_wgs84_longitude"] * weight).sum() / weight.sum()),
            }
        )
    authorities = pd.concat([cities, pd.DataFrame(councils)], ignore_index=True)
    authorities["population"] = authorities["population"].astype("Int64")
    return loc, authorities


def load_reference(store: Store, path: Path = REFERENCE_CSV) -> int:
    """Fill the localities and authorities tables once; returns the number of authorities."""
    if store.query_one("SELECT count(*) FROM authorities"):
        return int(store.query_one("SELECT count(*) FROM authorities"))
    localities, authorities = build_tables(read_reference(path))
    with store.transaction() as cur:
        cur.register("ref_localities", localities)
        cur.register("ref_authorities", authorities)
        cur.execute("INSERT INTO localities BY NAME SELECT * FROM ref_localities")
        cur.execute("INSERT INTO authorities BY NAME SELECT * FROM ref_authorities")
        cur.unregister("ref_localities")
        cur.unregister("ref_authorities")
    return len(authorities)
