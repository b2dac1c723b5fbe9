"""``dlcourse serve --model DIR [--host H] [--port N] [--backend torch|onnx] [timeouts, limit]``."""

from __future__ import annotations

import argparse
import sys

from dlcourse.serve.options import ServerOptions

DEFAULTS = ServerOptions()


def port_number(text: str) -> int:
    """An argparse type: a TCP port, 0 (any free port) to 65535."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port {port} is not in 0..65535")
    return port


def seconds(text: str) -> float:
    """An argparse type: a timeout over 0 and at most one hour."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 < value <= 3600:
        raise argparse.ArgumentTypeError(f"{text} s: a timeout must be over 0 and at most 3600")
    return value


def count(text: str) -> int:
    """An argparse type: a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value}: must be at least 1")
    return value


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Add the ``serve`` subcommand."""
    parser = sub.add_parser(
        "serve",
        help="serve a saved text classifier over HTTP (needs the serve extra)",
        description="Run the sentiment service: POST /predict, GET /health, the API's "
        "description at /openapi.json, docs at /docs (offline: Swagger UI's files come from "
        "the fastapi-offline package; without it /docs says so). SIGTERM or Ctrl-C stop it "
        "(exit status 0) after at most --timeout-shutdown seconds.",
    )
    parser.add_argument("--model", required=True, help="model folder (save_model_folder)")
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: %(default)s)"
    )
    parser.add_argument(
        "--port",
        type=port_number,
        default=8000,
        help="port to listen on, 0 for any free one (default: %(default)s)",
    )
    parser.add_argument(
        "--backend",
        choices=("torch", "onnx"),
        default="torch",
        help="torch runs the PyTorch model, onnx runs model.onnx with onnxruntime (default: "
        "%(default)s)",
    )
    parser.add_argument(
        "--timeout-keep-alive",
        type=seconds,
        default=DEFAULTS.timeout_keep_alive,
        metavar="S",
        help="close a connection that sends nothing for S seconds (before its first request "
        "or between two; default: %(default)s)",
    )
    parser.add_argument(
        "--timeout-request",
        type=seconds,
        default=DEFAULTS.timeout_request,
        metavar="S",
        help="a request's headers and body must arrive within S seconds of its first byte, "
        "or it gets 408 and the connection is closed (default: %(default)s)",
    )
    parser.add_argument(
        "--timeout-shutdown",
        type=seconds,
        default=DEFAULTS.timeout_shutdown,
        metavar="S",
        help="on SIGTERM or Ctrl-C, requests in progress get S seconds to finish; then the "
        "remaining connections are closed; a second Ctrl-C closes them at once (default: "
        "%(default)s)",
    )
    parser.add_argument(
        "--limit-connections",
        type=count,
        default=DEFAULTS.limit_connections,
        metavar="N",
        help="hold at most N connections (lowered to fit the open-file limit, ulimit -n); past "
        "it the connections that wait longest for their client are closed (default: %(default)s)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Load the model folder (failing now, not at the first request), listen, then serve."""
    try:
        from dlcourse.serve.app import create_app
        from dlcourse.serve.server import BindError, bind, serve, url_of
    except ImportError as err:
        print(f"error: {err.name} is missing: pip install 'dlcourse[serve]'", file=sys.stderr)
        return 2
    import torch

    from dlcourse.serve.artifacts import ModelFolderError
    from dlcourse.serve.predictor import Predictor

    options = ServerOptions(
        timeout_keep_alive=args.timeout_keep_alive,
        timeout_request=args.timeout_request,
        timeout_shutdown=args.timeout_shutdown,
        limit_connections=args.limit_connections,
    )
    torch.set_num_threads(1)  # small models: one thread per request, uvicorn's pool runs several
    try:
        predictor = Predictor(args.model, backend=args.backend)
        predictor.predict(["a warm-up review"])  # the first call is slow: do it before serving
        sock = bind(args.host, args.port, options.backlog)
    except (ModelFolderError, BindError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted before serving", file=sys.stderr)
        return 130
    url = url_of(sock, args.host)

    def started(limit: int) -> None:
        print(
            f"Serving {args.model} ({args.backend}) on {url} (docs at /docs, at most {limit} "
            "connections); Ctrl+C stops.",
            flush=True,
        )

    with sock:
        serve(create_app(predictor), sock, options, on_started=started)
    return 0
