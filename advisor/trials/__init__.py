"""Verified remedies: short matched A/B runs of the remedies the knowledge base can try on a
copy of the setup (issue 11). Transforms edit an ArmSpec (arm.py); the runner trains the arms
(runner.py); pure statistics decide (statistics.py)."""
