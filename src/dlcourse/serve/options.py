"""The server's timeouts and limits (no dependencies: ``dlcourse serve --help`` shows them even
without the serve extra)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ServerOptions:
    """Timeouts (seconds) and limits of one server; defaults are those of ``dlcourse serve``."""

    timeout_keep_alive: float = 5.0
    timeout_request: float = 10.0
    timeout_shutdown: float = 5.0
    limit_connections: int = 1000
    backlog: int = 128  # also the most connections accepted in one go before any is checked
    max_header_bytes: int = 16 * 1024
