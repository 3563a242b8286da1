"""A test double of the ClickHouse HTTP interface over one chDB engine: `python -m tests.support.chdb_http`.

Test support, not product code. It lets unmodified clickhouse-connect (and clickhouse-migrations on top of
it) talk HTTP to the real ClickHouse engine from several OS processes at once, where no ClickHouse server
binary can be installed and embedded chDB admits only one process per data directory: this process owns
the directory and every other process is an HTTP client, as in Docker.

What it speaks (what clickhouse-connect 1.12 needs, read from its source):
- `GET /ping` (and `GET /` without a query) -> `Ok.`;
- `POST /` (or GET with `query=`): the SQL in the body, or in the `query` URL parameter with the body
  appended as its data; `INSERT ... FORMAT <fmt>` followed by data is streamed into the engine as raw
  bytes (`send_insert`); bodies may be chunked and lz4 / zstd / gzip / deflate encoded (Content-Encoding);
- URL parameters: `database`, `param_<name>` bindings, ClickHouse settings; transport parameters
  (`query_id`, `session_id`, `client_protocol_version`, `wait_end_of_query`, ...) are accepted and ignored;
- the response is the output of the FORMAT the query names (TabSeparated by default), uncompressed, with
  `X-ClickHouse-Summary`, `X-ClickHouse-Query-Id`, `X-ClickHouse-Timezone` and, for statements that
  produce a result set, `X-ClickHouse-Format`;
- errors: status 500, `X-ClickHouse-Exception-Code: N`, body `Code: N. DB::Exception: ... (NAME)`.

How: requests are serialized by one lock (no real concurrency); each request runs on a fresh chDB handle
of the one engine, so its settings, `USE` and readonly mode die with it and never leak into the next
request. A body with several statements is refused with code 62, as a server does.

Not modelled (see tests/test_server_mode.py): users, passwords and grants; concurrent queries; HTTP
sessions (`SET` via session_id does not persist); compressed responses; the Native protocol revision
negotiated by `client_protocol_version` (the client's probe fails here, so it falls back to revision 0);
the server's timezone is this process's (run it with TZ=UTC).
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import sys
import threading
import uuid
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import chdb

# URL parameters that steer the HTTP transport and are not engine settings.
TRANSPORT_PARAMS = frozenset({
    "query", "database", "query_id", "session_id", "session_timeout", "session_check", "client_protocol_version",
    "compress", "decompress", "wait_end_of_query", "buffer_size", "default_format", "user", "password",
    "quota_key", "role", "add_http_cors_header", "send_progress_in_http_headers", "http_headers_progress_interval_ms",
    "enable_http_compression", "http_zlib_compression_level",
})
_INSERT_HEAD = re.compile(rb"\s*(INSERT\s+INTO\s.+?)\s+FORMAT\s+(\w+)[ \t]*(?:\r?\n)?", re.IGNORECASE | re.DOTALL)
_TRAILING_FORMAT = re.compile(r"\bFORMAT\s+(\w+)\s*;?\s*$", re.IGNORECASE)
_ERROR_CODE = re.compile(r"Code: (\d+)\.")


class ClickHouseError(Exception):
    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code = code


def _engine_error(exc: Exception) -> ClickHouseError:
    text = str(exc)
    start = text.find("Code: ")
    if start >= 0:
        text = text[start:]
    match = _ERROR_CODE.match(text)
    if match:
        return ClickHouseError(int(match.group(1)), text.strip())
    return ClickHouseError(1001, f"Code: 1001. DB::Exception: {text.strip()} (STD_EXCEPTION)")


def _decode_body(data: bytes, encoding: str) -> bytes:
    """clickhouse-connect compresses each insert block on its own, so a body may be several frames."""
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return data
    if encoding == "lz4":
        import lz4.frame

        out, rest = [], data
        while rest:
            decompressor = lz4.frame.LZ4FrameDecompressor()
            out.append(decompressor.decompress(rest))
            rest = decompressor.unused_data
        return b"".join(out)
    if encoding == "zstd":
        try:
            from compression import zstd  # Python 3.14+
        except ImportError:
            from backports import zstd  # what clickhouse-connect itself uses before 3.14

        return zstd.decompress(data)  # reads across frames
    if encoding == "gzip":
        return gzip.decompress(data)
    if encoding == "deflate":
        return zlib.decompress(data)
    raise ClickHouseError(
        1001, f"Code: 1001. DB::Exception: Unknown Content-Encoding {encoding!r} (UNKNOWN_COMPRESSION_METHOD)")


def _quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


class Engine:
    """One chDB engine at `path`; `execute` runs one HTTP request's statement on a fresh handle."""

    def __init__(self, path: str):
        self.path = path
        self.lock = threading.Lock()
        self._owner = chdb.connect(path)  # keeps the engine open between requests
        self.timezone = self._owner.query("SELECT timezone()", "TabSeparated").bytes().decode().strip()

    def execute(self, sql: bytes, data: bytes | None, params: dict[str, str]) -> tuple[bytes, str | None, dict]:
        """Run one request: returns (body, result format or None, summary). Raises ClickHouseError."""
        if data:  # the URL holds the statement, the body its data (`INSERT ... FORMAT X` or `... VALUES`)
            sql = sql + b"\n" + data
        settings = {k: v for k, v in params.items() if k not in TRANSPORT_PARAMS and not k.startswith("param_")}
        bindings = {k[len("param_"):]: v for k, v in params.items() if k.startswith("param_")}
        insert = _INSERT_HEAD.match(sql)
        with self.lock:
            handle = chdb.connect(self.path)
            try:
                if params.get("database"):
                    handle.query(f"USE `{params['database']}`", "TabSeparated")
                # readonly last: under readonly=1 no later SET would be allowed.
                for name in sorted(settings, key=lambda n: n == "readonly"):
                    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
                        message = f"Code: 115. DB::Exception: Unknown setting '{name}'. (UNKNOWN_SETTING)"
                        raise ClickHouseError(115, message)
                    handle.query(f"SET {name} = {_quote(settings[name])}", "TabSeparated")
                if insert:
                    return self._insert(handle, insert.group(1).decode(), insert.group(2).decode(), sql[insert.end():])
                return self._query(handle, sql.decode(), bindings)
            except ClickHouseError:
                raise
            except Exception as exc:
                raise _engine_error(exc) from None
            finally:
                handle.close()

    @staticmethod
    def _insert(handle, head: str, fmt: str, payload: bytes) -> tuple[bytes, str | None, dict]:
        inserter = handle.send_insert(head, fmt)
        try:
            if payload:
                inserter.append(payload)
            result = inserter.finish()
        except BaseException:
            inserter.cancel()
            raise
        return b"", None, {"written_rows": str(result.rows_written), "written_bytes": str(result.bytes_written)}

    def _query(self, handle, sql: str, bindings: dict[str, str]) -> tuple[bytes, str | None, dict]:
        # A server parses exactly one statement per request; chDB would run them all.
        handle.query(f"SELECT formatQuerySingleLine({_quote(sql)}) FORMAT Null", "TabSeparated")
        named = _TRAILING_FORMAT.search(sql)
        if named:
            result = handle.query(sql, "TabSeparated", params=bindings)
            body, fmt = result.bytes() or b"", named.group(1)
        else:
            # With names a statement that yields a result set prints at least its header line; DDL prints
            # nothing. That tells whether to report X-ClickHouse-Format, as a server does.
            result = handle.query(sql, "TabSeparatedWithNames", params=bindings)
            body = result.bytes() or b""
            fmt = "TabSeparated" if body else None
            body = body[body.find(b"\n") + 1:] if body else b""
        summary = {"read_rows": str(result.rows_read()), "read_bytes": str(result.bytes_read())}
        return body, fmt, summary


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as clickhouse-connect's pool expects
    disable_nagle_algorithm = True  # TCP_NODELAY: without it every request waits ~40 ms for a delayed ACK
    engine: Engine

    def log_message(self, format, *args):  # noqa: A002 - quiet unless asked
        if self.server.verbose:
            super().log_message(format, *args)

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):  # noqa: N802
        url = urlsplit(self.path)
        if url.path.rstrip("/") == "/ping" or (url.path == "/" and "query=" not in url.query):
            self._send(200, b"Ok.\n", {"Content-Type": "text/plain; charset=UTF-8"})
        else:
            self.do_POST()

    def do_POST(self):  # noqa: N802
        url = urlsplit(self.path)
        params = dict(parse_qsl(url.query, keep_blank_values=True))
        query_id = params.get("query_id") or str(uuid.uuid4())
        base = {"X-ClickHouse-Query-Id": query_id, "X-ClickHouse-Timezone": self.engine.timezone}
        try:
            body = _decode_body(self._read_body(), self.headers.get("Content-Encoding", ""))
            if "query" in params:
                sql, data = params["query"].encode(), body
            else:
                sql, data = body, None
            if not sql.strip():
                raise ClickHouseError(62, "Code: 62. DB::Exception: Empty query. (SYNTAX_ERROR)")
            out, fmt, summary = self.engine.execute(sql, data, params)
        except Exception as exc:
            if not isinstance(exc, ClickHouseError):
                exc = _engine_error(exc)
            message = str(exc)
            self._send(500, (message + "\n").encode(), {
                **base, "X-ClickHouse-Exception-Code": str(exc.code), "Content-Type": "text/plain; charset=UTF-8"})
            return
        headers = {**base, "X-ClickHouse-Summary": json.dumps(summary), "Content-Type": "application/octet-stream"}
        if fmt:
            headers["X-ClickHouse-Format"] = fmt
        self._send(200, out, headers)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], path: str, verbose: bool = False):
        engine = Engine(path)
        handler = type("BoundHandler", (Handler,), {"engine": engine})
        super().__init__(address, handler)
        self.engine, self.verbose = engine, verbose


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.support.chdb_http", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--path", required=True, help="chDB data directory (owned by this process)")
    parser.add_argument("--verbose", action="store_true", help="log every request")
    args = parser.parse_args(argv)
    server = Server((args.host, args.port), args.path, args.verbose)
    # The first line on stdout announces the bound port, so a parent can pass --port 0.
    print(f"listening on {server.server_address[0]}:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
