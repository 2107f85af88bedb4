"""The explanation service: ``xfas serve`` runs ``create_app(ServiceConfig(...))`` under
uvicorn. POST /v1/predict and /v1/explain take an image; the web page is at /."""

from xfas.serve.app import create_app
from xfas.serve.config import ServiceConfig

__all__ = ["ServiceConfig", "create_app"]
