"""A small LGSP-style REST server for the TTHC dossier system (what connectors pull from).

The city's systems exchange data through the LGSP (seed §VII.1.7, §15 item 14): an API
gateway with OAuth2 client credentials, paged JSON envelopes in Vietnamese, and quotas. This
server gives the one-stop system's data (:mod:`kho.sources.dossiers`) that shape, so the
ingestion connector is written against a real HTTP server, locally and in tests.

Run it::

    python -m kho.sources.dossiers <dir> --sf 1            # writes <dir>/dossiers/tthc.sqlite
    python -m kho.sources.lgsp_api --data <dir> --port 8089

or build the app in a test: ``create_app(data_dir, rate_limit=5, clock=fake_clock)``.

Contract (v1)
-------------
``POST /oauth/token`` - form (or JSON) ``grant_type=client_credentials&client_id=..&client_secret=..``
(HTTP Basic auth for the client also accepted). Credentials: env ``KHO_LGSP_CLIENT_ID`` /
``KHO_LGSP_CLIENT_SECRET``; local-development defaults ``kho-dev`` / ``kho-dev-secret``.
Returns ``{"access_token", "token_type": "Bearer", "expires_in": 3600, "scope": "tthc.read"}``;
400 ``unsupported_grant_type``, 401 ``invalid_client``.

``GET /api/v1/tthc/ho-so`` with ``Authorization: Bearer <token>``. Query parameters:

* ``tu_ngay``, ``den_ngay``: receipt date range, inclusive (``YYYY-MM-DD`` or ``dd/mm/yyyy``)
* ``trang_thai``: one status or a comma-separated list (``dang_xu_ly``, ``da_giai_quyet_dung_han``,
  ``da_giai_quyet_qua_han``, ``tra_lai``)
* ``ma_co_quan``: agency code
* ``cap_nhat_tu``: incremental cursor - rows updated at or after this time
  (``YYYY-MM-DD HH:MM:SS``, ``YYYY-MM-DDTHH:MM:SS`` or ``yyyyMMddHHmmss``); then rows come in
  (``cap_nhat_luc``, ``id``) order, otherwise in ``id`` (receipt) order. Add ``sau_id`` to resume
  strictly after (``cap_nhat_tu``, ``sau_id``) - a keyset cursor, the robust way to page (below).
* ``page`` (1-based, default 1), ``page_size`` (default 100, capped at 500)

Response: ``{"ma_loi": "0", "mo_ta": "Thành công", "tong_so": N, "trang": p, "so_trang": P,
"kich_thuoc_trang": s, "thoi_diem_du_lieu": "...", "con_tro_tiep": {"cap_nhat_tu": ..,
"sau_id": ..} | null, "du_lieu": [ {id, ma_ho_so, ma_thu_tuc, ten_thu_tuc, linh_vuc, co_quan,
ten_co_quan, ma_dvhc, hinh_thuc_nop, ngay_tiep_nhan, han_giai_quyet, ngay_tra_ket_qua,
trang_thai, loai_chu_the, so_giay_to, ten_chu_the, cap_nhat_luc}, ... ]}``. Times are local
(UTC+07:00) ``YYYY-MM-DD HH:MM:SS`` text, as the source stores them.

``GET /api/v1/tthc/thu-tuc`` (procedure catalogue) and ``GET /api/v1/tthc/co-quan`` (agencies,
with validity dates) take ``page`` / ``page_size`` and return the same envelope.
``GET /health`` needs no token.

Errors use the same envelope with ``ma_loi`` = the HTTP status as text: 400 bad parameter,
401 missing / unknown / expired token (with ``WWW-Authenticate: Bearer``), 429 when a client
exceeds ``KHO_LGSP_RATE_LIMIT`` requests per second (default 20; sliding one-second window per
client id, per IP for the token endpoint) with a ``Retry-After`` header in whole seconds.

Live data (the "late update" fault). Status changes still pending at the snapshot
(``ho_so_cap_nhat``) are revealed while clients read: after every data request the next
``KHO_LGSP_REVEAL_PER_REQUEST`` (default 25) changes are applied, in time order, so the
server's data moves forward like a live system's. A client paging with ``page=`` over a
filter or over ``cap_nhat_tu`` order can then see a dossier twice or miss one (a row moved
between pages); the keyset cursor (``cap_nhat_tu`` + ``sau_id`` from ``con_tro_tiep``) plus a
later incremental pull catches every change exactly once per version. ``KHO_LGSP_LATE_UPDATES=0``
freezes the data (a stable snapshot). The server works on a private copy of the SQLite file,
never on the generated file itself.
"""

