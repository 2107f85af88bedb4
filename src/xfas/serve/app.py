"""The FastAPI app: ``create_app(config)`` builds the service.

Endpoints: POST /v1/predict (verdict), POST /v1/explain (verdict, concepts, maps, sentence),
GET /v1/health, GET /v1/model, the web page at / and the OpenAPI docs at /docs.

Every user error is answered with a 4xx and ``{"error": message}``: XfasError -> 400, or the
status of its ServiceError subclass (413 too large, 415 unsupported format, 422 no face or
unusable image); a missing or wrong API key -> 401. A 500 is a bug.
"""

from __future__ import annotations

import logging
import time
from contextlib import asynccontextmanager
from importlib import resources

from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

import xfas
from xfas.errors import XfasError
from xfas.serve.config import ServiceConfig
from xfas.serve.engine import Engine, Verdict, elapsed_ms, parse_methods
from xfas.serve.errors import status_of
from xfas.serve.schemas import ErrorReply, Explanation, Health, ModelInfo, Prediction
from xfas.serve.security import KeyChecker
from xfas.serve.upload import Upload, keep_upload, read_upload

log = logging.getLogger("xfas.serve")

UPLOAD_BODY = {"requestBody": {"required": True, "content": {
    "multipart/form-data": {"schema": {
        "type": "object", "required": ["file"],
        "properties": {
            "file": {"type": "string", "format": "binary",
                     "description": "The image: JPEG, PNG or WebP."},
            "methods": {"type": "string",
                        "description": "explain only: comma-separated saliency methods, "
                                       "e.g. gradcam,rise (also a query parameter)."}}}},
    "image/jpeg": {"schema": {"type": "string", "format": "binary"}},
    "image/png": {"schema": {"type": "string", "format": "binary"}},
    "image/webp": {"schema": {"type": "string", "format": "binary"}},
}}}
# The page loads nothing but its own files (and data:/blob: images it makes itself).
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data: blob:; "
                               "media-src 'self' blob:; object-src 'none'; "
                               "frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
ERRORS = {status: {"model": ErrorReply, "description": text} for status, text in (
    (400, "Bad request: corrupt or truncated image, empty upload, malformed form, unknown "
          "method"),
    (401, "Missing or wrong API key"),
    (413, "Upload over the byte limit, or image over the pixel limit"),
    (415, "Not a JPEG, PNG or WebP image, or not an upload"),
    (422, "No face found, or an image too small or too elongated to hold one"))}


