"""The backbone study: the attention paper's Table I, its six backbones against its custom CNN.

>>> from xfas.studies.backbones import run_backbone_study
>>> run_backbone_study(open_splits("synth"), "study", seeds=(0, 1), config=TrainConfig())
"""

from xfas.studies.backbones.table1 import (DEFAULT_MODELS, STUDY_MODELS, TABLE1, limit_splits,
                                           run_backbone_study)

__all__ = ["DEFAULT_MODELS", "STUDY_MODELS", "TABLE1", "limit_splits", "run_backbone_study"]
