"""LGSP REST connector: paged JSON endpoints behind OAuth2 client credentials -> Arrow tables.

The city's systems publish data through the LGSP gateway (``kho.sources.lgsp_api`` is the
local stand-in): ``POST /oauth/token`` with client credentials, then ``GET <endpoint>`` with a
Bearer token, answered by an envelope whose ``records_field`` (``du_lieu``) holds the rows.

The HTTP machinery is dlt's, not ours:

* :class:`dlt.sources.helpers.rest_client.RESTClient` drives the page loop (request, extract
  the records field, ask the paginator for the next request);
* dlt's retrying ``requests`` session (:class:`dlt.sources.helpers.requests.Client`) retries
  429 (waiting what ``Retry-After`` says), 5xx, timeouts and dropped connections with
  exponential backoff. Attempts, backoff, maximum delay and timeout are set explicitly here
  (:class:`RetryPolicy`, overridable per connection in ``extra``), so a stray dlt config file
  or ``RUNTIME__*`` variable cannot change how hard we hit a gateway;
* dlt's :class:`OAuth2ClientCredentials` fetches the token and renews it on its own expiry
  clock. It does not react to a 401, and gateways revoke or expire tokens early (restarts,
  clock skew), so :class:`RenewingClientCredentials` adds one thing: on a 401 it fetches a
  fresh token and re-sends that request once.

What is ours: two paging strategies (dlt's ``PageNumberPaginator`` for full snapshots, the
small :class:`KeysetPaginator` for the ``con_tro_tiep`` cursor), the incremental window
filter, and casting JSON values to the declared types (JSON has no dates, sends numbers for
text columns and nests objects).

Incremental reads use the keyset cursor, never ``page=``: the LGSP reveals late status
changes while a client reads, and offset paging over a moving result set skips or repeats
rows. The keyset position (``cap_nhat_tu`` + ``sau_id``) sees each version of a row at most
once; a version that lands behind the position is caught by the next run's lookback.

Connection (Airflow, see :mod:`kho.ingest.connections`): host/port/schema give the base URL,
``login`` / ``password`` the OAuth client id / secret. ``extra`` may set ``token_path``
(default ``/oauth/token``; a full URL is used as is), ``max_attempts``, ``backoff_factor``,
``max_retry_delay`` and ``timeout`` (seconds).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, ClassVar

import pyarrow as pa
from dlt.common.configuration.specs import RuntimeConfiguration
from dlt.common.configuration.specs.base_configuration import configspec
from dlt.sources.helpers.requests import Client
from dlt.sources.helpers.rest_client import RESTClient
from dlt.sources.helpers.rest_client.auth import OAuth2ClientCredentials
from dlt.sources.helpers.rest_client.paginators import BasePaginator, PageNumberPaginator
from requests import HTTPError, PreparedRequest, Request, RequestException, Response, Session
from requests.hooks import default_hooks

from kho.ingest.connectors.base import Connector, CursorWindow, SourceSchemaError
from kho.ingest.registry import ApiOptions
from kho.ingest.types import ARROW_TYPES

if TYPE_CHECKING:
    from kho.ingest.connections import Connection
    from kho.ingest.registry import ColumnSpec, ObjectConfig, SourceConfig
    from kho.settings import Settings

log = logging.getLogger(__name__)

DEFAULT_TOKEN_PATH = "/oauth/token"
CHUNK_ROWS = 10_000          # rows per yielded table: few Arrow objects, bounded memory
LOG_EVERY_PAGES = 10
# Sent as the cursor when a window has no lower bound (first load): the keyset order needs one.
UNBOUNDED_LOWER = "1900-01-01 00:00:00"
# Sector systems keep Vietnamese local time without a zone; a zoned value is brought to it.
LOCAL_TZ = timezone(timedelta(hours=7))
_INT_RANGE = {"int": (-(2**31), 2**31 - 1), "bigint": (-(2**63), 2**63 - 1)}
_INT_TEXT = re.compile(r"^[+-]?\d+$")
_TRUE = {"1", "true", "t", "yes", "y"}
_FALSE = {"0", "false", "f", "no", "n"}


class SourceApiError(RuntimeError):
    """The API failed in a way retrying did not fix (bad parameter, server error, broken envelope)."""


class SourceAuthError(SourceApiError, PermissionError):
    """The gateway refused our client credentials or a freshly issued token."""


# -- HTTP: retry policy, auth, paging ------------------------------------------------------

@dataclass(frozen=True)
class RetryPolicy:
    """How dlt's session retries 429 / 5xx / connection errors (explicit, never from dlt config).

    Defaults: 8 attempts with 1, 2, 4, ... s backoff capped at 60 s; a ``Retry-After`` header
    replaces the backoff (capped the same). A gateway outage of ~2 minutes is ridden out; a
    longer one fails the task, which Airflow retries later.
    """

    max_attempts: int = 8
    backoff_factor: float = 1.0
    max_retry_delay: float = 60.0
    timeout: float = 60.0

    @classmethod
    def from_extra(cls, extra: Mapping[str, Any]) -> RetryPolicy:
        """Connection ``extra`` values override the defaults (URI query values arrive as text)."""
        given = {}
        for f in fields(cls):
            if extra.get(f.name) not in (None, ""):
                given[f.name] = int(extra[f.name]) if f.name == "max_attempts" else float(extra[f.name])
        return cls(**given)

    def session(self) -> Session:
        """A dlt retrying session; ``raise_for_status`` off so RESTClient's own error hook decides.

        ``Client.__init__`` is wrapped by dlt's config injection, which resolves a
        ``RuntimeConfiguration`` through every config provider, Airflow Variables included
        (an Airflow import and a metadata-database query per connector). Every value is given
        here, so the undecorated initialiser is called instead.
        """
        client = Client.__new__(Client)
        init = getattr(Client.__init__, "__wrapped__", Client.__init__)
        init(client, request_timeout=self.timeout, raise_for_status=False, request_max_attempts=self.max_attempts,
             request_backoff_factor=self.backoff_factor, request_max_retry_delay=self.max_retry_delay,
             respect_retry_after_header=True)
        return client.session


@configspec
class RenewingClientCredentials(OAuth2ClientCredentials):
    """dlt's client-credentials auth, plus: a 401 on an API call renews the token and re-sends once.

    dlt renews only when its own clock says the token expired (``expires_in``); a server that
    restarted, revoked the token or runs a faster clock answers 401 before that, and the run
    would fail mid-way. The retry re-sends a copy of the request without this hook, so a
    token the server rejects twice fails instead of looping.
    """

    def __call__(self, request: PreparedRequest) -> PreparedRequest:
        request = super().__call__(request)
        request.register_hook("response", self._renew_on_401)
        return request

    def _renew_on_401(self, response: Response, **send_kwargs: Any) -> Response | None:
        if response.status_code != 401:
            return None
        log.info("token rejected by %s (HTTP 401); fetching a new one", response.request.url.split("?")[0])
        response.content  # noqa: B018 - read the body so the connection can be reused
        response.close()
        self.obtain_token()
        original = response.request
        # the original too: dlt's retry of a later 429/5xx re-sends that object
        original.headers["Authorization"] = f"Bearer {self.access_token}"
        again = original.copy()
        again.hooks = default_hooks()
        renewed = self.session.send(again, **send_kwargs)
        renewed.history.insert(0, response)
        return renewed

    def obtain_token(self) -> None:
        """dlt's token request, with a refusal turned into an error that says what to check."""
        try:
            super().obtain_token()
        except HTTPError as exc:
            status = exc.response.status_code if exc.response is not None else None
            if status not in (400, 401, 403):
                raise
            raise SourceAuthError(
                f"the token endpoint {self.access_token_url} refused client id {self.client_id!r}: "
                f"HTTP {status} {_error_text(exc.response)}") from None
        if not self.access_token or self.access_token == "None":
            raise SourceAuthError(f"the token endpoint {self.access_token_url} answered without an access_token")


