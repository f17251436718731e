import csv
import shutil
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from utils.data import parse_images, read_competition
from utils.rundir import write_json
from utils.splits import split_table
from utils.synthetic import generate


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory):
    """A small generated competition folder shared by the tests (read-only use)."""
    return generate(tmp_path_factory.mktemp("data") / "demo", n_bags=40, seed=0, workers=2)


@pytest.fixture
def data_copy(demo_dir, tmp_path):
    """A private copy a test may break."""
    return shutil.copytree(demo_dir, tmp_path / "copy")


@pytest.fixture
def train_images_only(demo_dir, tmp_path):
    """The demo folder without its test images: enough for a command that samples training
    images, which must not decode every image first (34,672 at the real size)."""
    return shutil.copytree(demo_dir, tmp_path / "train_only", ignore=lambda d, names: (
        names if Path(d) == Path(demo_dir) / "test/test" else []))


def slice_by_genes(src, out, train_sizes=(5, 5, 4), test_sizes=(4, 3)) -> Path:
    """A competition folder of a few whole genes taken from a generated one, as a user slices
    the download: one gene with `n` bags (all its stages) per entry of train_sizes and
    test_sizes, images copied, hidden test labels kept for 07's local scores."""
    src, out = Path(src), Path(out)
    rows = {}  # gene_stage -> (labels, imgs, image folder)
    with open(src / "train/train.csv") as f:
        rows.update({r["gene_stage"]: (r["labels"], r["imgs"], "train/train") for r in csv.DictReader(f)})
    with open(src / "test/test_without_label.csv") as f:
        test_imgs = {r["gene_stage"]: r["imgs"] for r in csv.DictReader(f)}
    with open(src / "solution/test_labels.csv") as f:
        rows.update({r["gene_stage"]: (r["labels"], test_imgs[r["gene_stage"]], "test/test")
                     for r in csv.DictReader(f)})
    by_gene = defaultdict(list)
    for gene_stage in sorted(rows):
        by_gene[gene_stage.rsplit("_s", 1)[0]].append(gene_stage)
    free = sorted(by_gene)
    picked = []
    for size in (*train_sizes, *test_sizes):
        gene = next(g for g in free if len(by_gene[g]) == size)
        free.remove(gene)
        picked.append(gene)
    for sub in ("train/train", "test/test", "solution"):
        (out / sub).mkdir(parents=True)
    with open(out / "train/train.csv", "w", newline="") as tr, \
            open(out / "test/test_without_label.csv", "w", newline="") as te, \
            open(out / "solution/test_labels.csv", "w", newline="") as so:
        tr, te, so = csv.writer(tr), csv.writer(te), csv.writer(so)
        tr.writerow(["gene_stage", "labels", "imgs"])
        te.writerow(["gene_stage", "imgs"])
        so.writerow(["gene_stage", "labels"])
        for i, gene in enumerate(picked):
            for gene_stage in by_gene[gene]:
                labels, imgs, folder = rows[gene_stage]
                split = "train/train" if i < len(train_sizes) else "test/test"
                for name in parse_images(imgs):
                    shutil.copy(src / folder / name, out / split / name)
                if split == "train/train":
                    tr.writerow([gene_stage, labels, imgs])
                else:
                    te.writerow([gene_stage, imgs])
                    so.writerow([gene_stage, labels])
    return out


def check_blend_and_thresholds(work, y, mask, p_model, floors, held_out: str) -> float:
    """06's blend and thresholds, recomputed from the model's and the floor's predictions on the
    bags that tune them (`held_out`: "valid" or "oof"; `floors`: floor_for_run's pair, those
    bags' and the test bags'): the weight that scored best there, the saved blends at that
    weight (the test bags' too: 07 submits it), thresholds tuned on that blend, and 06's
    per-label table (the report shows it) against sklearn's F1 of each label at those
    thresholds. Returns the weight."""
    from sklearn.metrics import f1_score

    from utils.blend import choose_model_weight
    from utils.rundir import read_json
    from utils.thresholds import apply_thresholds, tune_thresholds

    tuned = read_json(Path(work) / "thresholds.json")
    p_floor, p_floor_test = floors
    weight, _ = choose_model_weight(y, p_model, p_floor, mask)
    blended = np.load(Path(work) / f"preds/bag+floor_{held_out}.npy")
    assert tuned["model_weight"] == weight
    assert np.allclose(blended, weight * p_model + (1 - weight) * p_floor)
    assert np.allclose(np.load(Path(work) / "preds/bag+floor_test.npy"),
                       weight * np.load(Path(work) / "preds/bag_test.npy") + (1 - weight) * p_floor_test)
    assert np.allclose(tuned["thresholds"], tune_thresholds(y, blended, mask=mask))
    pred = apply_thresholds(blended, np.array(tuned["thresholds"]), mask)
    per_label = read_json(Path(work) / "scores/per_label.json")
    assert [r["F1"] for r in per_label] == pytest.approx(f1_score(y, pred, average=None, zero_division=0))
    assert [r["positives"] for r in per_label] == y.sum(0).tolist()
    return weight


