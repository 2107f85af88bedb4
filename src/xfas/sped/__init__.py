"""SPED (SPoofing Evidence Discovery): concept discovery with Semi-NMF, ranked by Sobol indices.

Importing it registers the explainer "sped" (``create_explainer("sped", model,
concepts=BANK)``).
"""

from xfas.explain import register
from xfas.sped.attribution import ConceptExplanation
from xfas.sped.bank import ConceptBank
from xfas.sped.crops import CropGrid
from xfas.sped.describe import describe_explanation, location_words
from xfas.sped.designs import jansen_design, sobol_design, split_outputs
from xfas.sped.estimator import SPED
from xfas.sped.estimators import ESTIMATORS, get_estimator, jansen_total, saltelli_total
from xfas.sped.explainer import SPEDExplainer
from xfas.sped.figures import crop_grid_figure, explanation_figure
from xfas.sped.labeling import LabelProposal, propose_names
from xfas.sped.merge import Discovery, attack_groups, merge_discoveries
from xfas.sped.samplers import SAMPLERS, get_sampler, halton_masks, random_masks, sobol_masks
from xfas.sped.semi_nmf import SemiNMF
from xfas.sped.sobol import evaluate_design, total_sobol_indices

__all__ = [
    "SPED", "SPEDExplainer", "ConceptBank", "ConceptExplanation", "CropGrid", "LabelProposal",
    "Discovery", "attack_groups", "crop_grid_figure", "describe_explanation",
    "explanation_figure", "location_words", "merge_discoveries", "propose_names",
    "ESTIMATORS", "SAMPLERS", "SemiNMF", "evaluate_design", "get_estimator", "get_sampler",
    "halton_masks", "jansen_design", "jansen_total", "random_masks", "saltelli_total",
    "sobol_design", "sobol_masks", "split_outputs", "total_sobol_indices",
]

register(SPEDExplainer.name, SPEDExplainer)