class KeysetPaginator(BasePaginator):
    """Follows the envelope's keyset cursor (``con_tro_tiep`` = ``{cap_nhat_tu, sau_id}``).

    Every key of the cursor object is sent as a query parameter of the next request (a scalar
    cursor goes to ``resume_param``). Stops on a null cursor, an empty page, or once a page
    ends at or after ``stop_at``: rows come in cursor order, so nothing later can fall inside
    the window (those rows are the next run's). A cursor that does not move is an API fault
    and raises instead of looping forever.
    """

    def __init__(self, next_cursor_field: str, resume_param: str | None, cursor_column: str | None,
                 stop_at: str | None) -> None:
        super().__init__()
        self.next_cursor_field = next_cursor_field
        self.resume_param = resume_param
        self.cursor_column = cursor_column
        self.stop_at = stop_at
        self._next: dict[str, Any] | None = None

    def update_state(self, response: Response, data: list[Any] | None = None) -> None:
        nxt = response.json().get(self.next_cursor_field)
        if not data or nxt in (None, "", {}):
            self._has_next_page = False
            return
        if not isinstance(nxt, dict):
            if not self.resume_param:
                raise SourceApiError(f"{self.next_cursor_field} is {nxt!r}, not an object, and the registry "
                                     "declares no api.resume_param to send it as")
            nxt = {self.resume_param: nxt}
        if nxt == self._next:
            raise SourceApiError(f"the API returned the same {self.next_cursor_field} twice ({nxt}); "
                                 "its keyset cursor does not advance")
        self._next = nxt
        last = data[-1].get(self.cursor_column) if self.cursor_column and isinstance(data[-1], dict) else None
        if self.stop_at is not None and last is not None and _cursor_text(last) >= self.stop_at:
            self._has_next_page = False

    def update_request(self, request: Request) -> None:
        if self._next:
            request.params = {**(request.params or {}), **self._next}


