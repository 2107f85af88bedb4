"""The papers' studies, reproduced on the user's data: each composes training, explanations and
the benchmark (``xfas.studies.attention``: the attention paper's Table II, its figures and
whether attention moves the explanations onto the evidence)."""
