"""Small hand-made geographies whose answers can be worked out by hand."""

from __future__ import annotations

from shapely.geometry import Point, box

from app.geodata.features import AreaFeature


def mini_geography() -> list[AreaFeature]:
    """Province 99 on the coast: two communes side by side, split at lon 105.1.

    lat 20.2 ┌──────────────┬──────────────┐
             │ commune 99001│ commune 99002│  sea east of lon 105.2
             │ 3 villages   │ 2 point      │
             │ (points)     │ villages     │
             │              ├──────────────┤
             │              │ surveyed     │
    lat 20.0 └──────────────┴──────────────┘
          lon 105.0      105.1          105.2
    """
    source = "mini"
    return [
        AreaFeature("province", "99", "Thử Nghiệm", "Tỉnh", None, box(105.0, 20.0, 105.2, 20.2), 9000, source),
        AreaFeature("commune", "99001", "Tây Sơn", "Xã", "99", box(105.0, 20.0, 105.1, 20.2), 5000, source),
        AreaFeature("commune", "99002", "Đông Hải", "Phường", "99", box(105.1, 20.0, 105.2, 20.2), 4000, source),
        AreaFeature("village", "99001001", "3", "Thôn", "99001", Point(105.03, 20.05), 1000, source),
        AreaFeature("village", "99001002", "Đông", "Thôn", "99001", Point(105.07, 20.15), 2000, source),
        AreaFeature("village", "99001003", "13", "Thôn", "99001", Point(105.05, 20.10), 2000, source),
        AreaFeature("village", "99002001", "1", "Tổ dân phố", "99002", box(105.1, 20.0, 105.2, 20.1), 1500, source),
        AreaFeature("village", "99002002", "2", "Tổ dân phố", "99002", Point(105.15, 20.15), 1500, source),
        AreaFeature("village", "99002003", "10", "Tổ dân phố", "99002", Point(105.12, 20.18), 1000, source),
    ]
