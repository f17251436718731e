"""Read and validate a FlyExpress competition folder and turn it into bags.

Layout (what a competitor downloads)::

    DATA/train/train.csv              gene_stage, labels, imgs
    DATA/train/label_dict.csv         label index -> term (optional)
    DATA/train/train/<name>.bmp
    DATA/test/test_without_label.csv  gene_stage, imgs
    DATA/test/test/<name>.bmp

Every problem is reported with the file, the line and the offending value, all of
them at once, before any long work starts.

    python -m utils.data validate DATA_DIR
"""
from __future__ import annotations

import argparse
import hashlib
import re
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from .csvfile import CSVFileError, records
from .facts import IMAGE_HW
from .parallel import chunked_map
from .labels import N_LABELS, STAGES, stage_mask

TRAIN_CSV = Path("train/train.csv")
TEST_CSV = Path("test/test_without_label.csv")
LABEL_DICT_CSV = Path("train/label_dict.csv")
IMAGE_DIRS = {"train": Path("train/train"), "test": Path("test/test")}
CSV_FILES = {"train": TRAIN_CSV, "test": TEST_CSV}
COLUMNS = {"train": ("gene_stage", "labels", "imgs"), "test": ("gene_stage", "imgs")}

_GENE_STAGE = re.compile(r"^(?P<gene>.+)_s(?P<stage>\d+)$")
_SEPARATORS = re.compile(r"[,;\s]+")
_IMAGE_NAME = re.compile(r"^[\w.\-+]+$")


class DataError(ValueError):
    """A problem with the competition folder; the message names file, line and value."""


@dataclass(frozen=True)
class Bag:
    """All images of one gene at one stage, with the bag's labels (None for test bags)."""

    gene_stage: str
    gene: str
    stage: int
    images: tuple[str, ...]
    labels: tuple[int, ...] | None
    split: str  # "train" or "test"

    @property
    def target(self) -> np.ndarray:
        y = np.zeros(N_LABELS, dtype=np.float32)
        if self.labels:
            y[list(self.labels)] = 1.0
        return y

    @property
    def mask(self) -> np.ndarray:
        """Labels this bag's stage allows (loss and predictions are zeroed elsewhere)."""
        return stage_mask([self.stage])[0]


@dataclass
class Competition:
    data_dir: Path
    train: list[Bag]
    test: list[Bag]
    terms: dict[int, str]
    warnings: list[str] = field(default_factory=list)

    def image_path(self, split: str, name: str) -> Path:
        return self.data_dir / IMAGE_DIRS[split] / name

    def targets(self, bags=None) -> np.ndarray:
        return np.stack([b.target for b in (self.train if bags is None else bags)])


def _strip_list(value: str) -> str:
    """Drop surrounding quotes and one pair of brackets."""
    value = value.strip().strip("'\"").strip()
    if value[:1] in "[(" and value[-1:] in "])":
        value = value[1:-1]
    return value


def parse_tokens(value: str) -> list[str]:
    """Split '[a.bmp, b.bmp]', "['a','b']", 'a;b', 'a b' ... into their items."""
    return [t.strip("'\"") for t in _SEPARATORS.split(_strip_list(value)) if t.strip("'\"")]


def parse_labels(value: str) -> tuple[int, ...]:
    """Label indices from '0,8', '[0, 8]', '"0 8"', '0;8'; raises ValueError on anything else."""
    labels = []
    for token in parse_tokens(value):
        if not re.fullmatch(r"[+-]?\d+", token):
            raise ValueError(f"label {token!r} is not an integer")
        index = int(token)
        if not 0 <= index < N_LABELS:
            raise ValueError(f"label {index} is outside 0..{N_LABELS - 1}")
        labels.append(index)
    if not labels:
        raise ValueError("no labels")
    if len(set(labels)) != len(labels):
        raise ValueError("a label is listed twice")
    return tuple(sorted(labels))


def parse_images(value: str) -> tuple[str, ...]:
    names = parse_tokens(value)
    if not names:
        raise ValueError("the bag lists no images")
    for name in names:
        if not _IMAGE_NAME.fullmatch(name):
            raise ValueError(f"image name {name!r} has characters a file name should not")
    return tuple(names)


