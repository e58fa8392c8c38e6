"""The framework-independent part of the callbacks (fast: no framework is imported): the error
when an extra is missing, the torch optimizer inside a framework's wrapper, and how an error
that ended a run is told in the report."""

from __future__ import annotations

import importlib
import sys

import pytest
import torch

from advisor.errors import AdvisorError
from advisor.integrations.framework_watch import (
    MissingExtraError,
    ending_for,
    underlying_optimizer,
)


@pytest.mark.parametrize(("module", "blocked", "extra"), [
    ("advisor.integrations.lightning", ("lightning.pytorch", "pytorch_lightning"), "lightning"),
    ("advisor.integrations.huggingface", ("transformers",), "hf"),
])
def test_missing_framework_names_the_extra_to_install(monkeypatch, module, blocked, extra):
    monkeypatch.delitem(sys.modules, module, raising=False)
    for name in blocked:  # None in sys.modules: `import name` fails as if it were absent
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(MissingExtraError, match=rf"pip install 'advisor\[{extra}\]'") as caught:
        importlib.import_module(module)
    assert isinstance(caught.value, AdvisorError) and isinstance(caught.value, ImportError)


class FrameworkWrapper:
    """What Lightning and accelerate do: keep the torch optimizer under an attribute."""

    def __init__(self, inner, attr):
        setattr(self, attr, inner)


def test_the_torch_optimizer_inside_wrappers_is_found():
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(2))], lr=0.1)
    assert underlying_optimizer(opt) is opt
    assert underlying_optimizer(FrameworkWrapper(opt, "optimizer")) is opt
    assert underlying_optimizer(FrameworkWrapper(FrameworkWrapper(opt, "optimizer"),
                                                 "_optimizer")) is opt
    assert underlying_optimizer(FrameworkWrapper("a name", "optimizer")) is None
    assert underlying_optimizer(None) is None


def test_an_optimizer_subclass_that_wraps_another_gives_the_inner_one():
    """accelerate's AcceleratedOptimizer is itself a torch Optimizer holding the real one."""

    class Wrapping(torch.optim.Optimizer):
        def __init__(self, inner):
            self.optimizer = inner

    inner = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(2))])
    assert underlying_optimizer(Wrapping(Wrapping(inner))) is inner
    odd = Wrapping("a name")  # an attribute that happens to be called so: itself
    assert underlying_optimizer(odd) is odd


def test_the_error_that_ended_a_run_is_told_with_its_line():
    try:
        raise RuntimeError("element 0 of tensors does not require grad")
    except RuntimeError as exc:
        ending = ending_for(exc)
    assert ending.how == "crashed" and ending.error_type == "RuntimeError"
    assert ending.error_message == "RuntimeError: element 0 of tensors does not require grad"
    assert ending.where is not None and ending.where.startswith(__file__)
    assert ending_for(KeyboardInterrupt()).how == "interrupted"
    assert ending_for(None).how == "finished"
