"""Geotagging a point: inside, on a shared edge, off the coast, at sea, abroad, garbage."""

from __future__ import annotations

import math

import pytest
from shapely.geometry import Point
from sqlalchemy import select

from app.extensions import db
from app.geodata.features import AreaFeature
from app.geodata.importer import import_features
from app.services.geotag import InvalidPoint, geotag, parse_point
from tests.factories import mini_geography


@pytest.fixture
def mini(app_ctx):
    """The hand-made coast province, as the current generation (rolled back after)."""
    import_features(mini_geography(), "mini", make_current=True)
    db.session.flush()


def codes(tag):
    return tuple(a.code if a else None for a in (tag.village, tag.commune, tag.province))


def test_point_inside_a_derived_village_finds_it_and_its_parents(mini):
    tag = geotag(105.031, 20.049)
    assert codes(tag) == ("99001001", "99001", "99")
    assert tag.method == "inside"
    assert tag.distance_m is None
    assert tag.village.name == "3" and tag.village.unit_type == "Thôn"


def test_point_inside_a_surveyed_village(mini):
    assert codes(geotag(105.19, 20.01)) == ("99002001", "99002", "99")


def test_point_on_the_edge_between_two_communes_goes_to_the_lowest_code_every_time(mini):
    # lon 105.1 is the shared edge of commune 99001 (village 99001001's cell)
    # and commune 99002 (surveyed village 99002001).
    answers = {codes(geotag(105.1, 20.03)) for _ in range(5)}
    assert answers == {("99001001", "99001", "99")}


def test_point_just_off_the_coast_goes_to_the_nearest_commune_and_village(mini):
    tag = geotag(105.205, 20.15)  # 0.005° east of the coast ≈ 522 m
    assert codes(tag) == ("99002002", "99002", "99")
    assert tag.method == "nearest"
    expected = 0.005 * 111_320 * math.cos(math.radians(20.15))
    assert tag.distance_m == pytest.approx(expected, rel=0.01)


def test_point_at_sea_far_away_is_unlocated_but_not_refused(mini):
    tag = geotag(105.5, 20.1)  # ~31 km offshore
    assert tag.method == "unlocated"
    assert codes(tag) == (None, None, None)


def test_unlocated_point_falls_back_to_the_area_the_citizen_chose(mini):
    tag = geotag(105.5, 20.1, chosen="99001002")
    assert tag.method == "chosen"
    assert codes(tag) == ("99001002", "99001", "99")


def test_area_chosen_without_a_point(mini):
    tag = geotag(chosen="99002")
    assert tag.method == "chosen"
    assert codes(tag) == (None, "99002", "99")


def test_point_in_another_commune_than_chosen_is_flagged(mini):
    tag = geotag(105.031, 20.049, chosen="99002")
    assert codes(tag)[1] == "99001"
    assert tag.disagrees is True
    assert geotag(105.031, 20.049, chosen="99001").disagrees is False


@pytest.mark.parametrize(
    "lat, lon, code",
    [
        ("13.7563", "100.5018", "outside_vietnam"),  # Bangkok
        ("48.8566", "2.3522", "outside_vietnam"),  # Paris
        ("nan", "105.8", "invalid_coordinates"),
        ("21.0", "inf", "invalid_coordinates"),
        ("abc", "105.8", "invalid_coordinates"),
        ("21.0", "", "missing_coordinates"),
        (None, "105.8", "missing_coordinates"),
        ("91", "105.8", "out_of_range"),
        ("21.0", "-181", "out_of_range"),
        ("0x15", "105.8", "invalid_coordinates"),
    ],
)
def test_what_is_not_a_place_in_vietnam_is_refused_with_a_reason(lat, lon, code):
    with pytest.raises(InvalidPoint) as refused:
        parse_point(lat, lon)
    assert refused.value.code == code
    assert refused.value.message  # a sentence for the citizen, in Vietnamese


def test_hoang_sa_and_truong_sa_are_inside_the_national_extent():
    assert parse_point("16.53", "111.61") == (111.61, 16.53)  # Hoàng Sa
    assert parse_point("8.65", "111.92") == (111.92, 8.65)  # Trường Sa


