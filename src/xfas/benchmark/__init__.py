"""The X-FAS benchmark: localisation and faithfulness metrics for explanation maps
(``xfas.benchmark.metrics``: IoU, nIoU, pointing game, deletion / insertion AUC, bootstrap
confidence intervals)."""
