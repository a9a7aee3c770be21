"""Kho: the Hai Phong shared data warehouse (Kho dữ liệu dùng chung) as a lakehouse."""

__version__ = "0.1.0"
