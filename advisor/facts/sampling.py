"""Whether the loader reshuffles the data every epoch, from the type of its index sampler.

Only samplers whose order PyTorch documents are judged: a custom sampler, a list of batches or
an iterable may shuffle or not, and the label-order statistic (advisor.facts.order) is the
evidence there.
"""

from __future__ import annotations

from advisor.facts import Judgement

SHUFFLING_SAMPLERS = frozenset({
    "torch.utils.data.sampler.RandomSampler",
    "torch.utils.data.sampler.SubsetRandomSampler",
    "torch.utils.data.sampler.WeightedRandomSampler",
})
"""Samplers that draw a new random order every epoch (DataLoader(shuffle=True) uses the first)."""
IN_ORDER_SAMPLERS = frozenset({"torch.utils.data.sampler.SequentialSampler"})
"""Samplers that read the dataset in stored order (DataLoader(shuffle=False), the default)."""
FLAG_SAMPLERS = frozenset({"torch.utils.data.distributed.DistributedSampler"})
"""Samplers whose own `shuffle` argument says whether they shuffle."""


def shuffled(sampler: str | None, shuffle_flag: bool | None) -> bool | None:
    """True for a shuffling sampler, False for a sequential one, None for anything else.

    `sampler` is the exact module.qualname of the sampler class: a subclass may iterate in any
    order, so it is not judged by its base class."""
    if sampler in SHUFFLING_SAMPLERS:
        return True
    if sampler in IN_ORDER_SAMPLERS:
        return False
    if sampler in FLAG_SAMPLERS and isinstance(shuffle_flag, bool):
        return shuffle_flag
    return None


def judge_shuffling(sampler: str | None, shuffle_flag: bool | None,
                    single_batch_epoch: bool = False) -> Judgement:
    """data.shuffled from the sampler type, left unknown when the type does not say, and when
    a whole epoch is one batch (one sample included): then every epoch presents the same
    samples together whatever their order, so reshuffling changes nothing and "not shuffled"
    would be a false alarm."""
    value = None if single_batch_epoch else shuffled(sampler, shuffle_flag)
    out = Judgement(facts={} if value is None else {"data.shuffled": value})
    if sampler is not None:
        out.details["sampler"] = sampler
    return out
