"""``xfas annotations import|export|agree|check``: evidence masks for your own data, from
and to COCO, LabelMe and CVAT, two annotators compared, a data set checked; and
``xfas annotate``: the annotation page."""

from __future__ import annotations

from pathlib import Path

import typer

from xfas.cli.app import app
from xfas.cli.options import AssetsOption, ConceptBankOption, EvidenceDataOption, HostOption, \
    OverwriteOption, PortOption, PredictorOption
from xfas.cli.parsing import check_choice, parse_label_map
from xfas.errors import XfasError

FORMATS = ("coco", "labelme", "cvat")

annotations_app = typer.Typer(
    help="Evidence masks for your own data: import them from COCO, LabelMe or CVAT, export "
         "them, compare two annotators, check a data set. `xfas annotate` draws them.",
    no_args_is_help=True)
app.add_typer(annotations_app, name="annotations")


@annotations_app.command("import")
def import_command(
    source: Path = typer.Argument(..., help="The annotation file: COCO JSON, LabelMe JSON "
                                  "(or a folder of them, one per image), CVAT for images XML."),
    from_format: str = typer.Option(..., "--from", help="The file's format: coco, labelme "
                                    "or cvat."),
    images: Path = typer.Option(..., "--images", help="Folder with the annotated images "
                                "(found by the path the file gives, or by file name)."),
    out: Path = typer.Option(..., "--out", help="Folder to write images/, masks/<evidence>/ "
                             "and manifest.json into (must be new or empty)."),
    mapping: str | None = typer.Option(
        None, "--map", help="Category names to evidence types, e.g. "
                            "\"hand=clutching_hand,paper=photo_edge,face=ignore\". Categories "
                            "named after an evidence type need no entry."),
    overwrite: OverwriteOption = False,
) -> None:
    """Import evidence masks into the benchmark layout.

    Polygons, boxes, RLE and masks become one mask per image and evidence type
    (clutching_hand, cut_hole, ipad_border, photo_edge); the manifest marks images with
    evidence as spoofs. Bad input is one error naming the file and entry, and then nothing
    is written.

    Example: `xfas annotations import instances.json --from coco --images photos --out bench
    --map hand=clutching_hand`, then `xfas benchmark run --data bench --model M`.
    """
    from xfas.annotations import import_annotations

    check_choice("--from", from_format, FORMATS)
    summary = import_annotations(source, format=from_format, images=images, out=out,
                                 mapping=parse_label_map(mapping), overwrite=overwrite)
    masks = ", ".join(f"{e} {n}" for e, n in summary.masks.items() if n) or "none"
    typer.echo(f"imported {summary.images} images into {summary.out} "
               f"({summary.with_evidence} with evidence; masks: {masks})")
    if summary.ignored:
        typer.echo(f"left out (--map ...=ignore): {', '.join(summary.ignored)}")


@annotations_app.command("export")
def export_command(
    data: Path = typer.Argument(..., help="A data set in the benchmark layout."),
    to: str = typer.Option(..., "--to", help="coco (one JSON file), labelme (a folder of "
                           "JSON files, one per image) or cvat (one XML file)."),
    out: Path = typer.Option(..., "--out", help="The file (coco, cvat) or folder (labelme) "
                             "to write."),
) -> None:
    """Export the evidence masks for COCO tools, LabelMe or CVAT.

    Masks are written as polygons where polygons give them back exactly, else as RLE (COCO,
    CVAT) or a mask shape (LabelMe); importing the result gives the same masks.
    """
    from xfas.annotations import export_annotations

    check_choice("--to", to, FORMATS)
    typer.echo(f"wrote {export_annotations(data, format=to, out=out)}")


@annotations_app.command("agree")
def agree_command(
    dir_a: Path = typer.Argument(..., help="Annotator A's data set (benchmark layout)."),
    dir_b: Path = typer.Argument(..., help="Annotator B's data set, the same images."),
    out: Path | None = typer.Option(None, "--out", help="Also write the numbers to this "
                                    "JSON file."),
) -> None:
    """How far two annotators agree, per evidence type.

    IoU and Dice (mean over images), pixel Cohen's kappa, and the nIoU one annotator's mask
    scores as a map against the other's: the benchmark's ceiling on this data. Differences
    between methods smaller than 1 - that nIoU are within the annotators' disagreement.
    """
    from xfas.data.benchmark_layout import write_json
    from xfas.workflows.annotation_agreement import agreement_json, agreement_table, \
        annotator_agreement

    agreement = annotator_agreement(dir_a, dir_b)
    typer.echo(agreement_table(agreement))
    if out is not None:
        write_json(out, agreement_json(agreement))
        typer.echo(f"wrote {out}")


@annotations_app.command("check")
def check_command(
    data: Path = typer.Argument(..., help="A data set in the benchmark layout."),
) -> None:
    """List problems of the evidence masks; exit status 1 when there is any.

    Empty masks, masks larger than their type plausibly is, masks of another size than
    their image, masks without an image, and manifest entries and mask files that disagree.
    """
    from xfas.annotations import check_annotations

    findings = check_annotations(data)
    for finding in findings:
        typer.echo(str(finding))
    if findings:
        typer.echo(f"{len(findings)} problem(s) in {data}", err=True)
        raise typer.Exit(1)
    typer.echo(f"{data}: no problem found")


@app.command("annotate")
def annotate_command(
    data: EvidenceDataOption,
    model: PredictorOption = None,
    concepts: ConceptBankOption = None,
    assets: AssetsOption = None,
    host: HostOption = "127.0.0.1",
    port: PortOption = 8000,
) -> None:
    """Draw evidence masks in the browser: the annotation page for a data set.

    Put the images in DATA/images/; the page goes through them, draws polygons per evidence
    type and saves them as DATA/masks/<evidence>/<name>.png (and DATA/polygons/<name>.json
    to edit them again). With --model (and --concepts) it shows the model's heat map (or
    SPED concepts) beside the image on request.
    """
    try:
        from xfas.serve.annotate import create_annotation_app
        from xfas.serve.config import ServiceConfig
        from xfas.serve.server import serve
    except ImportError as error:
        raise XfasError(f"xfas annotate needs the service packages ({error.name} is missing): "
                        "pip install 'xfas[serve]'") from None
    if concepts is not None and model is None:
        raise XfasError("--concepts: give the --model the concept bank was made on")
    config = ServiceConfig(model=model or "minifasnet", concepts=concepts, assets=assets,
                           host=host, port=port)
    engine = None
    if model is not None:
        from xfas.serve.engine import Engine

        typer.echo(f"xfas annotate: loading {model}")
        engine = Engine.from_config(config)
    page = create_annotation_app(data, engine)
    typer.echo(f"xfas annotate: http://{host}:{port}/ ({data})")
    serve(page, config)
