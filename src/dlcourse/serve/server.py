"""Running the app with uvicorn, hardened against idle, slow and stalled clients.

uvicorn alone times out a connection only between two requests (``timeout_keep_alive``): a
socket that connects and sends nothing, or half a request, holds a file descriptor forever,
and a server that runs out of descriptors logs a traceback per ``accept()``. Here:

* a connection that sends nothing for ``timeout_keep_alive`` seconds (before its first request
  or between two) is closed, and one whose request (headers and body) has not fully arrived
  ``timeout_request`` seconds after its first byte gets ``408`` and is closed;
* at most ``limit_connections`` connections are held (lowered to fit ``ulimit -n``, whose soft
  limit is first raised to the hard one); past it the connection that has waited longest for
  its client (idle ones first) is closed, and a newcomer is refused with ``503`` only when every
  connection is busy with a request;
* SIGTERM or Ctrl-C stop accepting, give requests in progress ``timeout_shutdown`` seconds,
  then close what is left and return (``dlcourse serve`` exits 0); a second Ctrl-C skips the
  wait. No traceback either way;
* repeated log lines (too many connections, out of descriptors, invalid requests) are written
  once per minute with a count, not once per socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import logging
import signal
import socket
import threading
import time
from collections.abc import Callable, Generator
from typing import Any, ClassVar

import h11
import uvicorn
from starlette.requests import ClientDisconnect
from uvicorn.protocols.http.h11_impl import H11Protocol

from dlcourse.serve.options import ServerOptions

log = logging.getLogger("uvicorn.error")

FD_RESERVE = 64  # descriptors kept for the process itself (files, pipes, the listening socket)
LOG_EVERY_S = 60.0


class RateLimitFilter(logging.Filter):
    """Lets each message (by its format string) through once per ``every`` seconds; the next
    one that passes says how many were left out."""

    def __init__(self, every: float = LOG_EVERY_S) -> None:
        super().__init__()
        self.every = every
        self.seen: dict[str, tuple[float, int]] = {}
        self.lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        key, now = str(record.msg), time.monotonic()
        with self.lock:
            last, skipped = self.seen.get(key, (-float("inf"), 0))
            if now - last < self.every:
                self.seen[key] = (last, skipped + 1)
                return False
            self.seen[key] = (now, 0)
        if skipped:
            record.msg = f"{record.msg} ({skipped} more like this in the last {self.every:.0f} s)"
        return True


_RATE_LIMIT = RateLimitFilter()


def raise_fd_limit() -> int:
    """Raise the soft limit on open files to the hard one; return the soft limit now."""
    try:
        import resource
    except ImportError:  # Windows: no such limit to raise
        return 1 << 20
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
    if soft == resource.RLIM_INFINITY:
        return 1 << 20
    if target > soft:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
    return soft


def connection_limit(options: ServerOptions, nofile: int) -> int:
    """``options.limit_connections``, lowered so that the connections, two bursts of accepted
    connections not yet checked (``backlog`` each) and the process's own files fit in
    ``nofile`` descriptors."""
    spare = nofile - 2 * options.backlog - FD_RESERVE
    return max(1, min(options.limit_connections, spare))


IDLE, READING, BUSY = "idle", "reading", "busy"  # waiting for a request / for its end / app


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline on every wait for the client, and a cap on the
    number of connections. Subclassed per server with :func:`guarded_protocol`."""

    options: ClassVar[ServerOptions] = ServerOptions()
    limit: ClassVar[int] = 1000

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self._timer: asyncio.TimerHandle | None = None
        self._phase, self._since = IDLE, 0.0
        super().connection_made(transport)
        self._enter(IDLE)
        if len(self.connections) > self.limit:
            self._make_room()

    def _enter(self, phase: str) -> None:
        self._phase, self._since = phase, self.loop.time()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        seconds = {IDLE: self.options.timeout_keep_alive, READING: self.options.timeout_request}
        if phase in seconds:
            self._timer = self.loop.call_later(seconds[phase], self._expire)

    def data_received(self, data: bytes) -> None:
        if self._phase == IDLE:
            self._enter(READING)
        super().data_received(data)
        self._follow()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._follow()

    def _follow(self) -> None:
        """Move to the phase that h11's state says: a request begun but not whole (READING),
        nothing begun (IDLE), or a whole request in the app's hands (BUSY)."""
        if self.transport.is_closing():
            want = BUSY
        elif self.conn.their_state is h11.SEND_BODY:
            want = READING
        elif self.conn.their_state is h11.IDLE:
            want = READING if self.conn.trailing_data[0] else IDLE
        else:
            want = BUSY
        if want != self._phase:
            self._enter(want)

    def _expire(self) -> None:
        """The client let a deadline pass: close (with a 408 when a request was begun)."""
        self._timer = None
        if self.transport.is_closing():
            return
        if self._phase == READING and not (self.cycle is not None and self.cycle.response_started):
            seconds = self.options.timeout_request
            log.info("closed connections that did not send a whole request within %s s", seconds)
            self._answer(408, f"the request did not arrive within {seconds:g} s")
        self._close()

    def _answer(self, status: int, detail: str) -> None:
        """Write a JSON answer and ``connection: close`` directly (no ASGI, h11 bypassed)."""
        body = json.dumps({"detail": detail}).encode()
        reason = {408: "Request Timeout", 503: "Service Unavailable"}[status]
        head = (
            f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\n"
            f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
        )
        with contextlib.suppress(Exception):
            self.transport.write(head.encode() + body)

    def _close(self) -> None:
        with contextlib.suppress(h11.LocalProtocolError):
            self.conn.send(h11.ConnectionClosed())
        self.transport.close()

    def _make_room(self) -> None:
        """Over the limit: close the connection that has waited longest for its client (an
        idle one before one with a partial request), or refuse this one if all are busy."""
        live = [c for c in self.connections if not c.transport.is_closing()]
        if len(live) <= self.limit:  # enough are closing already
            return
        waiting = [c for c in live if c is not self and getattr(c, "_phase", BUSY) != BUSY]
        if waiting:
            victim = min(waiting, key=lambda c: (c._phase != IDLE, c._since))
            log.warning(
                "too many connections (limit %d): closing the ones that wait longest for their "
                "client",
                self.limit,
            )
            victim._close()
        else:
            log.warning("too many connections (limit %d), all busy: refusing new ones", self.limit)
            self._answer(503, "too many connections: try again later")
            self._close()

    def shutdown(self) -> None:
        """Graceful shutdown: idle connections and partial requests are closed now (a request
        whose headers have not arrived will not be served); requests in progress finish."""
        if self._phase != BUSY and (self.cycle is None or self.cycle.response_complete):
            self._enter(BUSY)
            self._close()
            return
        super().shutdown()


