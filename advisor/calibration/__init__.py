"""Accuracy on labelled probe reports, and rule thresholds fitted on them.

- `labels`: the label file (labels.yaml) and the split file (split.yaml), read strictly.
- `reports`: labelled cases read back from a folder of JSON probe reports.
- `scoring`: verdicts, per-id precision/recall, confusion, false alarms, times, per part.
- `fit`: thresholds and certainty factors fitted per rule (docs/calibration.md).
- `overlay`: the fitted changes as a knowledge file loaded with `--kb`.

Imports neither torch nor textual: `advisor kb calibrate` and the scorer run without them.
"""
