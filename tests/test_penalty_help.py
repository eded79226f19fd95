"""help(GSEAL.forward) / help(DeltaSEAL.forward) show liesoft's docstrings (issue 24 item 5)."""

import pydoc

import torch

from liesoft import GSEAL, DeltaSEAL


def test_forward_docstrings_are_the_penalties_own():
    generic = torch.nn.Module.forward.__doc__ or "Define the computation performed"
    for cls, eq in ((GSEAL, "Eq. 6"), (DeltaSEAL, "Eq. 10")):
        text = pydoc.render_doc(cls.forward, renderer=pydoc.plaintext)
        assert eq in text
        assert "Define the computation performed at every call" not in text
        assert cls.forward.__doc__ != generic
        for arg in ("f:", "x:", "fx:", "generator:", "Returns"):
            assert arg in cls.forward.__doc__, (cls.__name__, arg)
    assert "return_output:" in DeltaSEAL.forward.__doc__
