"""One million generated petitions for the benchmark database, with their history.

Deterministic (numpy, fixed seed; only "now" moves) and loaded with COPY:

- where: villages weighted by population, cities (01, 31, 46, 48, 79, 92)
  weighted more, and each commune by a lognormal "how much its citizens use
  the portal"; points jittered around the village's label point and kept
  inside its polygon ("inside"), or just outside it ("nearest"); ~3% picked by
  hand without a point ("chosen"), ~1% not placed at all ("unlocated");
- what: every commune has two dominant categories; titles and bodies are
  short Vietnamese texts drawn from small phrase banks of the category;
- when: two years up to now, growing, fewer on weekends and holidays, by the
  hour of a Vietnamese day;
- how far along: each petition follows received → accepted → in progress →
  resolved (or rejected, merged, sent up to the province) after lognormal
  delays; some are handled slowly and a few get stuck, so a few % of all are
  open past their deadline. due_at follows the deadline rules and holidays
  tables exactly as app/services/deadlines.py counts working days;
- what is public: accepted ones carry the time they were accepted, and are
  publishable by their category's default (officials' conduct private),
  which 5% of citizens change — so the public map counts what it would.

The audit trail (one row per change) and the answers of resolved petitions
are loaded with them, so a petition's page shows a realistic history.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

import numpy as np
import psycopg
import shapely
from psycopg.copy import QueuedLibpqWriter

N = 1_000_000
SEED = 20251122
CHANNEL = "bench"
CITIES = ("01", "31", "46", "48", "79", "92")
CITY_WEIGHT = 1.8
ALPHABET = "23456789ACDEGHKMNPRTUVXY"
CODE_LENGTH = 9
DAYS = 730
US = 1_000_000
HOUR = 3600 * US
DAY = 24 * HOUR
VIETNAM = 7 * HOUR  # UTC+7, no daylight saving
OPEN = ("received", "forwarded", "accepted", "in_progress")

CATEGORIES = (
    "land",
    "environment",
    "social_security",
    "healthcare",
    "education",
    "roads",
    "power_water",
    "public_order",
    "agriculture",
    "officials",
    "other",
)
# How often each category comes up, in cities and elsewhere (same order as CATEGORIES).
URBAN_MIX = (12, 15, 7, 6, 6, 17, 12, 12, 1, 8, 4)
RURAL_MIX = (16, 9, 11, 6, 6, 15, 10, 5, 14, 5, 3)

TEXTS = {
    "land": (
        (
            "Tranh chấp ranh giới đất với hộ liền kề",
            "Chậm cấp giấy chứng nhận quyền sử dụng đất",
            "Lấn chiếm đất công làm quán",
            "Bồi thường giải phóng mặt bằng chưa thỏa đáng",
            "Xây dựng trái phép trên đất nông nghiệp",
        ),
        (
            "Gia đình tôi nộp hồ sơ cấp giấy chứng nhận đã hơn sáu tháng nhưng chưa có kết quả.",
            "Hộ bên cạnh xây tường lấn sang phần đất của gia đình tôi khoảng nửa mét.",
            "Một số hộ dân lấn chiếm đất hành lang giao thông để kinh doanh.",
            "Mức bồi thường khi thu hồi đất thấp hơn giá thị trường nhiều lần.",
            "Có công trình xây dựng trên đất lúa mà không thấy cơ quan chức năng xử lý.",
        ),
    ),
    "environment": (
        (
            "Khói bụi từ cơ sở sản xuất gây ô nhiễm",
            "Nước thải chảy ra kênh gây hôi thối",
            "Rác thải tồn đọng nhiều ngày không được thu gom",
            "Tiếng ồn từ xưởng gỗ ban đêm",
            "Đốt rơm rạ gây khói mù",
        ),
        (
            "Cơ sở sản xuất xả nước thải chưa qua xử lý ra kênh, nước bốc mùi hôi thối.",
            "Rác thải sinh hoạt ở đầu ngõ tồn đọng cả tuần, ruồi muỗi nhiều.",
            "Xưởng gỗ hoạt động đến khuya gây ồn ào, ảnh hưởng giấc ngủ người già và trẻ nhỏ.",
            "Khói bụi từ lò gạch bay vào nhà dân, nhiều người bị ho.",
            "Ao làng bị ô nhiễm, cá chết nổi trắng mặt nước.",
        ),
    ),
    "social_security": (
        (
            "Chưa nhận được trợ cấp người cao tuổi",
            "Xét hộ nghèo chưa công bằng",
            "Đề nghị hỗ trợ nhà ở cho hộ khó khăn",
            "Chậm chi trả chế độ người có công",
            "Hỗ trợ người khuyết tật chưa kịp thời",
        ),
        (
            "Mẹ tôi đã đủ tám mươi tuổi nhưng đến nay chưa được nhận trợ cấp xã hội hằng tháng.",
            "Việc bình xét hộ nghèo năm nay chưa công khai, có hộ khá giả vẫn được đưa vào danh sách.",
            "Nhà của một hộ neo đơn trong thôn đã xuống cấp, mùa mưa dột nát.",
            "Gia đình người có công chưa được chi trả chế độ ba tháng nay.",
            "Con tôi bị khuyết tật nặng nhưng hồ sơ hỗ trợ bị trả lại nhiều lần.",
        ),
    ),
    "healthcare": (
        (
            "Trạm y tế thiếu thuốc",
            "Thái độ phục vụ tại trạm y tế",
            "Đề nghị tổ chức tiêm chủng tại thôn",
            "Chậm điều chỉnh thẻ bảo hiểm y tế",
            "Cơ sở khám chữa bệnh không phép",
        ),
        (
            "Trạm y tế xã thường xuyên thiếu thuốc thiết yếu, người dân phải mua ngoài.",
            "Nhân viên trạm y tế trả lời thiếu tôn trọng khi người dân hỏi thủ tục.",
            "Trẻ em trong thôn phải đi xa mới được tiêm chủng đầy đủ.",
            "Thẻ bảo hiểm y tế của gia đình tôi bị sai thông tin, chưa được điều chỉnh.",
            "Có cơ sở tự xưng là phòng khám nhưng không có giấy phép hoạt động.",
        ),
    ),
    "education": (
        (
            "Trường học xuống cấp",
            "Thu các khoản ngoài quy định",
            "Thiếu giáo viên tiểu học",
            "Đường đến trường nguy hiểm",
            "Đề nghị xây thêm phòng học",
        ),
        (
            "Mái phòng học của điểm trường bị dột, bàn ghế hư hỏng nhiều.",
            "Nhà trường thu nhiều khoản ngoài quy định vào đầu năm học.",
            "Trường tiểu học thiếu giáo viên, nhiều lớp phải học ghép.",
            "Học sinh phải đi qua đoạn đường không có vỉa hè, xe tải chạy nhiều.",
            "Sĩ số mỗi lớp quá đông, đề nghị xây thêm phòng học.",
        ),
    ),
    "roads": (
        (
            "Đường liên thôn xuống cấp",
            "Ngập nước sau mỗi trận mưa",
            "Đèn đường hỏng nhiều tháng",
            "Cầu tạm không an toàn",
            "Đề nghị lắp biển báo giao thông",
        ),
        (
            "Đoạn đường liên thôn bị sụt lún, nhiều ổ gà lớn, xe máy đi lại rất khó khăn.",
            "Mỗi khi mưa lớn, đường vào thôn bị ngập nước sâu nửa mét.",
            "Hệ thống đèn chiếu sáng trên tuyến đường chính bị hỏng, buổi tối rất tối.",
            "Cây cầu tạm bắc qua kênh đã mục, học sinh đi qua rất nguy hiểm.",
            "Ngã ba gần chợ thường xảy ra va chạm nhưng chưa có biển báo.",
        ),
    ),
    "power_water": (
        (
            "Mất nước sinh hoạt kéo dài",
            "Điện chập chờn, điện áp yếu",
            "Nước máy có mùi lạ",
            "Hóa đơn tiền điện tăng bất thường",
            "Chưa có nước sạch",
        ),
        (
            "Khu dân cư bị mất nước sinh hoạt nhiều ngày liền mà không được thông báo.",
            "Điện áp yếu vào buổi tối, các thiết bị trong nhà không hoạt động được.",
            "Nước máy có mùi clo nặng và màu đục, người dân không dám sử dụng.",
            "Hóa đơn tiền điện tháng này tăng gấp đôi so với tháng trước dù mức sử dụng không đổi.",
            "Thôn chưa có đường ống nước sạch, người dân phải dùng nước giếng nhiễm phèn.",
        ),
    ),
    "public_order": (
        (
            "Tụ tập đua xe ban đêm",
            "Trộm cắp tài sản gia tăng",
            "Karaoke gây ồn ào",
            "Hàng rong lấn chiếm vỉa hè",
            "Dấu hiệu cho vay nặng lãi",
        ),
        (
            "Nhóm thanh niên thường tụ tập đua xe trên tuyến đường chính vào ban đêm.",
            "Gần đây trong khu dân cư liên tiếp xảy ra mất trộm xe máy và gia súc.",
            "Quán karaoke hoạt động quá giờ quy định, âm thanh lớn.",
            "Hàng rong bày bán lấn chiếm vỉa hè, người đi bộ phải đi xuống lòng đường.",
            "Có dấu hiệu hoạt động cho vay nặng lãi, đòi nợ bằng cách ném chất bẩn vào nhà dân.",
        ),
    ),
    "agriculture": (
        (
            "Thiếu nước tưới cho lúa",
            "Giá vật tư nông nghiệp tăng cao",
            "Dịch bệnh trên đàn gia súc",
            "Kênh mương nội đồng bị bồi lắng",
            "Hỗ trợ giống sau thiên tai",
        ),
        (
            "Trạm bơm không vận hành đúng lịch, ruộng lúa thiếu nước tưới giai đoạn làm đòng.",
            "Giá phân bón và thuốc bảo vệ thực vật tăng cao, người trồng lúa thua lỗ.",
            "Đàn lợn trong thôn có dấu hiệu dịch bệnh, đề nghị cán bộ thú y kiểm tra.",
            "Kênh mương nội đồng bị bồi lắng, nước không chảy được vào ruộng.",
            "Sau đợt lũ vừa qua, nhiều hộ chưa nhận được giống hỗ trợ.",
        ),
    ),
    "officials": (
        (
            "Cán bộ tiếp dân thiếu nhiệt tình",
            "Giải quyết thủ tục hành chính chậm",
            "Yêu cầu bổ sung giấy tờ không cần thiết",
            "Không có cán bộ tiếp dân trong giờ hành chính",
            "Đơn không được trả lời đúng hạn",
        ),
        (
            "Cán bộ bộ phận một cửa yêu cầu bổ sung giấy tờ nhiều lần mà không hướng dẫn rõ ràng.",
            "Hồ sơ chứng thực của tôi bị giữ quá hạn mà không có giấy hẹn.",
            "Tôi đến làm thủ tục trong giờ hành chính nhưng không có cán bộ tiếp.",
            "Đơn của gia đình tôi gửi từ ba tháng trước đến nay chưa được trả lời.",
            "Cán bộ có lời nói thiếu chuẩn mực với người dân khi giải quyết công việc.",
        ),
    ),
    "other": (
        (
            "Đề nghị xây nhà văn hóa thôn",
            "Góp ý về tổ chức lễ hội",
            "Chó thả rông",
            "Cây xanh có nguy cơ đổ",
            "Đề nghị lắp camera an ninh",
        ),
        (
            "Thôn chưa có nhà văn hóa, các cuộc họp phải tổ chức tại nhà dân.",
            "Lễ hội năm nay có nhiều hàng quán mất vệ sinh.",
            "Nhiều hộ thả rông chó, đã có trẻ em bị cắn.",
            "Cây xanh ven đường đã mục gốc, mùa mưa bão có nguy cơ đổ vào nhà dân.",
            "Người dân đề nghị lắp camera ở các ngã ba để giữ an ninh trật tự.",
        ),
    ),
}
OPENINGS = (
    "",
    "Kính gửi Mặt trận Tổ quốc xã. ",
    "Tôi là người dân sinh sống tại địa phương. ",
    "Thay mặt bà con trong thôn, tôi xin phản ánh. ",
    "Chúng tôi là các hộ dân trong khu dân cư. ",
)
REQUESTS = (
    "Đề nghị chính quyền sớm kiểm tra, xử lý.",
    "Mong các cơ quan chức năng quan tâm giải quyết.",
    "Kính đề nghị xem xét và trả lời cho người dân.",
    "Người dân rất bức xúc, mong được phản hồi sớm.",
    "Xin cảm ơn.",
)
ANSWERS = (
    "Ủy ban nhân dân xã đã kiểm tra thực tế và chỉ đạo bộ phận chuyên môn khắc phục xong.",
    "Nội dung phản ánh đã được chuyển đơn vị quản lý xử lý; kết quả đã thông báo đến người dân.",
    "Qua kiểm tra, phản ánh đúng một phần; địa phương đã nhắc nhở và yêu cầu chấm dứt vi phạm.",
    "Địa phương đã đưa hạng mục này vào kế hoạch đầu tư năm tới và sẽ thông báo tiến độ.",
    "Đã tổ chức đối thoại với các hộ liên quan, các bên thống nhất phương án giải quyết.",
)
REJECT_REASONS = (
    "Không thuộc thẩm quyền giải quyết của xã.",
    "Nội dung đã được giải quyết ở kiến nghị trước.",
    "Thông tin phản ánh không đủ để xác minh.",
)
FAMILY = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô")
MIDDLE = ("Văn", "Thị", "Đức", "Minh", "Ngọc", "Thanh", "Hữu", "Quốc", "Thu", "Xuân")
GIVEN = tuple("An Bình Cường Dũng Hà Hải Hạnh Hoa Hùng Hương Lan Linh Long Mai Nam Phương Quang Sơn Tâm Thảo".split())
WEEKDAY_WEIGHT = (1.15, 1.1, 1.05, 1.05, 1.0, 0.65, 0.5)  # Monday … Sunday
HOUR_WEIGHT = (
    (0.2, 0.1, 0.1, 0.1, 0.2, 0.5, 1.2, 2.2, 3.0, 3.2, 3.0, 2.5)
    + (1.8, 1.8, 2.6, 2.9, 2.8, 2.4, 2.0, 2.4, 2.6, 2.2, 1.3, 0.6)  # by the hour in Vietnam
)


@dataclass
class Loaded:
    petitions: int
    events: int
    answers: int
    steps: dict[str, float]  # seconds each step took, in order

    @property
    def seconds(self) -> float:
        return sum(self.steps.values())


def load(dsn: str, n: int = N) -> Loaded:
    """Generate n petitions and load them, with their audit rows and answers, in one transaction."""
    steps: dict[str, float] = {}
    clock = time.perf_counter()

    def step(name: str) -> None:
        nonlocal clock
        steps[name] = steps.get(name, 0.0) + time.perf_counter() - clock
        clock = time.perf_counter()

    with psycopg.connect(dsn, autocommit=True) as conn:
        gen = _generate(conn, n)
    step("generate")
    tables = ("petitions", "audit_events", "petition_answers")
    with psycopg.connect(dsn) as conn:
        conn.execute("SET LOCAL maintenance_work_mem = '1GB'")
        conn.execute("SET LOCAL max_parallel_maintenance_workers = 2")
        conn.execute("SET LOCAL synchronous_commit = off")
        restore = _set_aside(conn, tables)
        # The COPY carries the inbox's province itself: the trigger's one lookup per row is left out.
        conn.execute(f"ALTER TABLE petitions DISABLE TRIGGER {PROVINCE_TRIGGER}")
        ids = _reserve_ids(conn, n)
        _copy(conn, "petitions", PETITION_COLUMNS, _petition_chunks(gen, ids))
        conn.execute(f"ALTER TABLE petitions ENABLE TRIGGER {PROVINCE_TRIGGER}")
        step("COPY petitions")
        _copy(conn, "audit_events", EVENT_COLUMNS, _event_chunks(gen, ids))
        step("COPY audit_events")
        _copy(conn, "petition_answers", ANSWER_COLUMNS, _answer_chunks(gen, ids))
        step("COPY petition_answers")
        for kind, statement in restore:
            conn.execute(statement)
            step(kind)
        conn.commit()
    with psycopg.connect(dsn, autocommit=True) as conn:
        for table in tables:  # the visibility map and statistics of a steady state
            conn.execute(f"VACUUM (ANALYZE) {table}")
            step("VACUUM (ANALYZE)")
        try:  # write the load out now rather than while a benchmark measures
            conn.execute("CHECKPOINT")
        except psycopg.errors.InsufficientPrivilege:
            pass  # not a superuser: the checkpointer will get to it
        step("CHECKPOINT")
    return Loaded(n, len(gen["events"]["petition"]), len(gen["answers"]), steps)


def delete(dsn: str, where: str, params: tuple = ()) -> int:
    """Delete the petitions matching a condition and every row that points at them; return how many.

    The audit trail refuses deletes, so this transaction runs with triggers off
    (session_replication_role = replica): for benchmark databases only.
    """
    with psycopg.connect(dsn) as conn:
        conn.execute("SET LOCAL session_replication_role = replica")
        conn.execute("CREATE TEMP TABLE doomed (id bigint PRIMARY KEY) ON COMMIT DROP")
        conn.execute(f"INSERT INTO doomed SELECT id FROM petitions WHERE {where}", params)
        referencing = conn.execute(
            """SELECT c.conrelid::regclass::text, a.attname FROM pg_constraint c
               JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
               WHERE c.contype = 'f' AND c.confrelid = 'petitions'::regclass"""
        ).fetchall()
        for table, column in referencing:
            if table == "petitions":
                conn.execute(f"UPDATE petitions SET {column} = NULL WHERE {column} IN (SELECT id FROM doomed)")
            else:
                conn.execute(f"DELETE FROM {table} WHERE {column} IN (SELECT id FROM doomed)")
        return conn.execute("DELETE FROM petitions WHERE id IN (SELECT id FROM doomed)").rowcount


# Generation ------------------------------------------------------------------

STATUSES = ("received", "accepted", "rejected", "in_progress", "resolved", "forwarded", "merged")
RECEIVED, ACCEPTED, REJECTED, IN_PROGRESS, RESOLVED, FORWARDED, MERGED = range(len(STATUSES))
OPEN_CODES = (RECEIVED, FORWARDED, ACCEPTED, IN_PROGRESS)
ACTIONS = ("received", "reject", "merge", "forward", "accept", "start", "resolve")
METHODS = ("inside", "nearest", "chosen", "unlocated")
SOURCES = ("", "gps", "map", "exif")
NEVER = np.int64(1) << 62


def _generate(conn: psycopg.Connection, n: int, now: int | None = None) -> dict:
    """Every column of n petitions, their audit rows and answers, as numpy arrays.

    Every draw has a size fixed by n and the geography, so the same seed gives
    the same petitions whatever the time (only their ages and statuses move).
    """
    rng = np.random.default_rng(SEED)
    now = now or time.time_ns() // 1000  # µs since the epoch, UTC
    v = _villages(conn)
    holidays = np.array([d for (d,) in conn.execute("SELECT day FROM holidays ORDER BY day")], dtype="datetime64[D]")
    rules = {(s, c): d for s, c, d in conn.execute("SELECT status, category_code, working_days FROM deadline_rules")}
    taken = {c for (c,) in conn.execute("SELECT tracking_code FROM petitions WHERE channel <> %s", (CHANNEL,))}

    # When: two years back, growing, by weekday, holiday and hour; in order, as the ids go.
    today = (now + VIETNAM) // DAY
    days = today - np.arange(DAYS)
    day_weight = (0.55 + 0.45 * (1 - np.arange(DAYS) / DAYS)) * np.array(WEEKDAY_WEIGHT)[(days + 3) % 7]
    day_weight[np.isin(days.astype("datetime64[D]"), holidays)] *= 0.35
    day = days[rng.choice(DAYS, size=n, p=day_weight / day_weight.sum())]
    hour = rng.choice(24, size=n, p=np.array(HOUR_WEIGHT) / sum(HOUR_WEIGHT))
    created = day * DAY + hour * HOUR + rng.integers(0, HOUR, n) - VIETNAM
    created = np.where(created > now, now - rng.integers(0, 6 * HOUR, n), created)  # later today: earlier
    created.sort()
    age = now - created

    # Where: a village by population, cities and active communes more.
    communes, commune_of = np.unique(v["commune"], return_inverse=True)
    activity = rng.lognormal(0.0, 0.45, len(communes))
    weight = v["population"] * np.where(v["city"], CITY_WEIGHT, 1.0) * activity[commune_of]
    village = rng.choice(len(weight), size=n, p=weight / weight.sum())

    method = rng.choice(4, size=n, p=(0.875, 0.085, 0.03, 0.01))  # METHODS
    inside, nearest, chosen, unlocated = (method == k for k in range(4))
    located = inside | nearest

    # Points: jittered around the label point, inside the polygon (or just outside it for "nearest").
    x, y = v["x"][village].copy(), v["y"][village].copy()
    size = v["size"][village]
    geoms = v["geom"][village]
    todo = located.copy()
    for sigma in (0.22, 0.18, 0.14, 0.1, 0.06):
        idx = np.flatnonzero(todo)
        wide = np.where(nearest[idx], 0.6, sigma)
        px = x[idx] + rng.normal(0, 1, len(idx)) * size[idx] * wide
        py = y[idx] + rng.normal(0, 1, len(idx)) * size[idx] * wide
        ok = shapely.contains_xy(geoms[idx], px, py) != nearest[idx]
        x[idx[ok]], y[idx[ok]] = px[ok], py[ok]
        todo[idx[ok]] = False
    # Left over: "inside" keeps the label point (always covered); "nearest" goes just past the edge.
    rest = np.flatnonzero(todo & nearest)
    angle = rng.uniform(0, 2 * np.pi, len(rest))
    x[rest] += np.cos(angle) * size[rest] * 1.5
    y[rest] += np.sin(angle) * size[rest] * 1.5
    distance = np.full(n, np.nan)
    near = np.flatnonzero(nearest)
    metres_per_degree = 111_320 * np.cos(np.radians(y[near]))
    distance[near] = shapely.distance(geoms[near], shapely.points(x[near], y[near])) * metres_per_degree
    # "unlocated": half sent a point far at sea, half none at all.
    at_sea = unlocated & (rng.random(n) < 0.5)
    x[at_sea], y[at_sea] = rng.uniform(111.0, 113.5, at_sea.sum()), rng.uniform(8.0, 16.0, at_sea.sum())
    has_point = located | at_sea
    source = np.where(has_point, rng.choice([1, 2, 3], size=n, p=(0.68, 0.28, 0.04)), 0)  # SOURCES
    accuracy = np.where(source == 1, np.clip(rng.lognormal(np.log(12), 0.6, n), 3, 150).round(1), np.nan)

    # The areas: the village's, or a hand-picked village or commune; none when unlocated.
    village_id = v["id"][village].astype(np.int64)
    commune_id = v["commune"][village].astype(np.int64)
    province_id = v["province"][village].astype(np.int64)
    commune_only = chosen & (rng.random(n) < 0.25)
    village_id[commune_only | unlocated] = 0
    commune_id[unlocated] = 0
    province_id[unlocated] = 0
    chosen_area = np.zeros(n, dtype=np.int64)
    chosen_area[chosen] = np.where(commune_only[chosen], commune_id[chosen], village_id[chosen])
    picked = located & (rng.random(n) < 0.25)
    chosen_area[picked] = village_id[picked]
    # A few picked a neighbouring village of the same commune, where the point is not.
    neighbour = np.minimum(village + 1, len(v["id"]) - 1)
    neighbour = np.where(v["commune"][neighbour] == v["commune"][village], neighbour, np.maximum(village - 1, 0))
    disagrees = located & (rng.random(n) < 0.012) & (neighbour != village)
    disagrees &= v["commune"][neighbour] == v["commune"][village]
    chosen_area[disagrees] = v["id"][neighbour[disagrees]]

    # What: two dominant categories per commune, else the urban or the rural mix.
    city_commune = np.zeros(len(communes), dtype=bool)
    city_commune[commune_of[v["city"]]] = True
    urban = np.array(URBAN_MIX, dtype=float) / sum(URBAN_MIX)
    rural = np.array(RURAL_MIX, dtype=float) / sum(RURAL_MIX)
    dominant = np.empty((len(communes), 2), dtype=np.int64)
    for i, in_city in enumerate(city_commune):
        dominant[i] = rng.choice(len(CATEGORIES), size=2, replace=False, p=urban if in_city else rural)
    pc = commune_of[village]
    base = np.where(
        v["city"][village],
        rng.choice(len(CATEGORIES), size=n, p=urban),
        rng.choice(len(CATEGORIES), size=n, p=rural),
    )
    pick = rng.random(n)
    category = np.where(pick < 0.35, dominant[pc, 0], np.where(pick < 0.55, dominant[pc, 1], base))

    # How far along: lognormal delays, slower for some, stuck for a few.
    slow = np.where(rng.random(n) < 0.06, 5.0, 1.0)
    stuck = rng.random(n) < 0.03
    stuck_at = rng.choice(3, size=n, p=(0.4, 0.3, 0.3))  # after received | accepted | in progress

    def delay(median_days: float, sigma: float) -> np.ndarray:
        return (rng.lognormal(np.log(median_days * DAY), sigma, n) * slow).astype(np.int64)

    first = rng.choice(4, size=n, p=(0.09, 0.03, 0.02, 0.86))  # reject, merge, forward (up), accept
    sent_up = first == 2
    t1 = delay(1.2, 0.9)
    t_up = t1 + delay(3.0, 0.8)  # the province accepts what was sent up
    starts = rng.random(n) < 0.8  # else answered straight from "accepted"
    t_acc = np.where(sent_up, t_up, t1)
    t2 = t_acc + delay(2.5, 0.9)
    t3 = np.where(starts, t2, t_acc) + delay(10.0, 0.9)
    t1[stuck & (stuck_at == 0)] = NEVER
    t_acc[stuck & (stuck_at == 0)] = NEVER
    t2[~starts | (stuck & (stuck_at == 1))] = NEVER
    t3[stuck & (stuck_at >= 1)] = NEVER
    accepted_path = first >= 2

    # The changes in order: (after how long, action, from, to, to whom it happens).
    stages = (
        (t1, 1, RECEIVED, REJECTED, first == 0),
        (t1, 2, RECEIVED, MERGED, first == 1),
        (t1, 3, RECEIVED, FORWARDED, sent_up),
        (t_acc, 4, np.where(sent_up, FORWARDED, RECEIVED), ACCEPTED, accepted_path),
        (t2, 5, ACCEPTED, IN_PROGRESS, accepted_path & starts),
        (t3, 6, np.where(starts, IN_PROGRESS, ACCEPTED), RESOLVED, accepted_path),
    )
    status = np.full(n, RECEIVED, dtype=np.int8)
    changed = np.zeros(n, dtype=np.int64)
    resolved_at = np.zeros(n, dtype=np.int64)
    ev = {"petition": [np.arange(n)], "at": [created], "action": [np.zeros(n, np.int8)]}
    ev["from"], ev["to"] = [np.full(n, -1, np.int8)], [np.full(n, RECEIVED, np.int8)]
    for after, action, source_status, target, applies in stages:
        idx = np.flatnonzero(applies & (after <= age))
        status[idx] = target
        changed[idx] = after[idx]
        ev["petition"].append(idx)
        ev["at"].append(created[idx] + after[idx])
        ev["action"].append(np.full(len(idx), action, np.int8))
        ev["from"].append(np.broadcast_to(source_status, n)[idx].astype(np.int8))
        ev["to"].append(np.full(len(idx), target, np.int8))
    resolved = status == RESOLVED
    resolved_at[resolved] = created[resolved] + t3[resolved]
    status_changed = created + changed
    ev = {k: np.concatenate(parts) for k, parts in ev.items()}

    # Merged: into the previous petition of the same commune and category (without one, rejected).
    order = np.lexsort((np.arange(n), category, commune_id))
    previous = np.full(n, -1, dtype=np.int64)
    same = (commune_id[order][1:] == commune_id[order][:-1]) & (category[order][1:] == category[order][:-1])
    previous[order[1:]] = np.where(same, order[:-1], -1)
    merged = status == MERGED
    orphan = merged & ((previous < 0) | unlocated)
    status[orphan] = REJECTED
    merged_into = np.where(merged & ~orphan, previous, -1)
    fix = (ev["action"] == 2) & orphan[ev["petition"]]
    ev["action"][fix], ev["to"][fix] = 1, REJECTED

    # Deadlines of the open ones, in working days from the last change of status.
    due = np.full(n, -1, dtype=np.int64)
    for k, code in enumerate(CATEGORIES):
        for st in OPEN_CODES:
            allowed = rules.get((STATUSES[st], code), rules.get((STATUSES[st], None)))
            sel = (status == st) & (category == k)
            if allowed is None or not sel.any():
                continue
            local = ((status_changed[sel] + VIETNAM) // DAY).astype("datetime64[D]")
            # Rolled back to a working day, the count starts the day after, as add_working_days does.
            end = np.busday_offset(local, allowed, roll="backward", holidays=holidays) if allowed else local
            due[sel] = (end.astype(np.int64) + 1) * DAY - VIETNAM - 1

    rated_at = np.where(resolved & (rng.random(n) < 0.35), resolved_at + delay(2.0, 1.0), 0)
    rated_at[rated_at > now] = 0
    rated = rated_at > 0
    satisfied = rated & (rng.random(n) < 0.7)
    updated = np.maximum(status_changed, rated_at)
    supporters = rng.geometric(0.55, n)
    popular = rng.random(n) < 0.005
    supporters[popular] += rng.integers(10, 200, popular.sum())

    is_open = np.isin(status, OPEN_CODES)
    counts = ", ".join(f"{STATUSES[s]} {int((status == s).sum()):,}" for s in range(len(STATUSES)))
    overdue = int((is_open & (due < now)).sum())
    print(f"  generated: {counts}; open past due {overdue:,} ({overdue / n:.1%})", flush=True)

    answered = np.flatnonzero(resolved)
    ev_order = np.argsort(ev["at"], kind="stable")  # the audit trail is written as things happen
    accepted_at = np.where(accepted_path & (t_acc <= age), created + t_acc, 0)  # when an officer accepted it
    generated = {
        "codes": _tracking_codes(rng, n, taken),
        "texts": _texts(rng, category, v["label"][village], unlocated | commune_only),
        "contacts": _contacts(rng, n),
        "category": category,
        "status": status,
        "x": x,
        "y": y,
        "has_point": has_point,
        "accuracy": accuracy,
        "source": source,
        "chosen_area": chosen_area,
        "village_id": village_id,
        "commune_id": commune_id,
        "province_id": province_id,
        "assigned": np.where((sent_up & (status != RECEIVED)) | (commune_id == 0), province_id, commune_id),
        "method": method,
        "distance": distance,
        "disagrees": disagrees,
        "supporters": supporters,
        "satisfied": satisfied,
        "rated_at": rated_at,
        "created": created,
        "updated": updated,
        "status_changed": status_changed,
        "due": due,
        "merged_into": merged_into,
        "officer": _cat("canbo.", v["commune_code"][village].astype(STR)),
        "events": {k: a[ev_order] for k, a in ev.items()},
        "reasons": rng.integers(0, len(REJECT_REASONS), n),
        "answers": answered[np.argsort(resolved_at[answered], kind="stable")],
        "answer_text": rng.integers(0, len(ANSWERS), n),
        "resolved_at": resolved_at,
        "accepted_at": accepted_at,
    }
    # Publication, drawn last so every other column stays as it was: the category's default (officials'
    # conduct private), which a few citizens change.
    changed_mind = rng.random(n) < 0.05
    generated["publishable"] = (category != CATEGORIES.index("officials")) != changed_mind
    return generated


def _villages(conn: psycopg.Connection) -> dict:
    rows = conn.execute(
        """SELECT v.id, v.parent_id, c.parent_id, c.code, p.code = ANY(%s),
                  coalesce(v.population, 1), ST_X(v.label_point), ST_Y(v.label_point), sqrt(ST_Area(v.geom)),
                  ST_AsBinary(v.geom), v.unit_type || ' ' || v.name
           FROM areas v JOIN areas c ON c.id = v.parent_id JOIN areas p ON p.id = c.parent_id
           JOIN generations g ON g.id = v.generation_id AND g.is_current
           WHERE v.level = 'village' ORDER BY v.code""",
        (list(CITIES),),
    ).fetchall()
    cols = list(zip(*rows, strict=True))
    geoms = shapely.from_wkb(np.array(cols[9], dtype=object))
    shapely.prepare(geoms)
    return {
        "id": np.array(cols[0]),
        "commune": np.array(cols[1]),
        "province": np.array(cols[2]),
        "commune_code": np.array(cols[3], dtype=object),
        "city": np.array(cols[4], dtype=bool),
        "population": np.array(cols[5], dtype=float),
        "x": np.array(cols[6]),
        "y": np.array(cols[7]),
        "size": np.array(cols[8]),
        "geom": geoms,
        "label": np.array(cols[10], dtype=object),
    }


def _tracking_codes(rng: np.random.Generator, n: int, taken: set[str]) -> np.ndarray:
    alphabet = np.array(list(ALPHABET))
    codes = np.ascontiguousarray(alphabet[rng.integers(0, len(ALPHABET), (n, CODE_LENGTH))]).view(f"<U{CODE_LENGTH}")[
        :, 0
    ]
    while True:
        _, first = np.unique(codes, return_index=True)
        clash = np.ones(n, dtype=bool)
        clash[first] = False  # the first of each code keeps it
        clash |= np.isin(codes, list(taken)) if taken else False
        if not clash.any():
            return codes.astype(STR)
        fresh = alphabet[rng.integers(0, len(ALPHABET), (int(clash.sum()), CODE_LENGTH))]
        codes[clash] = np.ascontiguousarray(fresh).view(f"<U{CODE_LENGTH}")[:, 0]


def _texts(rng: np.random.Generator, category: np.ndarray, places: np.ndarray, nowhere: np.ndarray):
    """Titles and bodies: the body opens on the title's problem, sometimes adds another, and asks."""
    n = len(category)
    heads = np.array([h for c in CATEGORIES for h in TEXTS[c][0]], dtype=STR)
    problems = np.array([p for c in CATEGORIES for p in TEXTS[c][1]], dtype=STR)
    per = len(TEXTS[CATEGORIES[0]][0])
    topic = category * per + rng.integers(0, per, n)
    other = category * per + rng.integers(0, per, n)
    title = np.where((rng.random(n) < 0.4) & ~nowhere, _cat(heads[topic], " tại ", places.astype(STR)), heads[topic])
    second = np.where((rng.random(n) < 0.3) & (other != topic), _cat(" ", problems[other]), "")
    body = _cat(
        np.array(OPENINGS, dtype=STR)[rng.integers(0, len(OPENINGS), n)],
        problems[topic],
        second,
        " ",
        np.array(REQUESTS, dtype=STR)[rng.integers(0, len(REQUESTS), n)],
    )
    return title, body


