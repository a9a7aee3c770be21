"""Vietnamese personal names with their approximate frequencies, for generated citizens.

Surname shares follow published estimates (Nguyễn ~38%, Trần ~11%, Lê ~9.5%, ...); middle
and given names are common ones per sex. Weights are relative.
"""

SURNAMES: tuple[tuple[str, float], ...] = (
    ("Nguyễn", 38.0), ("Trần", 11.0), ("Lê", 9.5), ("Phạm", 7.1), ("Hoàng", 5.1), ("Vũ", 3.9),
    ("Phan", 4.5), ("Đặng", 2.1), ("Bùi", 2.0), ("Đỗ", 1.4), ("Hồ", 1.3), ("Ngô", 1.3),
    ("Dương", 1.0), ("Lý", 0.5), ("Đào", 0.8), ("Đinh", 0.7), ("Mạc", 0.4), ("Lương", 0.5),
    ("Trịnh", 0.5), ("Cao", 0.4), ("Tạ", 0.3), ("Quách", 0.2), ("Vương", 0.3), ("Phùng", 0.3),
)

MIDDLE_MALE: tuple[str, ...] = ("Văn", "Đức", "Minh", "Quang", "Hữu", "Thành", "Xuân", "Ngọc", "Công", "Trọng", "Mạnh", "Tiến")
MIDDLE_FEMALE: tuple[str, ...] = ("Thị", "Ngọc", "Thu", "Thanh", "Kim", "Minh", "Phương", "Hồng", "Thuỳ", "Bích", "Mai", "Khánh")

GIVEN_MALE: tuple[str, ...] = (
    "An", "Bình", "Cường", "Dũng", "Đạt", "Đức", "Giang", "Hải", "Hiếu", "Hoàng", "Hùng", "Huy",
    "Khánh", "Khoa", "Kiên", "Lâm", "Long", "Lộc", "Mạnh", "Minh", "Nam", "Nghĩa", "Phong", "Phúc",
    "Quân", "Quang", "Sơn", "Tài", "Thắng", "Thành", "Thịnh", "Toàn", "Trung", "Tuấn", "Tùng", "Việt", "Vinh",
)
GIVEN_FEMALE: tuple[str, ...] = (
    "Anh", "Bích", "Chi", "Diệp", "Dung", "Giang", "Hà", "Hạnh", "Hằng", "Hoa", "Hồng", "Huyền",
    "Hương", "Lan", "Linh", "Loan", "Mai", "My", "Nga", "Ngân", "Ngọc", "Nhung", "Oanh", "Phương",
    "Quyên", "Thảo", "Thơ", "Thuý", "Thủy", "Trang", "Trinh", "Tuyết", "Uyên", "Vân", "Yến",
)

STREETS: tuple[str, ...] = (
    "Lạch Tray", "Trần Phú", "Điện Biên Phủ", "Lê Lợi", "Nguyễn Trãi", "Tô Hiệu", "Hai Bà Trưng",
    "Trần Hưng Đạo", "Lê Thánh Tông", "Văn Cao", "Nguyễn Văn Linh", "Quang Trung", "Bạch Đằng",
    "Thống Nhất", "Chi Lăng", "Phạm Ngũ Lão", "Lý Thường Kiệt", "Hoàng Văn Thụ",
)