from __future__ import annotations

import argparse
import base64
import collections
import contextlib
import math
import os
import re
import secrets
import shutil
import sqlite3
import tempfile
import threading
import time
import weakref
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from kho.sources import dossiers

DEFAULT_CLIENT_ID = "kho-dev"
DEFAULT_CLIENT_SECRET = "kho-dev-secret"
DEFAULT_RATE_LIMIT = 20.0
DEFAULT_TOKEN_TTL = 3600
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 500
DEFAULT_REVEAL_PER_REQUEST = 25
DEFAULT_PORT = 8089
API_PREFIX = "/api/v1/tthc"
COLUMNS = dossiers.COLUMNS


def resolve_db(data: str | Path) -> Path:
    """The dossier database for ``--data``: a file, ``<dir>/dossiers/tthc.sqlite`` or ``<dir>/tthc.sqlite``."""
    p = Path(data)
    for candidate in (p, p / "dossiers" / dossiers.DB_NAME, p / dossiers.DB_NAME):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"no dossier database under {p} (generate it: python -m kho.sources.dossiers {p})")


class ApiError(Exception):
    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}


def _envelope(status: int, message: str) -> dict[str, Any]:
    return {"ma_loi": str(status), "mo_ta": message, "du_lieu": None}


_DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y")
_TIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y%m%d%H%M%S", "%Y-%m-%d")


def _parse(value: str, formats: tuple[str, ...], name: str) -> datetime:
    text = value.strip().replace("+07:00", "")
    for fmt in formats:
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    raise ApiError(400, f"Tham số {name} không hợp lệ: {value!r}")


def _int(value: str | None, name: str, default: int) -> int:
    if value is None or value == "":
        return default
    if not re.fullmatch(r"\d+", value.strip()):
        raise ApiError(400, f"Tham số {name} phải là số nguyên dương: {value!r}")
    return int(value)


