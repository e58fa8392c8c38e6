"""Framework callbacks: the watch of `advisor.watching` inside Lightning and Hugging Face training.

A framework owns the training loop (zero_grad, backward, step, the scheduler), so `advisor watch
train.py` and `advisor.watch(model, optimizer)` have no place to go there; a callback does. Each
module is one import and needs its framework, installed with an extra:

- `advisor.integrations.lightning.AdvisorCallback` (`pip install advisor[lightning]`), a
  `lightning.pytorch.Callback`;
- `advisor.integrations.huggingface.AdvisorCallback` (`pip install advisor[hf]`), a
  `transformers.TrainerCallback`.

Both start a `advisor.watching.session.Watch` over the framework's model and its underlying
`torch.optim` optimizer when training begins, close it when training ends (or fails), and give
the same report as the probe (`callback.report()`). `framework_watch` holds what they share.
This package imports neither framework: only the module you import does.
"""

from __future__ import annotations