def create_app(config: ServiceConfig, engine: Engine | None = None) -> FastAPI:
    """The service for ``config``; models are loaded now (so a bad model or concept file
    fails at start, naming the file), unless a ready ``engine`` built for the same ``config``
    is given (it is then left running when the app stops, so several apps can share one)."""
    if engine is not None and engine.config != config:
        raise XfasError("create_app: the engine was built for another configuration")
    owns_engine = engine is None
    engine = engine if engine is not None else Engine.from_config(config)
    keys = KeyChecker(config.api_keys)

    @asynccontextmanager
    async def lifespan(_: FastAPI):
        yield
        if owns_engine:
            engine.close()

    app = FastAPI(title="xfas explanation service", version=xfas.__version__,
                  description="Face anti-spoofing verdicts and their explanations: SPED "
                              "concepts and saliency maps.", lifespan=lifespan, docs_url=None)
    app.state.engine = engine
    app.mount("/static", StaticFiles(packages=[("xfas.serve", "static")]), name="static")
    # Swagger UI from the swagger-ui-bundle package: FastAPI's default takes it from a CDN,
    # which an offline deployment cannot reach.
    app.mount("/swagger", StaticFiles(directory=swagger_ui_path), name="swagger")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url=app.openapi_url, title=f"{app.title} - docs",
                                   swagger_js_url="/swagger/swagger-ui-bundle.js",
                                   swagger_css_url="/swagger/swagger-ui.css",
                                   swagger_favicon_url="/swagger/favicon-32x32.png")
    add_error_handlers(app)

    def require_key(request: Request) -> None:
        if not keys.accepts(request.headers):
            raise HTTPException(401, "a valid API key is required (header X-API-Key or "
                                     "Authorization: Bearer)",
                                headers={"WWW-Authenticate": "Bearer"})

    async def receive(request: Request) -> Upload:
        upload = await read_upload(request, config.max_bytes)
        if config.keep_uploads is not None:
            await run_in_threadpool(keep_upload, upload, config.keep_uploads)
        return upload

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def page() -> HTMLResponse:
        html = resources.files("xfas.serve").joinpath("static/index.html").read_text("utf-8")
        return HTMLResponse(html, headers=PAGE_HEADERS)

    @app.get("/v1/health", response_model=Health)
    def health() -> Health:
        """Whether the service is up (needs no API key)."""
        return Health(status="ok", model=config.model, concepts=engine.sped is not None,
                      auth_required=keys.enabled, batches=engine.batcher.batches,
                      waiting=engine.batcher.waiting)

    @app.get("/v1/model", response_model=ModelInfo, dependencies=[Depends(require_key)],
             responses={401: ERRORS[401]})
    def model_info() -> dict:
        """The models (with weight fingerprints), the concept bank, the valid methods, the
        limits and the versions."""
        return engine.describe()

    @app.post("/v1/predict", response_model=Prediction, responses=ERRORS,
              dependencies=[Depends(require_key)], openapi_extra=UPLOAD_BODY)
    async def predict(request: Request) -> Prediction:
        """The verdict on an uploaded image: live or spoof, the spoof score, the face box."""
        start = time.perf_counter()
        upload = await receive(request)
        verdict = await engine.predict(await engine.decode(upload))
        return Prediction(**_verdict_fields(verdict, config), elapsed_ms=elapsed_ms(start))

    @app.post("/v1/explain", response_model=Explanation, responses=ERRORS,
              dependencies=[Depends(require_key)], openapi_extra=UPLOAD_BODY)
    async def explain(request: Request, methods: str | None = Query(
            None, description="Comma-separated saliency methods (gradcam, rise, ...; see "
                              "GET /v1/model). Write gradcam++ as gradcam%2B%2B.")) -> dict:
        """The verdict and why: for a spoof, the activated SPED concepts (with a concept
        bank) with heat maps and evidence boxes, the maps of the requested methods, and a
        sentence."""
        start = time.perf_counter()
        upload = await receive(request)
        names = parse_methods(methods if methods is not None else upload.fields.get("methods"),
                              engine.methods)
        result = await engine.explain(await engine.decode(upload), names)
        return {**_verdict_fields(result["verdict"], config), "concepts": result["concepts"],
                "against": result["against"], "sentence": result["sentence"],
                "maps": result["maps"], "heatmap_size": result["heatmap_size"],
                "elapsed_ms": elapsed_ms(start)}

    return app


def _verdict_fields(verdict: Verdict, config: ServiceConfig) -> dict:
    height, width = verdict.image_size
    return {"verdict": verdict.label, "spoof_score": verdict.spoof_probability,
            "threshold": config.threshold, "face_box": list(verdict.face_box),
            "image_size": [width, height], "model": config.model,
            "per_model": verdict.per_model}


def add_error_handlers(app: FastAPI) -> None:
    """User errors -> 4xx {"error": message}; anything else -> 500 (a bug, logged)."""

    @app.exception_handler(XfasError)
    async def user_error(_: Request, error: XfasError) -> JSONResponse:
        return JSONResponse({"error": str(error)}, status_code=status_of(error))

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, error: HTTPException) -> JSONResponse:
        return JSONResponse({"error": str(error.detail)}, status_code=error.status_code,
                            headers=error.headers)

    @app.exception_handler(RequestValidationError)
    async def bad_parameters(_: Request, error: RequestValidationError) -> JSONResponse:
        problems = "; ".join(f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg')}"
                             for e in error.errors()[:5])
        return JSONResponse({"error": f"bad request parameters ({problems})"},
                            status_code=400)

    @app.exception_handler(Exception)
    async def bug(_: Request, error: Exception) -> JSONResponse:
        log.error("internal error: %s", type(error).__name__, exc_info=error)
        return JSONResponse({"error": "internal error"}, status_code=500)