def guarded_protocol(options: ServerOptions, limit: int) -> type[GuardedH11Protocol]:
    """A protocol class carrying this server's options."""
    return type("GuardedH11Protocol", (GuardedH11Protocol,), {"options": options, "limit": limit})


class QuietApp:
    """The outermost ASGI layer: a client that went away, or a request cancelled when the
    shutdown timeout ran out, ends quietly instead of as a logged traceback."""

    def __init__(self, app: Callable[..., Any]) -> None:
        self.app, self.stopping = app, False

    async def __call__(self, scope, receive, send) -> None:
        try:
            await self.app(scope, receive, send)
        except ClientDisconnect:
            pass
        except asyncio.CancelledError:
            if not self.stopping:
                raise


class Server(uvicorn.Server):
    """uvicorn's server with a bounded, quiet shutdown, signals that end in a normal return
    (no re-raised SIGINT or SIGTERM), and rate-limited logs of running out of descriptors."""

    def __init__(self, config: uvicorn.Config, app: QuietApp, options: ServerOptions) -> None:
        super().__init__(config)
        self.app, self.options = app, options
        self.on_started: Callable[[], None] | None = None

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        handled = (signal.SIGINT, signal.SIGTERM)
        original = {sig: signal.signal(sig, self.handle_exit) for sig in handled}
        try:
            yield
        finally:
            for sig, handler in original.items():
                signal.signal(sig, handler)

    def handle_exit(self, sig: int, frame: Any) -> None:
        if self.should_exit:
            self.force_exit = True
        self.should_exit = True

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        asyncio.get_running_loop().set_exception_handler(self._loop_exception)
        await super().startup(sockets=sockets)
        if self.started and self.on_started is not None:
            self.on_started()

    def _loop_exception(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        err = context.get("exception")
        if isinstance(err, OSError) and err.errno in (errno.EMFILE, errno.ENFILE):
            log.warning("out of file descriptors: new connections wait (%s)", err.strerror)
            return
        loop.default_exception_handler(context)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for server in self.servers:
            server.close()
        for connection in list(self.server_state.connections):
            connection.shutdown()
        state = self.server_state
        deadline = time.monotonic() + self.options.timeout_shutdown
        while (state.connections or state.tasks) and not self.force_exit:
            if time.monotonic() > deadline:
                break
            await asyncio.sleep(0.05)
        if state.connections or state.tasks:
            why = (
                "at a second signal"
                if self.force_exit
                else f"after {self.options.timeout_shutdown} s"
            )
            log.warning(
                "shutdown: closing %d connection(s) still open %s", len(state.connections), why
            )
            self.app.stopping = True
            for connection in list(state.connections):
                connection.transport.close()
            await asyncio.sleep(0.1)  # the requests see the disconnection and end
            for task in list(state.tasks):
                task.cancel()
            if state.tasks:
                await asyncio.wait(list(state.tasks), timeout=1.0)
        # The app has no shutdown work: this is quick (asyncio's TimeoutError differs on 3.10).
        with contextlib.suppress(asyncio.TimeoutError, TimeoutError):
            await asyncio.wait_for(self.lifespan.shutdown(), timeout=1.0)


class BindError(OSError):
    """The address cannot be listened on."""


def bind(host: str, port: int, backlog: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (``port`` 0: any free port)."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        sock = socket.socket(family, kind, proto)
    except OSError as err:
        raise BindError(f"cannot listen on {host}:{port}: {err.strerror or err}") from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(backlog)
    except OSError as err:
        sock.close()
        raise BindError(f"cannot listen on {host}:{port}: {err.strerror or err}") from None
    return sock


def url_of(sock: socket.socket, host: str) -> str:
    """``http://host:port`` for a bound socket, with an IPv6 address in brackets."""
    port = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def serve(
    app: Callable[..., Any],
    sock: socket.socket,
    options: ServerOptions,
    on_started: Callable[[int], None] | None = None,
) -> None:
    """Serve ``app`` on the listening ``sock`` until SIGTERM or Ctrl-C; returns normally.

    ``on_started`` gets the connection limit once the server accepts connections.
    """
    limit = connection_limit(options, raise_fd_limit())
    quiet = QuietApp(app)
    config = uvicorn.Config(
        quiet,
        http=guarded_protocol(options, limit),
        lifespan="on",
        log_level="warning",
        timeout_keep_alive=options.timeout_keep_alive,  # type: ignore[arg-type]
        backlog=options.backlog,
        h11_max_incomplete_event_size=options.max_header_bytes,
    )
    log.addFilter(_RATE_LIMIT)
    if limit < options.limit_connections:
        log.warning(
            "at most %d connections (not %d): the open-file limit (ulimit -n) allows no more",
            limit,
            options.limit_connections,
        )
    server = Server(config, quiet, options)
    if on_started is not None:
        server.on_started = lambda: on_started(limit)
    server.run(sockets=[sock])