def check_plain_tables(folder) -> list[str]:
    """Every CSV file under `folder` is a plain table, a name for each column: no pandas index
    written as an unnamed first column (what `to_csv(index=True)` does). Their relative paths."""
    tables = sorted(Path(folder).rglob("*.csv"))
    for path in tables:
        with open(path, newline="") as f:
            header = next(csv.reader(f))
        assert all(name.strip() for name in header), f"{path}: a column without a name in {header}"
    return [p.relative_to(folder).as_posix() for p in tables]


def printed_by(executed_notebook) -> str:
    """What an executed notebook printed: its cells' standard output, in order."""
    import nbformat
    cells = nbformat.read(executed_notebook, as_version=4).cells
    return "".join(o.text for c in cells if c.cell_type == "code" for o in c.outputs
                   if o.output_type == "stream" and o.name == "stdout")


EXPLAINED = (r"^(\S+): guided grad for term (\d+) \(p = ([\d.]+)\); "
             r"true terms \[([\d, ]*)\], predicted \[([\d, ]*)\]$")  # 08's line for each bag it shows


def check_explained_maps(work, executed_notebook, fold, params) -> None:
    """The maps 08 keeps beside its figures (`params`: the run's parameters), one per bag in
    the order it printed them, on each bag's first image as 03 and 04 see it: guided gradients
    of 03's best CNN for the bag's explained term, and heat maps of 02's warm-up backbone (of
    the CNN when there was no warm-up)."""
    import re

    import torch

    from utils.augment import EvalTransform
    from utils.cache import build_cache
    from utils.engine import load_best, load_checkpoint
    from utils.explain import guided_backprop, layer_heatmap
    from utils.models import build_backbone
    from utils.rundir import fold_dir, load_run

    explained = re.findall(EXPLAINED, printed_by(executed_notebook), re.M)
    comp, _, valid = load_run(work, fold)
    first = {b.gene_stage: b.images[:1] for b in valid}
    cache = build_cache(comp, work, mode="L" if params["in_chans"] == 1 else "RGB")
    transform = EvalTransform(resize_hw=tuple(params["resize_hw"]), out_hw=tuple(params["out_hw"]),
                              grayscale=params["in_chans"] == 1)
    x = transform(torch.from_numpy(np.concatenate([cache.array[cache.rows("train", first[name])]
                                                    for name, *_ in explained])))
    cnn, warm = (build_backbone(params["backbone"], in_chans=params["in_chans"]) for _ in range(2))
    load_best(cnn, fold_dir(Path(work), fold) / "cnn")
    if params["warmup_method"] == "none":  # 02 trained nothing: 08 maps the CNN's layer
        warm = cnn
    else:
        warm.load_state_dict(load_checkpoint(Path(work) / "warmup/backbone.pt"))
    saliency = np.load(Path(work) / "explain/guided_backprop.npy")
    assert len(explained) >= 1 and saliency.shape == (len(explained), *params["out_hw"])
    for i, (name, label, *_) in enumerate(explained):
        assert np.allclose(saliency[i], guided_backprop(cnn, x[i:i + 1], int(label))[0].numpy(), atol=1e-5), name
    heat = layer_heatmap(warm, x, params.get("heatmap_layer"))  # None: the notebook's default layer
    assert np.allclose(np.load(Path(work) / "explain/warmup_heatmaps.npy"), heat.numpy(), atol=1e-5)


