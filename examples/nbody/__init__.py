"""liesoft on N-body dynamics under E(3) (issue 31)."""
