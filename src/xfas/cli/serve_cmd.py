"""``xfas serve``: the explanation service (HTTP API and web page)."""

from __future__ import annotations

from pathlib import Path

import typer

from xfas.cli.app import app
from xfas.cli.options import (AssetsOption, CardOption, ConceptBankOption, PredictorOption,
                              ThresholdOption)
from xfas.errors import XfasError


@app.command("serve")
def serve_command(
    model: PredictorOption = "minifasnet",
    card: CardOption = None,
    concepts: ConceptBankOption = None,
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8000, "--port", help="TCP port to listen on."),
    threshold: ThresholdOption = None,
    max_bytes: int = typer.Option(
        10_000_000, "--max-bytes", help="Largest upload in bytes (HTTP 413 above)."),
    max_pixels: int = typer.Option(
        40_000_000, "--max-pixels",
        help="Largest image in pixels, read from its header before decoding (HTTP 413)."),
    api_key_file: Path | None = typer.Option(
        None, "--api-key-file",
        help="File with one API key a line: /v1 requests (but /v1/health) then need "
             "`X-API-Key: KEY` or `Authorization: Bearer KEY`, else HTTP 401."),
    keep_uploads: Path | None = typer.Option(
        None, "--keep-uploads",
        help="Keep every uploaded image in this folder. Without it nothing a client sends "
             "is written to disk."),
    assets: AssetsOption = None,
    rise_masks: int = typer.Option(
        500, "--rise-masks", help="RISE masks per explanation (fewer = faster, noisier)."),
    limit_concurrency: int = typer.Option(
        64, "--limit-concurrency", help="Connections served at once; above it, HTTP 503."),
    torch_threads: int | None = typer.Option(
        None, "--torch-threads", min=1,
        help="Threads torch uses for one model call (default: torch's own choice). 1 is "
             "fastest on a busy machine with few cores, where threads wait on each other."),
    log_level: str = typer.Option("info", "--log-level",
                                  help="uvicorn log level: critical, error, warning, info."),
) -> None:
    """Serve face anti-spoofing verdicts and explanations over HTTP.

    With --concepts, spoof explanations list the activated concepts.

    POST /v1/predict and /v1/explain take an image (multipart field `file`, or raw bytes).

    GET /v1/health and GET /v1/model describe the service; the page is at /, the API docs at /docs.

    Example: `xfas serve`, then `curl -F file=@face.jpg http://127.0.0.1:8000/v1/explain`.
    """
    try:
        from xfas.serve.app import create_app
        from xfas.serve.config import ServiceConfig
        from xfas.serve.security import load_api_keys
        from xfas.serve.server import serve
    except ImportError as error:
        raise XfasError(f"xfas serve needs the service packages ({error.name} is missing): "
                        "pip install 'xfas[serve]'") from None

    from xfas.models.registry import card_threshold

    config = ServiceConfig(
        model=model, card=card, concepts=concepts, assets=assets, host=host, port=port,
        threshold=card_threshold(model, card) if threshold is None else threshold,
        max_bytes=max_bytes, max_pixels=max_pixels,
        api_keys=load_api_keys(api_key_file) if api_key_file is not None else (),
        keep_uploads=keep_uploads, rise_masks=rise_masks,
        limit_concurrency=limit_concurrency)
    if torch_threads is not None:
        import torch
        torch.set_num_threads(torch_threads)
    typer.echo(f"xfas serve: loading {model}" + (f" with concepts {concepts}" if concepts else ""))
    service = create_app(config)
    typer.echo(f"xfas serve: http://{host}:{port}/ (API docs at /docs)")
    serve(service, config, log_level=log_level)
