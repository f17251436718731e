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


def check_backbone(name: str) -> str:
    """`name` if timm has a model of that name, else a ValueError with the closest names
    (timm's own error comes only when the model is built, after the notebooks before it ran)."""
    import difflib

    import timm
    if not isinstance(name, str) or not timm.is_model(name):
        near = difflib.get_close_matches(str(name), timm.list_models(), n=3)
        raise ValueError(f"backbone {name!r}: timm has no such model"
                         + (f"; did you mean {' or '.join(near)}?" if near else ""))
    return name


COMPILE_BACKENDS_OF_THE_KIT = ("cuda-graph", "inductor-cudagraphs")  # see train.compile_network


def check_compile_backend(backend):
    """`backend` if it is None (eager), one of the kit's own names, or a torch.compile backend;
    else a ValueError listing them (torch says so only when the first step compiles)."""
    if backend is None or backend in COMPILE_BACKENDS_OF_THE_KIT:
        return backend
    from torch._dynamo import list_backends
    known = list_backends(exclude_tags=())  # debug ones too, such as aot_eager
    if backend not in known:
        raise ValueError(f"compile_backend {backend!r} unknown; choose None (eager), "
                         f"{' or '.join(map(repr, COMPILE_BACKENDS_OF_THE_KIT))}, or a torch.compile "
                         f"backend ({', '.join(list_backends())}, or see torch._dynamo.list_backends)")
    return backend


OPEN_CHOICES = {"backbone": check_backbone, "compile_backend": check_compile_backend}
