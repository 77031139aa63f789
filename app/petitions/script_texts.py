"""The petition form script's own texts, translated like every other text.

The page hands them to static/js/petition-form.js as JSON; {name} marks a
value the script puts in.
"""

from __future__ import annotations

from flask_babel import gettext as _

from app.services.petitions import NoPlace


def form_script_texts() -> dict[str, str]:
    return {
        "no_place": str(NoPlace.MESSAGES["missing"]),  # the place rule's own words, checked before sending
        "no_place_point": str(NoPlace.MESSAGES["outside"]),
        "unlocated": _("Vị trí này chưa xác định được thôn, xã; hãy chọn ở danh sách dưới."),
        "fallback": _("Hãy chọn tỉnh, xã, thôn ở danh sách dưới hoặc chọn trên bản đồ."),
        "areas_failed": _("Không tải được danh sách địa bàn."),
        "areas_offline": _("Không tải được danh sách địa bàn vì mất kết nối mạng. Hãy thử lại."),
        "loading": _("Đang tải…"),
        "search_province": _("Tìm tỉnh, thành phố…"),
        "search_commune": _("Tìm xã, phường…"),
        "search_village": _("Tìm thôn, tổ dân phố…"),
        "list_province": _("tỉnh, thành phố"),
        "list_commune": _("xã, phường"),
        "list_village": _("thôn, tổ dân phố"),
        "search_found": _("Có {n} kết quả trong danh sách “{list}”."),
        "search_none": _("Không tìm thấy địa bàn nào."),
        "your_position": _("Vị trí của bạn (±{accuracy}): "),
        "photo_position": _("Vị trí chụp ảnh: "),
        "map_point": _("Điểm đã chọn trên bản đồ: "),
        "chosen_point": _("Điểm đã chọn: "),
        "locating": _("đang xác định thôn, xã…"),
        "locate_offline": _("chưa xác định được thôn, xã vì mất kết nối mạng; hãy chọn ở danh sách dưới."),
        "nearest": _(" (địa bàn gần nhất, cách {distance})"),
        "choose_village": _(". Hãy chọn thôn, tổ dân phố ở danh sách dưới."),
        "geo_denied": _("Bạn chưa cho phép trang dùng vị trí (hoặc máy đang tắt định vị). "),
        "geo_unavailable": _("Máy chưa xác định được vị trí. "),
        "geo_timeout": _("Quá lâu chưa xác định được vị trí. "),
        "geo_unsupported": _("Máy này không hỗ trợ định vị. "),
        "geo_busy": _("Đang xác định vị trí…"),
        "map_loading": _("Đang tải bản đồ…"),
        "map_failed": _("Không tải được bản đồ. Hãy thử lại, hoặc chọn ở danh sách dưới."),
        "map_hide": _("Ẩn bản đồ"),
        "similar_heading": _("Đã có kiến nghị tương tự gần đây"),
        "similar_advice": _("Nếu đúng là vấn đề bạn gặp, hãy bấm “Tôi cũng gặp vấn đề này” thay vì gửi kiến nghị mới."),
        "supporters": _("{n} người cùng gặp"),
        "support": _("Tôi cũng gặp vấn đề này"),
        "sending": _("Đang gửi…"),
        "support_done": _("Đã ghi nhận, cảm ơn bạn"),
        "support_failed": _("Chưa ghi nhận được, hãy thử lại."),
        "offline_retry": _("Mất kết nối mạng, hãy thử lại."),
        "away": _("cách {distance}"),
        "too_many_photos": _("Bạn đã chọn {n} ảnh; chỉ gửi được tối đa {max} ảnh nên chỉ {max} ảnh đầu được gửi."),
        "use_photo_position": _("Dùng vị trí chụp ảnh"),
        "photo_has_position": _("Ảnh “{name}” có ghi vị trí nơi chụp. "),
        "sending_with_photos": _("Đang chuẩn bị ảnh và gửi kiến nghị…"),
        "sending_petition": _("Đang gửi kiến nghị…"),
        "sent": _("Đã gửi kiến nghị. Mã theo dõi: "),
        "session_expired": _("Phiên làm việc đã hết hạn."),
        "text_kept_on_reload": _(" Chữ bạn đã nhập vẫn được giữ khi tải lại trang."),
        "server_busy": _(
            "Máy chủ đang bận hoặc gặp sự cố{code}. Nội dung bạn nhập vẫn được giữ; hãy thử gửi lại sau ít phút."
        ),
        "error_code": _(" (mã {status})"),
        "offline_not_stored": _(
            "Mất kết nối mạng, kiến nghị chưa gửi được. Nội dung bạn nhập vẫn được giữ; hãy gửi lại khi có mạng."
        ),
        "stored_offline": _(
            "Mất kết nối mạng. Kiến nghị đã được lưu trên máy và sẽ tự gửi khi có mạng trở lại — bạn không cần gửi lại."
        ),
        "fix_these": _("Kiến nghị chưa gửi được. Hãy sửa các mục sau:"),
        "not_sent_see_errors": _("Kiến nghị chưa gửi được; xem các lỗi ở đầu biểu mẫu và bên cạnh từng mục."),
        "arrived": _("Kiến nghị bạn gửi lúc mất mạng đã đến nơi. Mã theo dõi: "),
        "pending": _("Có {n} kiến nghị lưu trên máy đang chờ gửi; sẽ tự gửi khi có mạng."),
        "stored_refused": _(
            "Kiến nghị bạn lưu trên máy lúc mất mạng chưa được nhận. Nội dung đã được đưa lại vào biểu mẫu; "
            "hãy sửa rồi gửi lại. "
        ),
        "draft_restored": _("Đã khôi phục nội dung bạn nhập lần trước trên máy này."),
        "stored_refused_waiting": _(
            "Kiến nghị “{title}” bạn lưu trên máy lúc mất mạng chưa được nhận. Nó sẽ được đưa lại vào biểu mẫu "
            "để bạn sửa sau khi bạn gửi kiến nghị đang viết. "
        ),
    }
