"""Evidence masks for your own data: import them from the annotation tools people use (COCO,
LabelMe, CVAT), export them back, compare two annotators and check a data set. Data-level:
this package reads and writes the benchmark layout through ``xfas.data.benchmark_layout``
and needs no model.

Example:
    >>> from xfas.annotations import import_annotations, check_annotations
    >>> import_annotations("instances.json", format="coco", images="photos", out="bench",
    ...                    mapping={"hand": "clutching_hand"})
    >>> check_annotations("bench")
    []
"""

from xfas.annotations.agreement import Agreement, TypeAgreement, compare_annotators
from xfas.annotations.convert import FORMATS, ImportSummary, export_annotations, \
    import_annotations
from xfas.annotations.quality import MAX_SHARE, Finding, check_annotations
from xfas.annotations.shapes import mask_to_polygons, rasterize

__all__ = ["Agreement", "FORMATS", "Finding", "ImportSummary", "MAX_SHARE", "TypeAgreement",
           "check_annotations", "compare_annotators", "export_annotations",
           "import_annotations", "mask_to_polygons", "rasterize"]
