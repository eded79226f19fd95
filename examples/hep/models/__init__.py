"""Models: the networks, one file each, each exposing ``get_model(cfg)`` (weaver-core's
convention; the table of names is ``experiment.NETWORKS``, the loader ``networks``):

* ``tagger``: our jet transformer (``JetTransformer``; the paper's tagger, sized by the preset)
  and the constituent features every tagger here shares (``jet_inputs`` for the weaver ones);
* ``lgatr_tagger``, ``lloca_tagger``: the exactly Lorentz-invariant peers (L-GATr, LLoCa);
* ``part``, ``particlenet``: weaver-core's ParT and ParticleNet on four-momenta, with their
  sizes per preset (``SIZES``);
* ``networks``: a network by name or by the path of a file of yours (docs/models.md);
* ``regressors``: the jet regression's networks; ``toy``: the toy regression's.

What a network is trained for (loss, penalty, validation) is a task: ``examples/hep/tasks``.
"""
