"""The sentiment service: ``POST /predict``, ``GET /health``, the API's description at
``/openapi.json`` and interactive docs at ``/docs``.

Needs the ``serve`` extra (fastapi, uvicorn). Bad requests get a 4xx answer with a
``detail`` message and the server keeps serving.

The docs page loads nothing from the internet: Swagger UI's files come from the
``fastapi-offline`` package when it is installed; without it ``/docs`` answers 404 and says so
(``/openapi.json`` is always there).

``validation_answer`` and ``create_app`` are written out in the cells of
``PyTorch/08_NLP_Text/01_text_classification_deployment.ipynb``; these are the copies
``dlcourse serve`` runs, and ``tests/test_serve_notebook.py`` keeps them equal to the notebook's.

Heavy requests do not starve light ones: a request whose texts hold more than
``Limits.heavy_chars`` characters in all waits for one of ``Limits.heavy_slots`` slots before
its prediction runs, while lighter requests run at once.
"""

import asyncio
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Annotated

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field, StrictStr
from starlette.concurrency import run_in_threadpool

from dlcourse.serve.predictor import Predictor

DOCS_ASSETS = "/docs-assets"


@dataclass(frozen=True)
class Limits:
    """What one request may hold, and how many heavy requests are predicted at once."""

    max_texts: int = 64
    max_chars: int = 20_000
    max_body_bytes: int = 1_000_000
    heavy_chars: int = 20_000
    heavy_slots: int = 1


def docs_assets() -> Path | None:
    """The folder of Swagger UI's and ReDoc's files (package ``fastapi-offline``), or None."""
    try:
        folder = Path(str(resources.files("fastapi_offline") / "static"))
    except (ImportError, TypeError):
        return None
    return folder if (folder / "swagger-ui-bundle.js").is_file() else None


class BodyLimit:
    """ASGI middleware: answer 413 to bodies over ``max_bytes``, announced or streamed.

    A streamed body is cut off at the limit: the application sees the end of an (invalid)
    body, and whatever it answers is replaced by the 413.
    """

    def __init__(self, app, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"0")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await self._reject(scope, receive, send)
            return
        received, too_large = 0, False

        async def limited_receive():
            nonlocal received, too_large
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                too_large = True
                return {"type": "http.request", "body": b"", "more_body": False}
            return message

        async def guarded_send(message) -> None:
            if too_large:
                if message["type"] == "http.response.start":
                    await self._reject(scope, receive, send)
                return
            await send(message)

        await self.app(scope, limited_receive, guarded_send)

    async def _reject(self, scope, receive, send) -> None:
        detail = f"request body over {self.max_bytes:,} bytes: send fewer or shorter texts"
        await JSONResponse({"detail": detail}, status_code=413)(scope, receive, send)


def validation_answer(err: RequestValidationError) -> tuple[int, str]:
    """A status and one readable line from FastAPI's validation errors."""
    errors = err.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        return 400, 'the body is not valid JSON: send {"texts": ["a review", ...]}'
    parts = []
    for e in errors:
        where = ".".join(str(p) for p in e.get("loc", ()) if p != "body") or "body"
        parts.append(f"{where}: {e.get('msg', 'invalid')}")
    return 422, "; ".join(parts) + ' (expected {"texts": ["a review", ...]})'


def add_docs(app: FastAPI, assets: Path | None) -> None:
    """``/docs`` (Swagger UI) and ``/redoc`` served from ``assets``; without them ``/docs``
    answers 404 with the reason."""
    if assets is None:

        @app.get("/docs", include_in_schema=False)
        def no_docs() -> JSONResponse:
            detail = (
                "interactive docs are off: Swagger UI's files are not installed (pip install "
                "fastapi-offline) and this service loads nothing from the internet; the API's "
                "description is at /openapi.json"
            )
            return JSONResponse({"detail": detail}, status_code=404)

        return
    app.mount(DOCS_ASSETS, StaticFiles(directory=assets), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def swagger(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{root}{DOCS_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{DOCS_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{root}{DOCS_ASSETS}/favicon.png",
        )

    @app.get("/redoc", include_in_schema=False)
    def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_redoc_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{root}{DOCS_ASSETS}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{DOCS_ASSETS}/favicon.png",
            with_google_fonts=False,
        )


def create_app(
    predictor: Predictor, limits: Limits | None = None, docs: Path | None | bool = True
) -> FastAPI:
    """A FastAPI application serving ``predictor``; ``docs``: True for Swagger UI's installed
    files (if any), False for none, or a folder holding them."""
    limits = limits or Limits()
    heavy = asyncio.Semaphore(limits.heavy_slots)
    texts_field = Field(
        min_length=1,
        max_length=limits.max_texts,
        description=f"1 to {limits.max_texts} texts, each at most {limits.max_chars} characters",
    )

    class PredictRequest(BaseModel):
        texts: Annotated[
            list[Annotated[StrictStr, Field(max_length=limits.max_chars)]], texts_field
        ]

    class Answer(BaseModel):
        label: str
        probability: float

    class PredictResponse(BaseModel):
        predictions: list[Answer]

    folder = predictor.folder
    app = FastAPI(
        title="dlcourse sentiment service",
        description=f"Movie-review sentiment ({', '.join(folder.classes)}) by a "
        f"{folder.config['architecture']} model trained in the dlcourse course.",
        version="1",
        docs_url=None,
        redoc_url=None,
    )
    add_docs(app, docs_assets() if docs is True else docs or None)
    app.add_middleware(BodyLimit, max_bytes=limits.max_body_bytes)

    @app.exception_handler(RequestValidationError)
    async def explain(_: Request, err: RequestValidationError) -> JSONResponse:
        status, detail = validation_answer(err)
        return JSONResponse({"detail": detail}, status_code=status)

    @app.get("/health")
    def health() -> dict[str, str]:
        """Whether the service is up, and what it serves."""
        return {
            "status": "ok",
            "backend": predictor.backend,
            "architecture": folder.config["architecture"],
        }

    @app.post("/predict", response_model=PredictResponse)
    async def predict(request: PredictRequest) -> PredictResponse:
        """A label (negative or positive) and its probability for each text.

        Requests holding more than a few reviews' worth of text are predicted one at a time,
        so that they do not delay short requests."""
        if sum(len(text) for text in request.texts) > limits.heavy_chars:
            async with heavy:
                answers = await run_in_threadpool(predictor.predict, request.texts)
        else:
            answers = await run_in_threadpool(predictor.predict, request.texts)
        return PredictResponse(
            predictions=[Answer(label=a.label, probability=a.probability) for a in answers]
        )

    return app
