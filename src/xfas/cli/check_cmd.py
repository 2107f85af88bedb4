"""``xfas check-model``: does a model's card wire its input right? Score labelled images under
the card and under the usual mis-wirings (``xfas.training.wiring``)."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from xfas.cli.app import app
from xfas.cli.loading import open_model
from xfas.cli.options import (AssetsOption, CardOption, DataOption, LimitOption, ModelOption,
                              ProgressOption, SplitOption)
from xfas.cli.parsing import check_choice

MISWIRED = 1  # exit status when another wiring beats the card


@app.command("check-model")
def check_model_command(
    model: ModelOption,
    data: DataOption,
    card: CardOption = None,
    split: SplitOption = "all",
    limit: LimitOption = None,
    assets: AssetsOption = None,
    progress: ProgressOption = True,
) -> None:
    """Check a model card on labelled images: which wiring separates live from spoof best?

    Scores the images (--split all by default) under the card, then with RGB and BGR swapped,
    pixels in 0-255 instead of [0, 1] (or the reverse), other face crops and another live
    index, and prints each wiring's AUC. When another wiring beats the card's AUC by more
    than 0.02 it says so and exits with status 1.
    """
    from xfas.data.face import FaceDetector
    from xfas.training.wiring import MARGIN, check_wiring

    check_choice("--split", split, ("train", "val", "test", "all"))
    fas_model = open_model(model, card=card, assets=assets, what="to check")
    result = check_wiring(fas_model, data, split=None if split == "all" else split,
                          limit=limit, detector=FaceDetector.from_assets(assets),
                          progress=progress)
    table = Table("wiring", "AUC", "accuracy", title=f"{model} on {result.images} images of "
                  f"{data} ({result.no_face} without a face left out)")
    for score in result.scores:
        table.add_row(score.name, f"{score.auc:.3f}", f"{score.accuracy:.3f}")
    Console().print(table)
    card_score, best = result.scores[0], result.best
    if result.card_is_best:
        typer.echo(f"ok: the card's wiring separates best (AUC {card_score.auc:.3f})")
        return
    typer.echo(f"warning: '{best.name}' gives AUC {best.auc:.3f}, the card's wiring "
               f"{card_score.auc:.3f} (more than {MARGIN} apart): check the card's "
               f"channel_order, pixel_scale, crop_scale and live_index")
    raise typer.Exit(MISWIRED)