# -- the connector ---------------------------------------------------------------------------

class RestConnector(Connector):
    """Reads ``lgsp_api`` objects: full snapshots by page number, incremental ones by keyset cursor."""

    transports: ClassVar[tuple[str, ...]] = ("lgsp_api",)

    def __init__(self, source: SourceConfig, connection: Connection, settings: Settings | None) -> None:
        super().__init__(source, connection, settings)  # type: ignore[arg-type] - settings unused here
        self._client: RESTClient | None = None     # built on first read: describe() needs no network
        self._session: Session | None = None

    # -- public API --------------------------------------------------------------------------
    def describe(self, obj: ObjectConfig) -> dict[str, Any]:
        """Endpoint, token URL and paging of ``obj``; the base URL never carries credentials."""
        api = _api(obj)
        keyset = obj.load_mode == "incremental" and bool(api.cursor_param and api.next_cursor_field)
        return {**super().describe(obj), "url": self._base_url() + obj.source, "token_url": self._token_url(),
                "client_id": self.connection.login, "load_mode": obj.load_mode,
                "paging": "keyset" if keyset else "page", "page_size": api.page_size}

    def read(self, obj: ObjectConfig, window: CursorWindow | None = None) -> Iterator[pa.Table]:
        """Yield ``obj``'s rows as typed Arrow tables of up to :data:`CHUNK_ROWS` rows.

        Incremental objects keep only rows whose cursor is inside ``window`` (``None``: all).
        A declared column absent from every record of the first page: that page's table is
        yielded without it (what the source now delivers), then :class:`SourceSchemaError`.
        """
        incremental = obj.load_mode == "incremental"
        window = (window or CursorWindow()) if incremental else None
        where = f"{self.source.system}.{obj.name}"
        buffer: list[dict[str, Any]] = []
        pages = rows_read = rows_kept = 0
        for records in self._pages(obj, window):
            pages += 1
            rows_read += len(records)
            if pages == 1 and records:
                missing = _missing_columns(obj, records)
                if missing:
                    yield _to_table([r for r in records if _keep(obj, window, r)], obj, where, skip=missing)
                    raise SourceSchemaError(
                        f"{where}: declared column(s) {', '.join(map(repr, missing))} missing from every record "
                        f"of the first page of {self._base_url()}{obj.source} (removed or renamed at the "
                        f"source?); fix expected_schema or ask the source owner")
            kept = [r for r in records if _keep(obj, window, r)]
            rows_kept += len(kept)
            buffer.extend(kept)
            if len(buffer) >= CHUNK_ROWS:
                yield _to_table(buffer, obj, where)
                buffer = []
            if pages % LOG_EVERY_PAGES == 0:
                log.info("%s: %d pages, %d rows read, %d kept", where, pages, rows_read, rows_kept)
        if buffer:
            yield _to_table(buffer, obj, where)
        log.info("%s: done, %d pages, %d rows read, %d kept%s", where, pages, rows_read, rows_kept,
                 f" (window {window.lower} .. {window.upper})" if window else "")

    def close(self) -> None:
        """Close the HTTP session (its pooled connections); a later read opens a new one."""
        if self._session is not None:
            self._session.close()
        self._client = self._session = None

    # -- HTTP ----------------------------------------------------------------------------------
    def _base_url(self) -> str:
        return self.connection.base_url().rstrip("/")

    def _token_url(self) -> str:
        path = str(self.connection.extra.get("token_path") or DEFAULT_TOKEN_PATH)
        return path if re.match(r"^https?://", path) else self._base_url() + "/" + path.lstrip("/")

    def _rest_client(self) -> RESTClient:
        """One dlt REST client per connector: one session, one token, reused across objects."""
        if self._client is None:
            if not self.connection.login or not self.connection.password:
                raise SourceAuthError("the connection needs the OAuth client id as login and the client secret "
                                      "as password")
            self._session = RetryPolicy.from_extra(self.connection.extra).session()
            auth = RenewingClientCredentials(access_token_url=self._token_url(), client_id=self.connection.login,
                                             client_secret=self.connection.password, session=self._session)
            self._client = RESTClient(base_url=self._base_url(), auth=auth, session=self._session,
                                      config=RuntimeConfiguration(http_show_error_body=True,
                                                                  http_max_error_body_length=500))
        return self._client

    def _pages(self, obj: ObjectConfig, window: CursorWindow | None) -> Iterator[list[dict[str, Any]]]:
        """The records of each page, HTTP failures turned into errors naming the connection."""
        api = _api(obj)
        params: dict[str, Any] = {"page_size": api.page_size}
        paginator: BasePaginator
        if window is not None and api.cursor_param and api.next_cursor_field:
            params[api.cursor_param] = window.lower or UNBOUNDED_LOWER
            paginator = KeysetPaginator(api.next_cursor_field, api.resume_param, obj.cursor_column, window.upper)
        else:
            if window is not None and api.cursor_param:  # no keyset cursor declared: filter, then page numbers
                params[api.cursor_param] = window.lower or UNBOUNDED_LOWER
            paginator = PageNumberPaginator(base_page=1, page_param="page", total_path="so_trang")
        try:
            for page in self._rest_client().paginate(obj.source, params=params, paginator=paginator,
                                                     data_selector=api.records_field):
                if not page:
                    _check_envelope(page.response, api.records_field)
                yield list(page)
        except SourceAuthError as exc:
            raise SourceAuthError(f"connection {self.source.connection_id!r} ({self.connection.redacted()}): {exc}; "
                                  f"check the client id (login) and secret (password) of Airflow connection "
                                  f"{self.source.connection_id}") from None
        except HTTPError as exc:
            status = exc.response.status_code if exc.response is not None else None
            kind = SourceAuthError if status in (401, 403) else SourceApiError
            raise kind(f"connection {self.source.connection_id!r}: GET {self._base_url()}{obj.source} failed "
                       f"with HTTP {status} {_error_text(exc.response)} (after retries where retrying helps)") from exc
        except RequestException as exc:
            raise SourceApiError(f"connection {self.source.connection_id!r}: cannot reach {self._base_url()} "
                                 f"({type(exc).__name__}: {exc})") from exc


