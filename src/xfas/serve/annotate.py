"""The annotation page: ``xfas annotate --data DIR`` serves ``create_annotation_app`` on its
own. The page goes through the images of a data set in the benchmark layout, draws and
edits polygons per evidence type in the evidence colours, and saves them as masks
(``xfas.annotations.editing``); with a model it shows the model's heat map, or the SPED
concepts of a concept bank, beside the image on request (the service's ``Engine``).

Endpoints: GET / (the page), GET /api/dataset, GET /api/images/{name},
GET and PUT /api/annotations/{name}, GET /api/explain/{name}?method=gradcam|concepts.
"""

from __future__ import annotations

import base64
from importlib import resources
from pathlib import Path

import numpy as np
from fastapi import FastAPI, Query
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

import xfas
from xfas.annotations.editing import AnnotationEditor
from xfas.data.image_io import encode_png, load_image
from xfas.errors import XfasError
from xfas.plots.colours import evidence_colour
from xfas.serve.app import PAGE_HEADERS, add_error_handlers
from xfas.serve.engine import Engine

LOCKED_ALPHA = 110  # opacity of a mask the page shows but cannot edit as polygons
CONCEPTS = "concepts"


class SaveRequest(BaseModel):
    """The polygons of the types the page saves: {type: [[[x, y], ...], ...]}."""

    polygons: dict[str, list[list[list[float]]]] = Field(default_factory=dict)


def hex_colour(evidence: str) -> str:
    """The evidence colour as #rrggbb."""
    return "#" + "".join(f"{v:02x}" for v in evidence_colour(evidence))


def create_annotation_app(data: str | Path, engine: Engine | None = None) -> FastAPI:
    """The annotation page for the data set at ``data``; with ``engine`` (a loaded model,
    optionally with a concept bank) the page can show the model's view of each image."""
    editor = AnnotationEditor(data)
    app = FastAPI(title="xfas annotation page", version=xfas.__version__, docs_url=None,
                  redoc_url=None)
    app.mount("/static", StaticFiles(packages=[("xfas.serve", "static")]), name="static")
    add_error_handlers(app)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def page() -> HTMLResponse:
        html = resources.files("xfas.serve").joinpath("static/annotate.html").read_text("utf-8")
        return HTMLResponse(html, headers=PAGE_HEADERS)

    @app.get("/api/dataset")
    def dataset() -> dict:
        """The images and how far they are annotated, the evidence types and colours, and
        what the model can show."""
        methods = []
        if engine is not None:
            methods = ["gradcam"] + ([CONCEPTS] if engine.sped is not None else [])
        return {"name": editor.layout.root.name, "images": editor.images(),
                "evidence": [{"name": e, "colour": hex_colour(e)}
                             for e in editor.evidence_types],
                "methods": methods}

    @app.get("/api/images/{name}")
    def image(name: str) -> FileResponse:
        """The image file itself."""
        return FileResponse(editor.image_file(name), headers={"Cache-Control": "no-store"})

    @app.get("/api/annotations/{name}")
    def annotations(name: str) -> dict:
        """The polygons of one image; masks polygons cannot say come as coloured PNGs."""
        loaded = editor.load(name)
        loaded["locked"] = {e: _coloured_png(mask, e) for e, mask in loaded["locked"].items()}
        return loaded

    @app.put("/api/annotations/{name}")
    def save(name: str, request: SaveRequest) -> dict:
        """Save polygons as masks (replacing the given types' masks)."""
        return editor.save(name, request.polygons)

    @app.get("/api/explain/{name}")
    async def explain(name: str, method: str = Query("gradcam")) -> dict:
        """The model's verdict and heat map (``gradcam``) or SPED concepts of one image."""
        if engine is None:
            raise XfasError("no model: start xfas annotate with --model to see the model's "
                            "view")
        if method not in ("gradcam", CONCEPTS):
            raise XfasError(f"method {method[:40]!r}: expected gradcam or {CONCEPTS}")
        if method == CONCEPTS and engine.sped is None:
            raise XfasError("no concept bank: start xfas annotate with --concepts BANK")
        path = editor.image_file(name)
        picture = await run_in_threadpool(load_image, path)
        result = await engine.explain(picture, [] if method == CONCEPTS else [method])
        verdict = result["verdict"]
        return {"verdict": verdict.label, "spoof_score": verdict.spoof_probability,
                "sentence": result["sentence"], "maps": result["maps"],
                "concepts": [{k: c[k] for k in ("name", "importance", "color", "heatmap_png")}
                             for c in result["concepts"]],
                "heatmap_size": result["heatmap_size"]}

    return app


def _coloured_png(mask: np.ndarray, evidence: str) -> str:
    """Base64 RGBA PNG: the mask in the evidence colour, half transparent."""
    rgba = np.zeros((*mask.shape, 4), dtype=np.uint8)
    rgba[mask] = (*evidence_colour(evidence), LOCKED_ALPHA)
    return base64.b64encode(encode_png(rgba)).decode("ascii")
