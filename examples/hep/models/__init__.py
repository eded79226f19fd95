"""Models: the networks (``tagger``, ``lgatr_tagger``, ``regressors``, ``toy``) and, for the
jet models, their :class:`examples.hep.training.Recipe` (``tagger_recipe``,
``regressor_recipe``): methods, penalties, forward and loss. A new jet model plugs into the
training loop by giving a Recipe."""
