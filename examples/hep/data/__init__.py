"""Data: Pythia jets (``jetgen``) through a detector model (``detector``), the loaders of
generated, ATLAS and reference jet files (``loaders``), boost augmentation with GSEAL's sampler
(``augment``), the toy regression's task (``toy``) and synthetic prong jets for the weaver
taggers' tests and benchmarks (``toy_jets``)."""
