"""liesoft on N-body dynamics under E(3), the symmetry broken by a field (issue 31).

    data (``data/``) -> models (``models/``) -> ``training`` -> ``evaluation`` -> ``nbody.py``

* ``data/``: ``simulator`` (``simulate``: charged particles, Coulomb, ``"uniform"``/``"trap"``
  fields, velocity Verlet, float64) and ``dataset`` (the EGNN paper's protocol, seeded, cached);
* ``models/``: ``gnn`` (the paper's GNN baseline), ``egnn`` (EGNN with the velocity update,
  FieldEGNN), ``layers`` (dense message passing), ``methods`` (the mixed representation
  ``Point() + Vector() + Scalar()``, penalties, augmentation: the study's methods);
* ``training``: the one loop, :class:`~examples.nbody.training.Experiment`, step timing;
* ``evaluation``: test MSE, test violation (GSEAL under E(3)), result files, report tables;
* ``nbody.py``: the entry script (configuration, then ``main()``).

Set-up, measured cost and the proposed study: docs/nbody.md.
"""
