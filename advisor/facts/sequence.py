"""What kind of sequence task the data is: a language model's targets are its own inputs
shifted by one step, and their class frequencies are the language's word or character
frequencies (Zipf's law), not an imbalance someone should correct."""

from __future__ import annotations

from advisor.facts import Judgement
from advisor.facts.records import DataRecord

MIN_POSITIONS = 50     # token positions compared before anything is said
NEXT_TOKEN_SHARE = 0.9  # a language model's targets: the next input token nearly everywhere


def judge_next_token(record: DataRecord) -> Judgement:
    """data.next_token_targets: the targets are the next input tokens (next-token prediction).
    Only for integer token inputs; unknown below MIN_POSITIONS compared positions."""
    j = Judgement()
    if not record.input_integer or record.next_token_positions < MIN_POSITIONS:
        return j
    share = record.next_token_matches / record.next_token_positions
    j.facts["data.next_token_targets"] = share >= NEXT_TOKEN_SHARE
    j.details["next_token_share"] = round(share, 4)
    return j
