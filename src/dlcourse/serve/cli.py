"""``dlcourse serve --model DIR [--host H] [--port N] [--backend torch|onnx]``."""

from __future__ import annotations

import argparse
import sys


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Add the ``serve`` subcommand."""
    parser = sub.add_parser(
        "serve",
        help="serve a saved text classifier over HTTP (needs the serve extra)",
        description="Run the sentiment service: POST /predict, GET /health, docs at /docs.",
    )
    parser.add_argument("--model", required=True, help="model folder (save_model_folder)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8000, help="port to listen on")
    parser.add_argument("--backend", choices=("torch", "onnx"), default="torch")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Load the model folder (failing now, not at the first request), then serve it."""
    try:
        import uvicorn

        from dlcourse.serve.app import create_app
    except ImportError as err:
        print(f"error: {err.name} is missing: pip install 'dlcourse[serve]'", file=sys.stderr)
        return 2
    import torch

    from dlcourse.serve.artifacts import ModelFolderError
    from dlcourse.serve.predictor import Predictor

    torch.set_num_threads(1)  # small models: one thread per request, uvicorn's pool runs several
    try:
        predictor = Predictor(args.model, backend=args.backend)
        predictor.predict(["a warm-up review"])  # the first call is slow: do it before serving
    except ModelFolderError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(
        f"Serving {args.model} ({args.backend}) on http://{args.host}:{args.port} "
        f"(docs at /docs); Ctrl+C stops.",
        flush=True,
    )
    uvicorn.run(create_app(predictor), host=args.host, port=args.port, log_level="warning")
    return 0