def parse_gene_stage(value: str) -> tuple[str, int]:
    match = _GENE_STAGE.fullmatch(value.strip())
    if not match:
        raise ValueError("gene_stage has no stage suffix '_sN'")
    stage = int(match["stage"])
    if stage not in STAGES:
        raise ValueError(f"stage {stage} is outside {STAGES[0]}..{STAGES[-1]}")
    return match["gene"], stage


def _read_rows(path: Path, split: str, errors: list[str]) -> list[tuple[int, dict]]:
    """CSV rows with their line numbers; file and column problems go to `errors`."""
    if not path.is_file():
        errors.append(f"{path}: file not found (expected the competition layout, see utils/data.py)")
        return []
    rows, header = [], None
    try:
        for line, fields in records(path):
            if header is None:
                header = [h.strip() for h in fields]
                missing = [c for c in COLUMNS[split] if c not in header]
                if missing:
                    errors.append(f"{path} line {line}: missing column(s) {missing}; header is {header}")
                    return []
                if split == "test" and "labels" in header:
                    errors.append(f"{path} line {line}: test file has a 'labels' column; is this a train file?")
            elif len(fields) > len(header):
                errors.append(f"{path} line {line}: {len(fields)} fields, header has {len(header)}; "
                              f"quote lists that contain commas")
            else:
                rows.append((line, dict(zip(header, fields))))
    except CSVFileError as e:
        errors.append(str(e))
    if header is None:
        errors.append(f"{path}: the file is empty; expected a header with {list(COLUMNS[split])}")
    return rows


def _parse_split(data_dir: Path, split: str, errors: list[str]) -> list[Bag]:
    path = data_dir / CSV_FILES[split]
    bags, first_line = [], {}
    for line, row in _read_rows(path, split, errors):
        where = f"{path} line {line}"
        gene_stage = row.get("gene_stage", "").strip()
        parsed = {}
        for column, parse in (("gene_stage", parse_gene_stage), ("imgs", parse_images),
                              ("labels", parse_labels)):
            if column not in COLUMNS[split]:
                continue
            try:
                parsed[column] = parse(row.get(column, ""))
            except ValueError as e:
                errors.append(f"{where}: {column} {row.get(column, '')!r}: {e}")
        if len(parsed) < len(COLUMNS[split]):
            continue
        if gene_stage in first_line:
            errors.append(f"{where}: gene_stage {gene_stage!r} duplicated (first on line "
                          f"{first_line[gene_stage]}); merge the two rows into one bag")
            continue
        first_line[gene_stage] = line
        gene, stage = parsed["gene_stage"]
        images, labels = parsed["imgs"], parsed.get("labels")
        bags.append(Bag(gene_stage, gene, stage, images, labels, split))
    return bags


def read_terms(data_dir: Path, errors: list[str]) -> dict[int, str]:
    """label_dict.csv if present, else the standard BDGP terms. Rows that are not
    'index,term' with an index in 0..29 (a header, say) are skipped; a file that cannot be
    read goes to `errors`."""
    from .facts import TERMS

    path = data_dir / LABEL_DICT_CSV
    terms = dict(enumerate(TERMS))
    if path.is_file():
        try:
            for _, row in records(path):
                index = row[0].strip()
                if len(row) >= 2 and re.fullmatch(r"[0-9]+", index) and int(index) < N_LABELS:
                    terms[int(index)] = row[1].strip()
        except CSVFileError as e:
            errors.append(str(e))
    return terms


def check_image(path: Path) -> tuple[str | None, tuple[int, int] | None]:
    """(why the image cannot be used or None, its (width, height) when it decodes)."""
    if not path.is_file():
        return "file not found; restore it or remove it from its row", None
    try:
        with Image.open(path) as im:
            im.load()
            return None, im.size
    except Exception as e:  # PIL raises many types for bad files
        return (f"cannot be decoded ({type(e).__name__}: {e}); replace the file or remove it "
                f"from its row"), None


def check_images_of(paths: list) -> list:
    """check_image of each path: one task of read_competition's worker processes."""
    return [check_image(path) for path in paths]