@dataclass
class _State:
    db: Path
    client_id: str
    client_secret: str
    rate_limit: float
    token_ttl: float
    late_updates: bool
    reveal_per_request: int
    clock: Callable[[], float]
    con: sqlite3.Connection = field(init=False)
    lock: threading.Lock = field(default_factory=threading.Lock)
    tokens: dict[str, tuple[str, float]] = field(default_factory=dict)
    windows: dict[str, collections.deque] = field(default_factory=lambda: collections.defaultdict(collections.deque))
    revealed: int = 0
    pending_total: int = 0
    data_time: str = ""
    workdir: str = ""
    count_cache: dict[tuple[Any, ...], int] = field(default_factory=dict)

    def open(self) -> None:
        # a private working copy: revealing updates writes to it, never to the generated file
        self.workdir = tempfile.mkdtemp(prefix="kho-lgsp-")
        work = Path(self.workdir) / "tthc.sqlite"
        src = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True)
        dst = sqlite3.connect(work)
        try:
            src.backup(dst)
        finally:
            src.close()
            dst.close()
        self.con = sqlite3.connect(work, check_same_thread=False)
        self.con.row_factory = sqlite3.Row
        self.con.execute("PRAGMA journal_mode=MEMORY")
        self.con.execute("PRAGMA synchronous=OFF")
        self.pending_total = self.con.execute("SELECT count(*) FROM ho_so_cap_nhat").fetchone()[0]
        meta = dict(self.con.execute("SELECT key, value FROM meta").fetchall())
        self.data_time = meta.get("as_of", dossiers.AS_OF.isoformat()).replace("T", " ")

    def close(self) -> None:
        """Idempotent: drop the connection and the private working copy."""
        try:
            self.con.close()
        except Exception:  # noqa: BLE001 - best effort at shutdown
            pass
        if self.workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    # -- auth and quotas ------------------------------------------------------------------
    def issue(self, client_id: str, secret: str) -> dict[str, Any]:
        if not (secrets.compare_digest(client_id, self.client_id) and secrets.compare_digest(secret, self.client_secret)):
            raise ApiError(401, "invalid_client")
        token = secrets.token_urlsafe(32)
        now = self.clock()
        with self.lock:
            self.tokens = {t: v for t, v in self.tokens.items() if v[1] > now}
            self.tokens[token] = (client_id, now + self.token_ttl)
        return {"access_token": token, "token_type": "Bearer", "expires_in": int(self.token_ttl), "scope": "tthc.read"}

    def authenticate(self, authorization: str | None) -> str:
        challenge = {"WWW-Authenticate": 'Bearer realm="lgsp", error="invalid_token"'}
        if not authorization or not authorization.lower().startswith("bearer "):
            raise ApiError(401, "Thiếu mã truy cập (Authorization: Bearer ...)", {"WWW-Authenticate": 'Bearer realm="lgsp"'})
        token = authorization[7:].strip()
        entry = self.tokens.get(token)
        if entry is None:
            raise ApiError(401, "Mã truy cập không hợp lệ", challenge)
        if entry[1] <= self.clock():
            raise ApiError(401, "Mã truy cập đã hết hạn", challenge)
        return entry[0]

    def throttle(self, key: str) -> None:
        if self.rate_limit <= 0:
            return
        now = self.clock()
        with self.lock:
            window = self.windows[key]
            while window and window[0] <= now - 1.0:
                window.popleft()
            if len(window) >= self.rate_limit:
                retry = max(1, math.ceil(window[0] + 1.0 - now))
                raise ApiError(429, f"Vượt quá giới hạn {self.rate_limit:g} yêu cầu/giây", {"Retry-After": str(retry)})
            window.append(now)

    # -- live data --------------------------------------------------------------------------
    def reveal(self) -> None:
        """Apply the next batch of pending status changes (called after each data request)."""
        if not self.late_updates or self.revealed >= self.pending_total:
            return
        rows = self.con.execute(
            "SELECT ho_so_id, trang_thai, ngay_tra_ket_qua, cap_nhat_luc FROM ho_so_cap_nhat "
            "WHERE seq > ? ORDER BY seq LIMIT ?", (self.revealed, self.reveal_per_request)).fetchall()
        with self.con:
            self.con.executemany("UPDATE ho_so SET trang_thai = ?, ngay_tra_ket_qua = ?, cap_nhat_luc = ? WHERE id = ?",
                                 [(r[1], r[2], r[3], r[0]) for r in rows])
        self.revealed += len(rows)
        if rows:
            self.data_time = rows[-1][3]
        self.count_cache.clear()


