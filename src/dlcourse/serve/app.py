"""The sentiment service: ``POST /predict``, ``GET /health``, OpenAPI docs at ``/docs``.

Needs the ``serve`` extra (fastapi, uvicorn). Bad requests get a 4xx answer with a
``detail`` message and the server keeps serving.
"""

from dataclasses import dataclass
from typing import Annotated

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, StrictStr

from dlcourse.serve.predictor import Predictor


@dataclass(frozen=True)
class Limits:
    """What one request may hold."""

    max_texts: int = 64
    max_chars: int = 20_000
    max_body_bytes: int = 1_000_000


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


def _messages(err: RequestValidationError) -> tuple[int, str]:
    """A status and one readable line from FastAPI's validation errors."""
    errors = err.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        return 400, 'the body is not valid JSON: send {"texts": ["a review", ...]}'
    parts = []
    for e in errors:
        where = ".".join(str(p) for p in e.get("loc", ()) if p != "body") or "body"
        parts.append(f"{where}: {e.get('msg', 'invalid')}")
    return 422, "; ".join(parts) + ' (expected {"texts": ["a review", ...]})'


def create_app(predictor: Predictor, limits: Limits | None = None) -> FastAPI:
    """A FastAPI application serving ``predictor``."""
    limits = limits or Limits()
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
    )
    app.add_middleware(BodyLimit, max_bytes=limits.max_body_bytes)

    @app.exception_handler(RequestValidationError)
    async def explain(_: Request, err: RequestValidationError) -> JSONResponse:
        status, detail = _messages(err)
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
    def predict(request: PredictRequest) -> PredictResponse:
        """A label (negative or positive) and its probability for each text."""
        answers = predictor.predict(request.texts)
        return PredictResponse(
            predictions=[Answer(label=a.label, probability=a.probability) for a in answers]
        )

    return app
