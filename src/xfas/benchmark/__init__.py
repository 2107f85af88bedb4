"""The X-FAS benchmark: localisation and faithfulness metrics for explanation maps
(``xfas.benchmark.metrics``: IoU, nIoU, pointing game, deletion / insertion AUC, bootstrap
confidence intervals), the runner that scores every explainer on a benchmark folder into a
resumable SQLite store (``run_benchmark``), Table I (``summarize``) and the HTML report
(``render_report``, ``render_comparison``), and a check of the model rather than its maps:
does blurring the evidence or the face turn its spoof verdicts (``evidence_reliance``)?

>>> from xfas.benchmark import BenchmarkConfig, run_benchmark, render_report
>>> run = run_benchmark(BenchmarkConfig(data="xfas-bench", model="runs/cnn"), "runs/bench")
>>> render_report("runs/bench")
"""

from xfas.benchmark.config import BenchmarkConfig
from xfas.benchmark.reliance import RelianceResult, evidence_reliance
from xfas.benchmark.report import render_comparison, render_report
from xfas.benchmark.runner import BenchmarkRun, resolve_methods, run_benchmark
from xfas.benchmark.store import RunStore
from xfas.benchmark.tables import markdown_table, summarize, write_tables

__all__ = ["BenchmarkConfig", "BenchmarkRun", "RelianceResult", "RunStore", "evidence_reliance",
           "markdown_table", "render_comparison", "render_report", "resolve_methods",
           "run_benchmark", "summarize", "write_tables"]
