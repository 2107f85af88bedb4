"""The attention study: train cnn, cnn-ca, cnn-sa and cnn-cbam over seeds (Table II), then
benchmark their explanations against the evidence, draw Figures 2-4 and write one report.

>>> from xfas.studies.attention import run_attention_study, explain_attention_study
>>> run_attention_study(open_splits("synth"), "study", seeds=(0, 1, 2), config=TrainConfig())
>>> explain_attention_study("synth", "study", seed=0).report
"""

from xfas.studies.attention.benchmark import ATTENTION_MD
from xfas.studies.attention.explanations import StudyOutputs, explain_attention_study
from xfas.studies.attention.table2 import STUDY_MODELS, run_attention_study

__all__ = ["ATTENTION_MD", "STUDY_MODELS", "StudyOutputs", "explain_attention_study",
           "run_attention_study"]
