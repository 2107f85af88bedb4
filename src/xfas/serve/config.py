"""Everything the service is started with, in one frozen dataclass (the CLI fills it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from xfas.errors import XfasError

# Perturbation methods get fewer samples than their library defaults, so that an explanation
# answers within an HTTP request on a CPU (timing in docs/experiments.md): RISE 500 masks
# (default 4000), LIME 300 samples (default 1000), Kernel SHAP 512 coalitions (default 2048).
SERVICE_METHOD_OPTIONS: dict[str, dict] = {
    "rise": {"n_masks": 500},
    "lime": {"n_samples": 300},
    "shap": {"n_samples": 512},
}


@dataclass(frozen=True)
class ServiceConfig:
    """Settings of ``xfas serve``.

    Args:
        model: "minifasnet" (MiniFASNetV2 + V1SE fused for the verdict, V2 explained),
            "minifasnet-v2", "minifasnet-v1se", an xfas checkpoint / run folder, or an ONNX
            file.
        card: the model card of ``model`` (default: the one beside its file).
        concepts: a SPED concept bank made on the explained model (optional).
        assets: folder with the Silent-Face models/ and detector/ (default: $XFAS_ASSETS).
        threshold: spoof probability at or above which the verdict is "spoof".
        max_bytes: largest upload accepted (HTTP 413 above it).
        max_pixels: largest image accepted, read from its header before decoding (413).
        api_keys: accepted keys; empty = no authentication.
        keep_uploads: folder where every upload is kept; None = nothing is written to disk.
        rise_masks: RISE masks per explanation in the service.
        max_batch: most predict requests run as one model batch.
        batch_window_ms: how long the batcher waits for more requests after the first.
        decode_workers: images decoded at once (bounds the memory of decoding).
        limit_concurrency: connections uvicorn serves at once; above it, HTTP 503.
        display_side: heat maps are returned at most this many pixels on the long side.
    """

    model: str = "minifasnet"
    card: Path | None = None
    concepts: Path | None = None
    assets: Path | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    threshold: float = 0.5
    max_bytes: int = 10_000_000
    max_pixels: int = 40_000_000
    api_keys: tuple[str, ...] = ()
    keep_uploads: Path | None = None
    rise_masks: int = 500
    max_batch: int = 16
    batch_window_ms: float = 5.0
    decode_workers: int = 2
    limit_concurrency: int = 64
    display_side: int = 1024
    method_options: dict[str, dict] = field(default_factory=lambda: {
        name: dict(options) for name, options in SERVICE_METHOD_OPTIONS.items()})

    def __post_init__(self) -> None:
        if not 0.0 <= self.threshold <= 1.0:
            raise XfasError(f"--threshold {self.threshold}: must be between 0 and 1")
        for name in ("max_bytes", "max_pixels", "rise_masks", "max_batch", "decode_workers",
                     "limit_concurrency", "display_side"):
            if int(getattr(self, name)) < 1:
                raise XfasError(f"{name} = {getattr(self, name)}: must be at least 1")
        if self.batch_window_ms < 0:
            raise XfasError(f"batch_window_ms = {self.batch_window_ms}: must not be negative")
        if not 0 < self.port < 65536:
            raise XfasError(f"--port {self.port}: must be in 1..65535")
        if any(not key for key in self.api_keys):
            raise XfasError("api_keys: an API key must not be empty")

    def options_for(self, method: str) -> dict:
        """Constructor options of the explainer ``method`` in the service."""
        options = dict(self.method_options.get(method, {}))
        if method == "rise":
            options["n_masks"] = self.rise_masks
        return options
