"""The FAS metrics under the import path earlier releases used; they live in
``xfas.training.fas_metrics``."""

from xfas.training.fas_metrics import *  # noqa: F401,F403
from xfas.training.fas_metrics import __all__  # noqa: F401
