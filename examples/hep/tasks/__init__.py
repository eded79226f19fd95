"""What the jet networks are trained for, as :class:`examples.hep.training.Task` values:

* ``tagging``: top tagging — binary cross-entropy on one logit, the penalty on the probability
  or the logit, any network of ``models/`` or a file of yours (:func:`tagging.tagger_task`);
* ``regression``: the jet four-momentum regression of ``jet_regression.py`` — its methods, the
  relative-error loss, four-vector outputs (``out_rep=Vector4()``).
"""