def check_explained_bags(work, executed_notebook, fold, params, n_bags: int = 4) -> None:
    """08's printed account of what its figures show, against the run's own files (`params`:
    the run's parameters): n_bags distinct validation bags, each explained for its top
    predicted term (argmax of 05's probabilities) with the terms 07's rule predicts, the maps
    kept (check_explained_maps); each attention bag's image weights are one per image of a bag
    of several, those of 05's saved head in eval mode on the bag's features."""
    import re

    import torch

    from utils.cache import build_cache
    from utils.engine import load_best
    from utils.loaders import BagBatches
    from utils.rundir import fold_dir, load_run, read_json
    from utils.thresholds import apply_thresholds
    from utils.train import BagSettings

    printed = printed_by(executed_notebook)
    comp, _, valid = load_run(work, fold)
    by_name = {b.gene_stage: (i, b) for i, b in enumerate(valid)}
    p_valid = np.load(fold_dir(Path(work), fold) / "preds/bag_valid.npy")
    thresholds = np.array(read_json(Path(work) / "thresholds.json")["thresholds"])
    explained = re.findall(EXPLAINED, printed, re.M)
    assert len(explained) == min(n_bags, len(valid)), printed
    assert len({name for name, *_ in explained}) == len(explained)  # no bag twice
    for name, label, p, true, predicted in explained:
        i, bag = by_name[name]
        assert int(label) == int(np.argmax(p_valid[i])) and float(p) == pytest.approx(p_valid[i].max(), abs=5e-4)
        assert [int(t) for t in re.findall(r"\d+", true)] == list(bag.labels)
        rule = np.flatnonzero(apply_thresholds(p_valid[i][None], thresholds, bag.mask[None])[0])
        assert [int(t) for t in re.findall(r"\d+", predicted)] == rule.tolist() and len(rule) >= 1
    check_explained_maps(work, executed_notebook, fold, params)
    cache = build_cache(comp, work)
    weighted = re.findall(r"^(\S+): image weights \[([^\]]*)\]$", printed, re.M)
    assert len(weighted) == min(n_bags, sum(len(b.images) > 1 for b in valid)), printed
    features = np.load(fold_dir(Path(work), fold) / "features/features.npy")
    head = BagSettings.pick(params).build(features.shape[1])
    load_best(head, fold_dir(Path(work), fold) / "bag")
    for name, weights in weighted:
        w = np.array([float(x) for x in weights.split(",")])
        bag = by_name[name][1]
        assert len(w) == len(bag.images) > 1
        batch = next(iter(BagBatches(features, cache.bag_rows([bag]), bag.target[None],
                                     bag.mask[None].astype(np.float32), 1)))
        with torch.no_grad():
            _, expected = head.eval()(batch["x"], batch["bag_mask"], return_attention=True)
        assert w == pytest.approx(expected[0, :len(w)].numpy(), abs=5.1e-4), name  # printed to 3 places


# Bytes a corrupted or hand-edited CSV holds: separators, quotes, brackets, digits, a NUL,
# a byte-order mark's bytes and cp1252 bytes that are not UTF-8.
CORRUPTING_BYTES = b',"[]\' \n\r\t;0123456789abs_-+.\x00\xef\xbb\xbf\xff\xe9'


def corrupt(data: bytes, rng) -> bytes:
    """1 to 4 random edits: a byte deleted, bytes inserted, the file cut, a line repeated."""
    data = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        op, i = rng.randrange(4), rng.randrange(len(data) + 1)
        if op == 0 and data:
            del data[i % len(data)]
        elif op == 1:
            data[i:i] = bytes(rng.choice(CORRUPTING_BYTES) for _ in range(rng.randint(1, 8)))
        elif op == 2:
            del data[i:]
        elif data:
            lines = data.split(b"\n")
            lines.insert(rng.randrange(len(lines)), lines[rng.randrange(len(lines))])
            data = bytearray(b"\n".join(lines))
    return bytes(data)


@pytest.fixture(scope="session")
def small_dir(tmp_path_factory):
    """21 bags of 5 genes, 3 of them (14 bags) in train: a user's slice of the download."""
    src = generate(tmp_path_factory.mktemp("data") / "source", n_bags=300, seed=0, workers=2)
    return slice_by_genes(src, tmp_path_factory.mktemp("data") / "small")


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# Widths of every <img> as the browser decoded them, written into the DOM once the page loaded.
_PROBE = ("<script>window.addEventListener('load', () => document.body.setAttribute('data-image-widths', "
          "Array.from(document.images).map(i => i.naturalWidth).join(',')));</script>")


def render_in_chromium(html_path, tmp_path) -> str:
    """The DOM of a page after headless Chromium loaded it, with each image's naturalWidth
    in body[data-image-widths]. Skips the test where Chromium is not installed."""
    import subprocess

    if CHROMIUM is None:
        pytest.skip("headless Chromium is not installed (Debian: apt-get install chromium)")
    probe = Path(tmp_path) / "probed.html"
    probe.write_text(Path(html_path).read_text(encoding="utf-8").replace("</body>", _PROBE + "</body>"),
                     encoding="utf-8")
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={Path(tmp_path) / 'chromium-profile'}", "--virtual-time-budget=10000"]
    out = subprocess.run([CHROMIUM, *flags, "--dump-dom", probe.as_uri()], capture_output=True, text=True,
                         timeout=120, check=True)
    return out.stdout


@pytest.fixture
def kfold_work(demo_dir, tmp_path, request):
    """A work folder as 00_demo_data leaves it with n_folds=3 (or the test's indirect parameter)."""
    comp = read_competition(demo_dir, check_images=False)
    genes = np.array([b.gene for b in comp.train])
    n_folds = getattr(request, "param", 3)
    table, _ = split_table([b.gene_stage for b in comp.train], genes, comp.targets(), 0.2, n_folds=n_folds, seed=0)
    table.to_csv(tmp_path / "split.csv", index=False)
    write_json(tmp_path / "data.json", {"data_dir": str(demo_dir)})
    return tmp_path, comp