def _contacts(rng: np.random.Generator, n: int):
    """Who signed, for the quarter or so who did not stay anonymous: a name and a mobile number."""
    anonymous = rng.random(n) < 0.78
    name = _cat(
        np.array(FAMILY, dtype=STR)[rng.integers(0, len(FAMILY), n)],
        " ",
        np.array(MIDDLE, dtype=STR)[rng.integers(0, len(MIDDLE), n)],
        " ",
        np.array(GIVEN, dtype=STR)[rng.integers(0, len(GIVEN), n)],
    )
    phone = _cat("0", rng.choice([3, 5, 7, 8, 9], n).astype(STR), _zeros(rng.integers(0, 10**8, n), 8))
    return anonymous, np.where(anonymous, NULL, name), np.where(anonymous, NULL, phone)


# Loading -----------------------------------------------------------------------

STR = np.dtypes.StringDType()
NULL = "\\N"
CHUNK = 100_000
PETITION_COLUMNS = (
    "id, tracking_code, channel, title, body, category_code, status, location, location_accuracy_m, "
    "location_source, chosen_area_id, village_id, commune_id, province_id, geotag_method, geotag_distance_m, "
    "geotag_disagrees, is_anonymous, contact_name, contact_phone, consent_at, supporters, satisfied, rated_at, "
    "created_at, updated_at, assigned_area_id, assigned_province_id, status_changed_at, due_at, merged_into_id, "
    "accepted_at, publishable"
)
PROVINCE_TRIGGER = "petitions_assigned_province"  # migrations/versions/0010_public_edge.py
EVENT_COLUMNS = "at, actor_label, petition_id, action, from_status, to_status, note, data"
ANSWER_COLUMNS = "petition_id, body, is_public, created_at"


