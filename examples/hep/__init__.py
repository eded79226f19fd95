"""The HEP examples of liesoft: top tagging, jet four-momentum regression and the paper's toy
regression, on jets generated here with Pythia 8. The folders follow the pipeline:

    data/ -> models/ -> experiment.py, tasks/ -> training/ -> evaluation/ -> studies/ -> scripts

* ``data/``: jet generation (``jetgen``), the detector model, loaders, boost augmentation, the
  toy regression's data;
* ``models/``: one file per network, each with ``get_model(cfg)`` (``networks`` loads one by
  name or by the path of a file of yours, docs/models.md), the regressors, the toy's MLPs;
* ``experiment.py``: a method is a value (network × penalty), resolved once from the command
  line; the tables of networks, penalties and methods;
* ``tasks/``: what a network is trained for (the tagger's and the regression's loss,
  penalty, validation);
* ``training/``: run-time set-up (DDP), data, the penalty factory, the one training loop,
  checkpoints, inference, interleaved timing;
* ``evaluation/``: metrics, tables and figures; ``studies/``: the studies the scripts run;
* the scripts (configuration, then ``main()``): ``toptag.py``, ``jet_regression.py``,
  ``toy_regression.py``, ``data_efficiency.py``, ``budget_tagging.py``,
  ``audit_checkpoint.py``, ``merge_table1.py``; ``options.py`` holds their torch-free options
  (``--help`` answers at once) and ``_path.py`` how they find this package;
* ``weaver/``: a weaver-core network config training ParT with SEAL through weaver's trainer.
"""
