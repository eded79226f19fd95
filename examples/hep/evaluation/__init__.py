"""Evaluation: metrics, tables and figures of the tagger (``tagging``), of the jet regression
(``regression``) and of the toy regression (``toy``); the fixed-λ front a violation target is
read against (``front``); the plotting style every figure of the examples uses (``style``)."""