# -- envelope and row helpers ----------------------------------------------------------------

def _api(obj: ObjectConfig) -> ApiOptions:
    return obj.api or ApiOptions()


def _error_text(response: Response | None) -> str:
    """The server's own words from an error body (envelope ``mo_ta`` or OAuth ``error``), short."""
    if response is None:
        return ""
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(body, dict):
        parts = [str(body[k]) for k in ("error", "error_description", "mo_ta") if body.get(k)]
        return "; ".join(parts)[:300]
    return str(body)[:200]


def _check_envelope(response: Response, records_field: str) -> None:
    """An empty page must still be a success envelope: catch 200-with-error and a renamed field."""
    body = response.json()
    if not isinstance(body, dict):
        raise SourceApiError(f"{response.url}: expected a JSON object envelope, got {type(body).__name__}")
    code = body.get("ma_loi")
    if code not in (None, "0", 0):
        raise SourceApiError(f"{response.url}: the API answered ma_loi={code!r}: {body.get('mo_ta')}")
    if records_field not in body:
        raise SourceApiError(f"{response.url}: the envelope has no {records_field!r} field "
                             f"(keys: {', '.join(body)}); check api.records_field")


def _cursor_text(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


def _keep(obj: ObjectConfig, window: CursorWindow | None, record: dict[str, Any]) -> bool:
    if window is None or obj.cursor_column is None:
        return True
    value = record.get(obj.cursor_column)
    return window.contains(None if value is None else _cursor_text(value))


def _missing_columns(obj: ObjectConfig, records: list[dict[str, Any]]) -> list[str]:
    """Declared columns that no record of the page has as a key (``null`` values count as present)."""
    seen: set[str] = set()
    for record in records:
        seen.update(record)
    return [c.name for c in obj.expected_schema if c.name not in seen]


# -- JSON values -> declared Arrow types -----------------------------------------------------

def _to_table(records: list[dict[str, Any]], obj: ObjectConfig, where: str,
              skip: Iterable[str] = ()) -> pa.Table:
    """Records -> table: declared columns in declared order (typed), then extra keys as text."""
    skipped = set(skip)
    declared = [c for c in obj.expected_schema if c.name not in skipped]
    names = {c.name for c in obj.expected_schema}
    extras = list(dict.fromkeys(k for r in records for k in r if k not in names))
    key_cols = [k for k in obj.primary_key or obj.natural_key if k not in skipped]
    arrays: dict[str, pa.Array] = {}
    for spec in declared:
        arrays[spec.name] = _column(records, spec, where, key_cols)
    for name in extras:  # undeclared: text, as files land; the loader's schema policy decides
        arrays[name] = pa.array([_as_text(r.get(name)) for r in records], pa.string())
    return pa.table(arrays)


def _column(records: list[dict[str, Any]], spec: ColumnSpec, where: str, key_cols: list[str]) -> pa.Array:
    cast = _CASTS[spec.type]
    values = [r.get(spec.name) for r in records]
    if spec.type == "string" and all(v is None or isinstance(v, str) for v in values):
        return pa.array(values, pa.string())  # the common case, no per-value work
    out: list[Any] = []
    for record, value in zip(records, values):
        try:
            out.append(None if value is None else cast(value, spec.type))
        except (ValueError, TypeError, InvalidOperation, OverflowError) as exc:
            row = ", ".join(f"{k}={record.get(k)!r}" for k in key_cols)
            raise SourceSchemaError(
                f"{where}: column {spec.name!r} is declared {spec.type} but the API returned {value!r}"
                f"{f' (row {row})' if row else ''}: {exc}. Fix expected_schema (a retyped column needs a "
                f"data engineer's decision) or ask the source owner") from None
    return pa.array(out, ARROW_TYPES[spec.type])


def _as_text(value: Any) -> str | None:
    """JSON value -> its text: numbers as written, booleans as ``true``/``false``, nesting as JSON."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (bool, dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value) if isinstance(value, int) else repr(value)


def _blank(value: Any) -> bool:
    return isinstance(value, str) and not value.strip()


def _as_int(value: Any, declared: str) -> int | None:
    if isinstance(value, bool):
        raise TypeError("a boolean is not an integer")
    if _blank(value):
        return None
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError("has a fraction")
        value = int(value)
    elif isinstance(value, str):
        text = value.strip()
        if not _INT_TEXT.match(text):
            raise ValueError("not an integer")
        value = int(text)
    elif not isinstance(value, int):
        raise TypeError(f"a JSON {type(value).__name__} is not an integer")
    low, high = _INT_RANGE[declared]
    if not low <= value <= high:
        raise OverflowError(f"outside the {declared} range")
    return value


def _as_double(value: Any, _declared: str) -> float | None:
    if isinstance(value, bool) or isinstance(value, (dict, list)):
        raise TypeError(f"a JSON {type(value).__name__} is not a number")
    if _blank(value):
        return None
    return float(value.strip() if isinstance(value, str) else value)


def _as_decimal(value: Any, _declared: str) -> Decimal | None:
    if isinstance(value, bool) or isinstance(value, (dict, list)):
        raise TypeError(f"a JSON {type(value).__name__} is not a number")
    if _blank(value):
        return None
    number = Decimal(value.strip() if isinstance(value, str) else repr(value) if isinstance(value, float) else value)
    target: pa.Decimal128Type = ARROW_TYPES["decimal"]
    exponent = number.as_tuple().exponent
    if not number.is_finite() or (isinstance(exponent, int) and -exponent > target.scale):
        raise ValueError(f"does not fit decimal({target.precision},{target.scale}) without rounding")
    return number


def _as_date(value: Any, _declared: str) -> date | None:
    if not isinstance(value, str):
        raise TypeError(f"a JSON {type(value).__name__} is not a date")
    text = value.strip()
    if not text:
        return None
    if re.fullmatch(r"\d{1,2}/\d{1,2}/\d{4}", text):
        return datetime.strptime(text, "%d/%m/%Y").date()
    return date.fromisoformat(text)


def _as_timestamp(value: Any, _declared: str) -> datetime | None:
    if not isinstance(value, str):
        raise TypeError(f"a JSON {type(value).__name__} is not a timestamp")
    text = value.strip()
    if not text:
        return None
    if re.fullmatch(r"\d{1,2}/\d{1,2}/\d{4}( \d{1,2}:\d{2}(:\d{2})?)?", text):
        fmt = "%d/%m/%Y" + ("" if " " not in text else " %H:%M:%S" if text.count(":") == 2 else " %H:%M")
        return datetime.strptime(text, fmt)
    moment = datetime.fromisoformat(text)
    return moment.astimezone(LOCAL_TZ).replace(tzinfo=None) if moment.tzinfo else moment


def _as_bool(value: Any, _declared: str) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if not text:
            return None
        if text in _TRUE or text in _FALSE:
            return text in _TRUE
    raise ValueError("not a boolean (true/false, 1/0)")


_CASTS: dict[str, Callable[[Any, str], Any]] = {
    "string": lambda v, _t: _as_text(v), "int": _as_int, "bigint": _as_int, "double": _as_double,
    "decimal": _as_decimal, "date": _as_date, "timestamp": _as_timestamp, "boolean": _as_bool,
}