def _query_dossiers(state: _State, params: dict[str, str]) -> dict[str, Any]:
    where: list[str] = []
    args: list[Any] = []
    if params.get("tu_ngay"):
        where.append("ngay_tiep_nhan >= ?")
        args.append(_parse(params["tu_ngay"], _DATE_FORMATS, "tu_ngay").strftime("%Y-%m-%d"))
    if params.get("den_ngay"):
        where.append("ngay_tiep_nhan < ?")
        end = _parse(params["den_ngay"], _DATE_FORMATS, "den_ngay").date()
        args.append(date.fromordinal(end.toordinal() + 1).isoformat())
    if params.get("trang_thai"):
        statuses = [s.strip() for s in params["trang_thai"].split(",") if s.strip()]
        bad = [s for s in statuses if s not in dossiers.STATUSES]
        if bad:
            raise ApiError(400, f"Tham số trang_thai không hợp lệ: {bad}; hợp lệ: {list(dossiers.STATUSES)}")
        where.append(f"trang_thai IN ({', '.join('?' * len(statuses))})")
        args.extend(statuses)
    if params.get("ma_co_quan"):
        where.append("co_quan = ?")
        args.append(params["ma_co_quan"].strip())
    incremental = bool(params.get("cap_nhat_tu"))
    if incremental:
        since = _parse(params["cap_nhat_tu"], _TIME_FORMATS, "cap_nhat_tu").isoformat(" ")
        if params.get("sau_id"):
            after = _int(params["sau_id"], "sau_id", 0)
            # written so SQLite can range-scan the (cap_nhat_luc, id) index
            where.append("cap_nhat_luc >= ? AND (cap_nhat_luc > ? OR id > ?)")
            args.extend([since, since, after])
        else:
            where.append("cap_nhat_luc >= ?")
            args.append(since)
    elif params.get("sau_id"):
        raise ApiError(400, "Tham số sau_id chỉ dùng cùng cap_nhat_tu")
    page = _int(params.get("page"), "page", 1)
    size = _int(params.get("page_size"), "page_size", DEFAULT_PAGE_SIZE)
    if page < 1 or size < 1:
        raise ApiError(400, "page và page_size phải >= 1")
    size = min(size, MAX_PAGE_SIZE)
    clause = (" WHERE " + " AND ".join(where)) if where else ""
    order = " ORDER BY cap_nhat_luc, id" if incremental else " ORDER BY id"
    with state.lock:
        key = (clause, tuple(args))
        total = state.count_cache.get(key)
        if total is None:
            total = state.con.execute(f"SELECT count(*) FROM ho_so{clause}", args).fetchone()[0]
            if len(state.count_cache) > 1000:
                state.count_cache.clear()
            state.count_cache[key] = total
        rows = state.con.execute(f"SELECT {', '.join(COLUMNS)} FROM ho_so{clause}{order} LIMIT ? OFFSET ?",
                                 [*args, size, (page - 1) * size]).fetchall()
        data = [dict(r) for r in rows]
        data_time = state.data_time
        state.reveal()
    cursor = {"cap_nhat_tu": data[-1]["cap_nhat_luc"], "sau_id": data[-1]["id"]} if (data and incremental) else None
    return {"ma_loi": "0", "mo_ta": "Thành công", "tong_so": total, "trang": page,
            "so_trang": math.ceil(total / size) if total else 0, "kich_thuoc_trang": size,
            "thoi_diem_du_lieu": data_time, "con_tro_tiep": cursor, "du_lieu": data}


def _query_table(state: _State, table: str, order: str, params: dict[str, str]) -> dict[str, Any]:
    page = _int(params.get("page"), "page", 1)
    size = min(_int(params.get("page_size"), "page_size", MAX_PAGE_SIZE), MAX_PAGE_SIZE)
    if page < 1 or size < 1:
        raise ApiError(400, "page và page_size phải >= 1")
    with state.lock:
        total = state.con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        rows = [dict(r) for r in state.con.execute(f"SELECT * FROM {table} ORDER BY {order} LIMIT ? OFFSET ?",
                                                   (size, (page - 1) * size)).fetchall()]
    return {"ma_loi": "0", "mo_ta": "Thành công", "tong_so": total, "trang": page,
            "so_trang": math.ceil(total / size) if total else 0, "kich_thuoc_trang": size, "du_lieu": rows}


def _env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value not in (None, "") else default


