"""Experiments: every run the probe makes (the training run, the LR range test, the overfit
test, the NaN localisation replay, and later remedy trials) drives the same step loop
(`loop.run_steps`) on fresh copies from the `Recipe`, with the user's own training step when the
setup gives one. Experiments are bounded by steps; a time cap only cuts them short, and a run cut
short says so (`LoopRecord.capped`) so that nothing reads it as a verdict.
"""