def test_every_village_point_of_the_slice_geotags_to_that_village(app_ctx):
    """The derived cells and the geotag function agree everywhere in the slice."""
    from sqlalchemy import text

    misplaced, total = db.session.execute(
        text(
            """SELECT count(*) FILTER (WHERE g.village_id IS DISTINCT FROM v.id), count(*)
           FROM areas v CROSS JOIN LATERAL geotag(ST_X(v.label_point), ST_Y(v.label_point)) g
           WHERE v.level = 'village' AND v.geom_source = 'derived'"""
        )
    ).one()
    assert total > 500
    assert misplaced == 0


def test_after_a_boundary_change_open_petitions_move_to_the_new_areas_and_closed_ones_stay(app_ctx, runner):
    from app.models import Petition
    from app.services.petitions import Submission, submit

    import_features(mini_geography(), "mini", make_current=True)
    results = [
        submit(
            Submission(
                title="Cống tắc", body="Cống thoát nước bị tắc lâu ngày.", category="roads", lon=105.031, lat=20.049
            )
        )
        for _ in range(2)
    ]
    first, second = (
        db.session.scalar(select(Petition).where(Petition.tracking_code == r.tracking_code)) for r in results
    )
    second.status = "resolved"
    db.session.flush()
    # The new generation: the same province and communes, villages re-drawn around other points.
    new = [f for f in mini_geography() if f.level != "village"] + [
        *(AreaFeature("village", "99001901", "Mới", "Thôn", "99001", Point(105.02, 20.04), 100, "new"),),
        *(AreaFeature("village", "99001902", "Bắc", "Thôn", "99001", Point(105.05, 20.15), 100, "new"),),
        *(AreaFeature("village", "99002901", "Đông", "Tổ dân phố", "99002", Point(105.15, 20.1), 100, "new"),),
    ]
    import_features(new, "mini-2026")
    result = runner.invoke(args=["geodata", "regeotag", "--generation", "mini-2026"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("1 petitions placed")
    db.session.expire_all()
    assert first.village.code == "99001901" and first.village.generation.name == "mini-2026"
    assert second.village.code == "99001001" and second.village.generation.name == "mini"  # kept where filed


def test_regeotag_moves_the_inbox_with_its_commune_or_province_and_leaves_any_other_inbox(app_ctx):
    from app.models import Area, Petition
    from app.queries.regeotag import regeotag
    from app.services.petitions import Submission, submit

    import_features(mini_geography(), "mini", make_current=True)
    old = {a.code: a for a in db.session.scalars(select(Area))}
    results = [
        submit(
            Submission(title="Đèn hỏng", body="Đèn đường hỏng nhiều tháng.", category="roads", lon=105.031, lat=20.049)
        )
        for _ in range(3)
    ]
    in_commune, in_province, elsewhere = (
        db.session.scalar(select(Petition).where(Petition.tracking_code == r.tracking_code)) for r in results
    )
    in_province.assigned_area_id = old["99"].id
    elsewhere.assigned_area_id = old["99002"].id  # forwarded to the neighbouring commune
    from tests.factories import officer

    clerk, neighbour = officer("commune", "99001"), officer("commune", "99002")
    in_commune.assignee_id, elsewhere.assignee_id = clerk.id, neighbour.id
    db.session.flush()
    import_features(mini_geography(), "mini-2026")
    new = {a.code: a for a in db.session.scalars(select(Area).where(Area.id.not_in([a.id for a in old.values()])))}

    assert regeotag(new["99"].generation_id) == 3
    db.session.expire_all()
    assert (in_commune.village_id, in_commune.commune_id, in_commune.province_id) == (
        new["99001001"].id,
        new["99001"].id,
        new["99"].id,
    )
    assert (in_commune.assigned_area_id, in_commune.assigned_province_id) == (new["99001"].id, new["99"].id)
    assert (in_province.assigned_area_id, in_province.assigned_province_id) == (new["99"].id, new["99"].id)
    assert (elsewhere.assigned_area_id, elsewhere.assigned_province_id) == (old["99002"].id, old["99"].id)
    # Moved to another inbox: no longer its old assignee's; kept in its inbox: still theirs.
    assert (in_commune.assignee_id, elsewhere.assignee_id) == (None, neighbour.id)
