"""The training machinery every jet example shares, one module per job:

    data (``data/``) -> models (``models/``) -> **training** -> evaluation -> studies -> scripts

* ``runtime``: :class:`Context` and :func:`setup` — rank, world size (``torchrun``: DDP),
  device, output folder, resume;
* ``data``: :class:`Source`, :func:`load_data` (generated, ATLAS or reference jets),
  :func:`split`, boosted test sets (:func:`boosted`, :func:`boost_jets`), :func:`pt_edges`;
* ``penalty``: :func:`build_penalty` (a method's penalty from its value) and
  :func:`penalised_output` (the task pass and the penalty in the library's one call);
* ``loop``: :class:`Task` (what a model is trained for), :func:`train_step` (one optimizer
  step), :func:`objective`, :func:`fit` (the one loop) and :func:`train_one` (the jet examples'
  training: early stopping, checkpoints, resume);
* ``checkpoints``: writing them atomically, refusing to resume another recipe;
* ``inference``: :func:`predict_logits`, :func:`timed`, :func:`eval_step_seconds`;
* ``timing``: :func:`interleaved_step_times` (the loop's own step, every method in turn).

The names below are re-exported here, so ``from examples.hep import training`` reaches them.
"""

from examples.hep.training.checkpoints import check_checkpoint_recipe, save_checkpoint
from examples.hep.training.data import (
    BETA_MAX,
    SPLIT,
    Source,
    boost_jets,
    boosted,
    load_data,
    pt_edges,
    split,
)
from examples.hep.training.inference import eval_step_seconds, predict_logits, sigmoid, timed
from examples.hep.training.loop import Task, fit, objective, train_one, train_step
from examples.hep.training.penalty import build_penalty, penalised_output
from examples.hep.training.runtime import Context, barrier, setup
from examples.hep.training.timing import interleaved_step_times

__all__ = ["Context", "setup", "barrier", "Source", "load_data", "split", "SPLIT", "BETA_MAX",
           "boosted", "boost_jets", "pt_edges", "build_penalty", "penalised_output", "Task",
           "train_step", "objective", "fit", "train_one", "check_checkpoint_recipe",
           "save_checkpoint", "predict_logits", "sigmoid", "timed", "eval_step_seconds",
           "interleaved_step_times"]
