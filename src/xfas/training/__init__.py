"""Training and scoring FAS models: the attention paper's training recipe (interruptible,
resumable), the weight average it keeps, evaluation on a dataset, and the FAS metrics
(ISO/IEC 30107-3 error rates and the attention paper's classification metrics).

>>> from xfas.training import TrainConfig, train, evaluate
>>> result = train(splits["train"], splits["val"], "runs/cnn", TrainConfig(model="cnn-cbam"))
"""

from xfas.training.augment import augment_batch
from xfas.training.config import TrainConfig, TrainResult
from xfas.training.evaluation import evaluate, predict_dataset
from xfas.training.fas_metrics import fas_report
from xfas.training.run_state import BEST_FILE, LAST_FILE, STATE_FILE
from xfas.training.runs import trained_run_metrics
from xfas.training.trainer import evaluate_loss, train
from xfas.training.weight_average import WeightAverage

__all__ = ["BEST_FILE", "LAST_FILE", "STATE_FILE", "TrainConfig", "TrainResult",
           "WeightAverage", "augment_batch", "evaluate", "evaluate_loss", "fas_report",
           "predict_dataset", "train", "trained_run_metrics"]