def read_competition(data_dir, check_images: bool = True, workers: int | None = None) -> Competition:
    """Parse both CSVs into bags; raise DataError listing every problem found.
    `check_images` decodes every image, in `workers` processes (default: every core)."""
    data_dir = Path(data_dir)
    errors: list[str] = []
    train = _parse_split(data_dir, "train", errors)
    test = _parse_split(data_dir, "test", errors)
    terms = read_terms(data_dir, errors)
    if not errors:
        overlap = {b.gene_stage for b in train} & {b.gene_stage for b in test}
        if overlap:
            errors.append(f"{data_dir / TEST_CSV}: {len(overlap)} test bag(s) also in train, "
                          f"e.g. {sorted(overlap)[:3]}")
        if not test:
            errors.append(f"{data_dir / TEST_CSV}: no test bags")
        if not train:
            errors.append(f"{data_dir / TRAIN_CSV}: no train bags")
    odd_sizes = Counter()
    if check_images:
        listed = [(split, bag, data_dir / IMAGE_DIRS[split] / name)
                  for split, bags in (("train", train), ("test", test)) for bag in bags for name in bag.images]
        checked = chunked_map(check_images_of, [path for _, _, path in listed], workers)
        for (split, bag, path), (problem, size) in zip(listed, (c for chunk in checked for c in chunk)):
            if problem:
                errors.append(f"{path}: {problem} (listed by {data_dir / CSV_FILES[split]}, bag {bag.gene_stage})")
            elif size != (IMAGE_HW[1], IMAGE_HW[0]):
                odd_sizes[size] += 1
    if errors:
        shown = "\n  ".join(errors[:50])
        more = f"\n  ... and {len(errors) - 50} more" if len(errors) > 50 else ""
        raise DataError(f"{len(errors)} problem(s) in {data_dir}:\n  {shown}{more}")
    warnings = [f"{n} image(s) of {w}x{h} will be resized to {IMAGE_HW[1]}x{IMAGE_HW[0]}"
                for (w, h), n in sorted(odd_sizes.items())]
    return Competition(data_dir, train, test, terms, warnings)


def fingerprint(data_dir) -> str:
    """Hash of both CSVs and every image's name, size and mtime: changes when the data does."""
    data_dir = Path(data_dir)
    h = hashlib.sha1()
    for rel in (TRAIN_CSV, TEST_CSV):
        h.update((data_dir / rel).read_bytes())
    for split, rel in IMAGE_DIRS.items():
        folder = data_dir / rel
        for p in sorted(folder.iterdir()) if folder.is_dir() else []:
            st = p.stat()
            h.update(f"{split}/{p.name}:{st.st_size}:{st.st_mtime_ns}".encode())
    return h.hexdigest()[:16]


def summary(comp: Competition) -> str:
    """What a competitor wants to see before training: counts, bags and labels per stage."""
    lines = [f"data: {comp.data_dir}"]
    for split, bags in (("train", comp.train), ("test", comp.test)):
        sizes = np.array([len(b.images) for b in bags])
        lines.append(f"{split}: {len(bags)} bags, {sizes.sum()} images, bag size "
                     f"{sizes.min()}..{sizes.max()} (median {np.median(sizes):g}), "
                     f"{len({b.gene for b in bags})} genes")
    lines.append("train bags and mean labels per bag, by stage:")
    for stage in STAGES:
        bags = [b for b in comp.train if b.stage == stage]
        n_test = sum(b.stage == stage for b in comp.test)
        mean = np.mean([len(b.labels) for b in bags]) if bags else 0.0
        lines.append(f"  stage {stage}: {len(bags):5d} train bags, {mean:.2f} labels/bag, "
                     f"{n_test:5d} test bags")
    counts = Counter(i for b in comp.train for i in b.labels)
    lines.append("label counts (train): " + " ".join(f"{i}:{counts.get(i, 0)}" for i in range(N_LABELS)))
    lines += [f"warning: {w}" for w in comp.warnings]
    off_stage = sum(not b.mask[i] for b in comp.train for i in b.labels)
    if off_stage:
        lines.append(f"warning: {off_stage} label(s) at a stage where the real data never has them")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m utils.data", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    v = sub.add_parser("validate", help="check a competition folder and summarise it")
    v.add_argument("data_dir")
    v.add_argument("--skip-images", action="store_true", help="do not decode every image")
    args = parser.parse_args(argv)
    try:
        comp = read_competition(args.data_dir, check_images=not args.skip_images)
    except DataError as e:
        print(f"INVALID: {e}", file=sys.stderr)
        return 1
    print(summary(comp))
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