def _cat(*parts) -> np.ndarray:
    """Concatenate string arrays (and constants) element by element."""
    out = parts[0]
    for part in parts[1:]:
        out = np.strings.add(out, part)
    return out


def _zeros(values: np.ndarray, width: int) -> np.ndarray:
    return np.strings.zfill(values.astype(STR), width)


def _text(values: np.ndarray, null: np.ndarray | None = None) -> np.ndarray:
    out = values.astype(STR)
    return out if null is None else np.where(null, NULL, out)


def _timestamps(us: np.ndarray, null: np.ndarray | None = None) -> np.ndarray:
    out = np.strings.add(np.datetime_as_string(us.astype("datetime64[us]"), unit="us").astype(STR), "+00")
    return out if null is None else np.where(null, NULL, out)


def _degrees(values: np.ndarray) -> np.ndarray:
    micro = np.round(values * 1e6).astype(np.int64)  # positive in Vietnam
    return _cat((micro // 1_000_000).astype(STR), ".", _zeros(micro % 1_000_000, 6))


def _lookup(names: tuple[str, ...], codes: np.ndarray) -> np.ndarray:
    return np.array([NULL if not name else name for name in names], dtype=STR)[codes]


def _bools(values: np.ndarray) -> np.ndarray:
    return np.where(values, "t", "f").astype(STR)


def _rows(columns: list[np.ndarray]) -> bytes:
    """COPY text lines of the columns (already escaped, NULL as \\N), concatenated pairwise: a chain
    of appends would copy each growing line again for every column."""
    parts: list = []
    for column in columns:
        parts += [column, "\t"]
    parts[-1] = "\n"
    while len(parts) > 1:
        pairs = [np.strings.add(parts[i], parts[i + 1]) for i in range(0, len(parts) - 1, 2)]
        parts = pairs + parts[len(pairs) * 2 :]
    return "".join(parts[0].tolist()).encode()


def _petition_chunks(g: dict, ids: np.ndarray):
    n = len(ids)
    for a in range(0, n, CHUNK):
        s = slice(a, min(a + CHUNK, n))
        created = _timestamps(g["created"][s])
        x, y, has_point = g["x"][s], g["y"][s], g["has_point"][s]
        location = np.where(has_point, _cat("SRID=4326;POINT(", _degrees(x), " ", _degrees(y), ")"), NULL)
        rated = g["rated_at"][s] > 0
        merged_into = g["merged_into"][s]
        yield _rows(
            [
                _text(ids[s]),
                g["codes"][s],
                np.full(s.stop - s.start, CHANNEL, dtype=STR),
                g["texts"][0][s],
                g["texts"][1][s],
                _lookup(CATEGORIES, g["category"][s]),
                _lookup(STATUSES, g["status"][s]),
                location,
                _text(g["accuracy"][s], np.isnan(g["accuracy"][s])),
                _lookup(SOURCES, g["source"][s]),
                _text(g["chosen_area"][s], g["chosen_area"][s] == 0),
                _text(g["village_id"][s], g["village_id"][s] == 0),
                _text(g["commune_id"][s], g["commune_id"][s] == 0),
                _text(g["province_id"][s], g["province_id"][s] == 0),
                _lookup(METHODS, g["method"][s]),
                _text(np.round(g["distance"][s], 1), np.isnan(g["distance"][s])),
                _bools(g["disagrees"][s]),
                _bools(g["contacts"][0][s]),
                g["contacts"][1][s],
                g["contacts"][2][s],
                created,
                _text(g["supporters"][s]),
                np.where(rated, _bools(g["satisfied"][s]), NULL),
                _timestamps(g["rated_at"][s], ~rated),
                created,
                _timestamps(g["updated"][s]),
                _text(g["assigned"][s], g["assigned"][s] == 0),
                _text(g["province_id"][s], g["assigned"][s] == 0),  # the inbox's province: the petition's own
                _timestamps(g["status_changed"][s]),
                _timestamps(g["due"][s], g["due"][s] < 0),
                _text(ids[np.maximum(merged_into, 0)], merged_into < 0),
                _timestamps(g["accepted_at"][s], g["accepted_at"][s] == 0),
                _bools(g["publishable"][s]),
            ]
        )


def _event_chunks(g: dict, ids: np.ndarray):
    e = g["events"]
    n = len(e["petition"])
    data = np.array([json.dumps({"channel": CHANNEL, "geotag": m}) for m in METHODS] + ["{}"], dtype=STR)
    reasons = np.array(REJECT_REASONS, dtype=STR)
    for a in range(0, n, CHUNK):
        s = slice(a, min(a + CHUNK, n))
        p, action = e["petition"][s], e["action"][s]
        first = action == 0
        yield _rows(
            [
                _timestamps(e["at"][s]),
                np.where(first, "citizen", g["officer"][p]),
                _text(ids[p]),
                _lookup(ACTIONS, action),
                np.where(e["from"][s] < 0, NULL, _lookup(STATUSES, np.maximum(e["from"][s], 0))),
                _lookup(STATUSES, e["to"][s]),
                np.where(action == 1, reasons[g["reasons"][p]], NULL),
                data[np.where(first, g["method"][p], len(METHODS))],
            ]
        )


def _answer_chunks(g: dict, ids: np.ndarray):
    answered = g["answers"]
    texts = np.array(ANSWERS, dtype=STR)
    for a in range(0, len(answered), CHUNK):
        p = answered[a : a + CHUNK]
        yield _rows(
            [
                _text(ids[p]),
                texts[g["answer_text"][p]],
                np.full(len(p), "t", dtype=STR),
                _timestamps(g["resolved_at"][p]),
            ]
        )


def _copy(conn: psycopg.Connection, table: str, columns: str, chunks) -> None:
    cursor = conn.cursor()
    # The queued writer sends from a thread: the next chunk is formatted while the server parses this one.
    with cursor.copy(f"COPY {table} ({columns}) FROM STDIN", writer=QueuedLibpqWriter(cursor)) as copy:
        for chunk in chunks:
            copy.write(chunk)


def _reserve_ids(conn: psycopg.Connection, n: int) -> np.ndarray:
    """n petition ids from the identity sequence, so the audit rows can point at them."""
    last = conn.execute(
        "SELECT setval(pg_get_serial_sequence('petitions', 'id'), "
        "nextval(pg_get_serial_sequence('petitions', 'id')) + %s - 1)",
        (n,),
    ).fetchone()[0]
    return np.arange(last - n + 1, last + 1, dtype=np.int64)


def _set_aside(conn: psycopg.Connection, tables: tuple[str, ...]) -> list[tuple[str, str]]:
    """Drop the tables' foreign keys and the indexes that back no constraint, as pg_restore loads
    a table; return the statements that put them back (re-adding a foreign key checks every row
    in one join, instead of one lookup per row during COPY)."""
    keys = conn.execute(
        """SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint
           WHERE contype = 'f' AND conrelid = ANY(%s::regclass[]) ORDER BY 1, 2""",
        (list(tables),),
    ).fetchall()
    for table, name, _ in keys:
        conn.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    indexes = conn.execute(
        """SELECT i.indexname, i.indexdef FROM pg_indexes i
           WHERE i.schemaname = 'public' AND i.tablename = ANY(%s)
             AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid =
                             (quote_ident(i.schemaname) || '.' || quote_ident(i.indexname))::regclass)
           ORDER BY i.tablename, i.indexname""",
        (list(tables),),
    ).fetchall()
    for name, _ in indexes:
        conn.execute(f'DROP INDEX "{name}"')
    return [("indexes", definition) for _, definition in indexes] + [
        ("foreign keys", f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
        for table, name, definition in keys
    ]
