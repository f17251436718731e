"""The values each choice parameter may take, in one place: the pipeline refuses any other
before a run starts, and the code that reads the parameter checks it again (for runs by hand),
so a typo never falls through to another branch."""
from __future__ import annotations

CHOICES = {
    "bag_head": ("attention", "bilstm", "mean"),
    "lstm_readout": ("mean", "ends"),
    "lstm_input_norm": ("none", "layernorm"),
    "lstm_dropout_at": ("all", "linear"),
    "lstm_skip": ("none", "mean"),
    "warmup_method": ("swav", "agree", "none"),
    "bag_inputs": ("features", "oof_probs"),
    "source": ("bag", "cnn", "bag+floor", "cnn+floor"),
    "threshold_objective": ("macro", "sample"),
    "demo_style": ("clean", "real"),
    "progress": ("widgets", "text", None),
}


def check_choice(name: str, value):
    """`value` if it is one of CHOICES[name], else a ValueError naming both."""
    if value not in CHOICES[name]:
        raise ValueError(f"{name} {value!r} unknown; choose from {CHOICES[name]}")
    return value
