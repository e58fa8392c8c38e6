"""Instruments: measurements attached to a model and an optimizer through public PyTorch hooks.

An instrument never owns the training loop. It attaches with `attach(model, optimizer)` (module
forward hooks, optimizer step pre/post hooks), records plain numbers while whatever loop drives
the model runs (the probe's experiments today; the user's own script under `advisor watch`
later), and detaches cleanly with `detach()`. Costly statistics are taken on sampled steps only
(`StepClock.sampled`), so the overhead stays near a plain loop's.

What the records mean is judged elsewhere: `advisor.facts` turns them into facts.
"""

from advisor.instruments.activations import ActivationStats
from advisor.instruments.base import Instrument, StepClock
from advisor.instruments.clipping import ClippingDetector
from advisor.instruments.decay import DecayShare
from advisor.instruments.gradients import GradientNorms
from advisor.instruments.nonfinite import NonfiniteOrigin
from advisor.instruments.numerics import NumericMargins
from advisor.instruments.timing import StepTimer
from advisor.instruments.updates import UpdateRatios

__all__ = ["ActivationStats", "ClippingDetector", "DecayShare", "GradientNorms", "Instrument",
           "NonfiniteOrigin", "NumericMargins", "StepClock", "StepTimer", "UpdateRatios"]
