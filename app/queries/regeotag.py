"""Which petitions move when the boundaries change: placed set-based, then moved in one UPDATE."""

from __future__ import annotations

from sqlalchemy import text

from app.extensions import db
from app.models.petition import OPEN_STATUSES

# The placement's plan: a parallel nested loop, the villages outer (each polygon
# prepared once), probing the GiST index of the petition points.
PLACEMENT_SETTINGS = {
    "max_parallel_workers_per_gather": "2",
    "parallel_setup_cost": "0",
    "parallel_tuple_cost": "0",
    "enable_hashjoin": "off",
    "enable_mergejoin": "off",
    # Left to itself, the planner scans the million points outer and probes the villages' index for
    # each one, re-reading a whole polygon per point: 10 s where the villages outer take 2.5 s.
    "enable_seqscan": "off",
    "jit": "off",  # the join's estimated cost is huge, its run a few seconds: compiling would not pay
}
# Each petition whose village changes, with its new village, commune, province and inbox.
PLACEMENT_SQL = """
    SELECT p.id, v.id AS village_id, v.parent_id AS commune_id, c.parent_id AS province_id,
           CASE WHEN p.assigned_area_id = p.commune_id THEN v.parent_id
                WHEN p.assigned_area_id = p.province_id THEN c.parent_id
                ELSE p.assigned_area_id END AS assigned_area_id,
           p.assigned_area_id AS was_assigned_area_id
    FROM areas v JOIN areas c ON c.id = v.parent_id JOIN petitions p ON ST_Covers(v.geom, p.location)
    WHERE v.generation_id = :g AND v.level = 'village'
      AND p.village_id IS DISTINCT FROM v.id {only_open}
    """


def regeotag(generation_id: int, open_only: bool = True) -> int:
    """Place petitions in the areas of another boundary generation; return how many moved.

    The placement runs first, set-based into a temporary table, as a
    parallel join (a point-by-point lookup would take minutes): each petition
    whose village changes, with its new village, commune, province and inbox
    (the commune's when it was in its commune's inbox, the province's when in
    its province's queue). Then the UPDATE writes only those rows, in id
    order: every moved row rewrites every index of the petitions table. The
    inbox is set only where it changes, so the trigger that keeps the inbox's
    province fires only there. Petitions without a point, or outside every
    village, keep their areas.
    """
    only_open = "AND p.status = ANY(:open)" if open_only else ""
    previous = set_local(PLACEMENT_SETTINGS)
    db.session.execute(text("DROP TABLE IF EXISTS regeotag_moves"))
    db.session.execute(
        text("CREATE TEMPORARY TABLE regeotag_moves ON COMMIT DROP AS " + PLACEMENT_SQL.format(only_open=only_open)),
        {"g": generation_id, "open": list(OPEN_STATUSES)},
    )
    set_local(previous)
    moved = 0
    # A petition moved to another inbox is no longer its old assignee's: that inbox's officers assign it anew.
    for inbox, changes in (
        ("assigned_area_id = m.assigned_area_id, assignee_id = NULL,", "DISTINCT"),
        ("", "NOT DISTINCT"),
    ):
        moved += db.session.execute(
            text(
                f"""UPDATE petitions p
                    SET {inbox} village_id = m.village_id, commune_id = m.commune_id, province_id = m.province_id
                    FROM (SELECT DISTINCT ON (id) * FROM regeotag_moves ORDER BY id, village_id) m
                    WHERE p.id = m.id AND m.assigned_area_id IS {changes} FROM m.was_assigned_area_id"""
            )
        ).rowcount
    db.session.execute(text("DROP TABLE regeotag_moves"))
    return moved


def set_local(settings: dict[str, str]) -> dict[str, str]:
    """Set these settings for the rest of the transaction; return what they were."""
    names, values = list(settings), list(settings.values())
    previous = db.session.execute(
        text("SELECT n, current_setting(n) FROM unnest(CAST(:names AS text[])) AS n"), {"names": names}
    ).all()
    db.session.execute(
        text("SELECT set_config(n, v, true) FROM unnest(CAST(:names AS text[]), CAST(:values AS text[])) AS s(n, v)"),
        {"names": names, "values": values},
    )
    return dict(previous)