def create_app(data: str | Path, *, client_id: str | None = None, client_secret: str | None = None,
               rate_limit: float | None = None, token_ttl: float | None = None, late_updates: bool | None = None,
               reveal_per_request: int | None = None, clock: Callable[[], float] = time.monotonic) -> FastAPI:
    """The FastAPI app over the dossier database found at ``data`` (see :func:`resolve_db`).
    Arguments override the ``KHO_LGSP_*`` environment variables, which override the defaults."""
    state = _State(
        db=resolve_db(data),
        client_id=client_id or os.environ.get("KHO_LGSP_CLIENT_ID") or DEFAULT_CLIENT_ID,
        client_secret=client_secret or os.environ.get("KHO_LGSP_CLIENT_SECRET") or DEFAULT_CLIENT_SECRET,
        rate_limit=rate_limit if rate_limit is not None else _env_float("KHO_LGSP_RATE_LIMIT", DEFAULT_RATE_LIMIT),
        token_ttl=token_ttl if token_ttl is not None else _env_float("KHO_LGSP_TOKEN_TTL", DEFAULT_TOKEN_TTL),
        late_updates=late_updates if late_updates is not None else os.environ.get("KHO_LGSP_LATE_UPDATES", "1") not in ("0", "false", "no"),
        reveal_per_request=reveal_per_request if reveal_per_request is not None else
        int(_env_float("KHO_LGSP_REVEAL_PER_REQUEST", DEFAULT_REVEAL_PER_REQUEST)),
        clock=clock,
    )
    state.open()

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        state.close()        # uvicorn re-raises SIGTERM after shutdown: atexit hooks would not run

    app = FastAPI(title="LGSP Hải Phòng - TTHC (Kho dev server)", version="1.0.0", lifespan=lifespan,
                  description="LGSP-style API over the generated TTHC dossier system. See kho.sources.lgsp_api.")
    app.state.lgsp = state
    weakref.finalize(app, state.close)   # apps that are never served (tests): clean up when collected / at exit

    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(_envelope(exc.status, exc.message), status_code=exc.status, headers=exc.headers)

    def client_ip(request: Request) -> str:
        return request.client.host if request.client else "unknown"

    @app.get("/health")
    def health() -> dict[str, Any]:
        return {"trang_thai": "ok", "thoi_diem_du_lieu": state.data_time,
                "cap_nhat_da_ap_dung": state.revealed, "cap_nhat_con_lai": state.pending_total - state.revealed}

    @app.post("/oauth/token")
    async def token(request: Request) -> JSONResponse:
        try:
            state.throttle("ip:" + client_ip(request))
        except ApiError as exc:
            return JSONResponse({"error": "rate_limited", "error_description": exc.message}, status_code=429,
                                headers=exc.headers)
        body = await request.body()
        ctype = request.headers.get("content-type", "")
        form: dict[str, str] = {}
        if "json" in ctype:
            import json

            try:
                form = {k: str(v) for k, v in json.loads(body or b"{}").items()}
            except (ValueError, AttributeError):
                return JSONResponse({"error": "invalid_request"}, status_code=400)
        else:
            form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
        auth = request.headers.get("authorization", "")
        if auth.lower().startswith("basic "):
            try:
                cid, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
                form.setdefault("client_id", cid)
                form.setdefault("client_secret", secret)
            except ValueError:
                return JSONResponse({"error": "invalid_client"}, status_code=401)
        if form.get("grant_type") != "client_credentials":
            return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
        try:
            return JSONResponse(state.issue(form.get("client_id", ""), form.get("client_secret", "")),
                                headers={"Cache-Control": "no-store"})
        except ApiError:
            return JSONResponse({"error": "invalid_client"}, status_code=401,
                                headers={"WWW-Authenticate": 'Basic realm="lgsp"'})

    def guarded(request: Request) -> dict[str, str]:
        client = state.authenticate(request.headers.get("authorization"))
        state.throttle("client:" + client)
        return {k: v for k, v in request.query_params.items()}

    @app.get(f"{API_PREFIX}/ho-so")
    def list_dossiers(request: Request) -> dict[str, Any]:
        return _query_dossiers(state, guarded(request))

    @app.get(f"{API_PREFIX}/thu-tuc")
    def list_procedures(request: Request) -> dict[str, Any]:
        return _query_table(state, "thu_tuc", "ma_thu_tuc", guarded(request))

    @app.get(f"{API_PREFIX}/co-quan")
    def list_agencies(request: Request) -> dict[str, Any]:
        return _query_table(state, "co_quan", "ma_co_quan, hieu_luc_tu", guarded(request))

    return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="LGSP-style REST server over the generated TTHC dossiers")
    parser.add_argument("--data", required=True, help="directory with dossiers/tthc.sqlite (or the file itself)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--generate-sf", type=float, default=None,
                        help="generate the dossier database at this scale factor first if it is missing")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)
    if args.generate_sf is not None:
        try:
            resolve_db(args.data)
        except FileNotFoundError:
            dossiers.generate(args.data, seed=args.seed, sf=args.generate_sf)
    import uvicorn

    uvicorn.run(create_app(args.data), host=args.host, port=args.port, log_level="info")


if __name__ == "__main__":  # pragma: no cover
    main()
