"""End-to-end steps that the command line, the demo and the service share: explaining image
files (``explain_files``), SPED on a dataset (``concepts``), sample grids of a model's heat
maps (``sample_grids``) and the demo's stages (``demo``)."""
