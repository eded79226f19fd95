"""Studies: the top-tagging studies with their presets (``top_tagging``), the toy regression's
cells (``toy_cells``) and its violation-budget study (``toy_budget``)."""
