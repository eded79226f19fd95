"""Data: Pythia jets (``jetgen``) through a detector model (``detector``), the loaders of
generated, ATLAS and reference jet files (``loaders``), and the toy regression's task (``toy``)."""
