import csv
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from utils import data
from utils.cache import build_cache
from utils.data import DataError, parse_images, parse_labels, read_competition, summary


@pytest.mark.parametrize("text", ["0,8", "[0, 8]", "'0 8'", "0;8", '"[0,8]"', "8 0", "(0,8)", "['0', '8']"])
def test_label_spellings(text):
    assert parse_labels(text) == (0, 8)


@pytest.mark.parametrize("text", ["[a.bmp,b.bmp]", "['a.bmp', 'b.bmp']", "a.bmp b.bmp", "a.bmp;b.bmp",
                                  '"[a.bmp, b.bmp]"'])
def test_image_list_spellings(text):
    assert parse_images(text) == ("a.bmp", "b.bmp")


@pytest.mark.parametrize("text", ["[0,8", "0,8]", "(0 8"])
def test_a_list_with_one_bracket_is_refused_not_cut(text):
    # stripping a lone '[' with the last character would read '[0,8' as (0,) without a word
    with pytest.raises(ValueError, match="is not an integer"):
        parse_labels(text)


def _rewrite(path, edit):
    rows = list(csv.reader(open(path, newline="")))
    rows = edit(rows)
    with open(path, "w", newline="") as f:
        csv.writer(f).writerows(rows)


def _set(row, col, value):
    def edit(rows):
        rows[row][col] = value
        return rows
    return edit


BAD_TRAIN = {
    "missing column": (lambda rows: [r[:2] for r in rows], ["line 1", "missing column", "imgs"]),
    "unparsable labels": (_set(1, 1, "0,x"), ["line 2", "'0,x'", "not an integer"]),
    "label out of range": (_set(2, 1, "3,30"), ["line 3", "'3,30'", "outside 0..29"]),
    "no stage": (_set(3, 0, "CG0001"), ["line 4", "'CG0001'", "no stage suffix"]),
    "stage out of range": (_set(3, 0, "CG0001_s9"), ["line 4", "'CG0001_s9'", "stage 9 is outside 2..6"]),
    "bag without images": (_set(2, 2, "[]"), ["line 3", "'[]'", "no images"]),
    "duplicated gene_stage": (lambda rows: rows + [rows[1]], ["duplicated", "first on line 2"]),
    "too many fields": (lambda rows: rows[:2] + [rows[2] + ["extra"]] + rows[3:],
                        ["line 3", "4 fields, header has 3", "quote lists"]),
    "label listed twice": (_set(2, 1, "3,3"), ["line 3", "'3,3'", "listed twice"]),
    "empty labels": (_set(4, 1, ""), ["line 5", "labels ''", "no labels"]),
    "image outside the image folder": (_set(2, 2, "[../x.bmp]"), ["line 3", "'../x.bmp'", "a file name should not"]),
}


@pytest.mark.parametrize("case", sorted(BAD_TRAIN))
def test_bad_train_csv_names_file_line_and_value(data_copy, case):
    edit, expected = BAD_TRAIN[case]
    _rewrite(data_copy / "train/train.csv", edit)
    with pytest.raises(DataError) as err:
        read_competition(data_copy)
    message = str(err.value)
    assert str(data_copy / "train/train.csv") in message
    for part in expected:
        assert part in message, (part, message)


def _first_train_image(folder):
    row = next(csv.DictReader(open(folder / "train/train.csv")))
    return row["gene_stage"], parse_images(row["imgs"])[0]


def test_missing_image_is_named(data_copy):
    bag, name = _first_train_image(data_copy)
    (data_copy / "train/train" / name).unlink()
    with pytest.raises(DataError, match=rf"{name}: file not found.*bag {bag}"):
        read_competition(data_copy)


def test_unreadable_image_is_named(data_copy):
    bag, name = _first_train_image(data_copy)
    (data_copy / "train/train" / name).write_bytes(b"BM not really a bitmap")
    with pytest.raises(DataError, match=rf"{name}: cannot be decoded"):
        read_competition(data_copy)


def test_validate_cli(demo_dir, capsys):
    assert data.main(["validate", str(demo_dir)]) == 0
    out = capsys.readouterr().out
    assert "OK" in out and "stage 6" in out


def test_validate_cli_fails_clearly(data_copy, capsys):
    _rewrite(data_copy / "train/train.csv", _set(1, 1, "42"))
    assert data.main(["validate", str(data_copy)]) == 1
    assert "label 42 is outside" in capsys.readouterr().err


def test_validate_cli_without_a_command_shows_its_usage(capsys):
    with pytest.raises(SystemExit) as stop:  # argparse's usage error, not a traceback
        data.main([])
    assert stop.value.code == 2 and "required: command" in capsys.readouterr().err


def test_bags_carry_stage_mask_and_targets(demo_dir):
    comp = read_competition(demo_dir)
    for bag in comp.train:
        assert bag.target.sum() == len(bag.labels)
        assert bag.mask[list(bag.labels)].all()  # the generator only draws allowed labels
    assert {b.split for b in comp.test} == {"test"} and all(b.labels is None for b in comp.test)


def test_cache_is_memory_mapped_and_rebuilt_when_an_image_changes(data_copy, tmp_path):
    comp = read_competition(data_copy)
    cache = build_cache(comp, tmp_path)
    assert isinstance(cache.array, np.memmap) and cache.array.shape[1:] == (128, 320)
    bag = comp.train[0]
    row = cache.rows("train", bag.images[:1])[0]
    path = comp.image_path("train", bag.images[0])
    expected = np.asarray(Image.open(path).convert("L"))
    assert np.array_equal(cache.array[row], expected)
    assert build_cache(comp, tmp_path).path == cache.path  # reused
    Image.fromarray(np.zeros((128, 320, 3), np.uint8)).save(path)
    rebuilt = build_cache(comp, tmp_path)
    assert rebuilt.path != cache.path and not cache.path.exists()
    assert rebuilt.array[row].max() == 0
    rgb = build_cache(comp, tmp_path, mode="RGB")
    assert rgb.array.shape[1:] == (128, 320, 3)
    with pytest.raises(ValueError, match="mode must be 'L' or 'RGB', not 'RGBA'"):
        build_cache(comp, tmp_path, mode="RGBA")
    rebuilt.path.with_suffix(".json").unlink()  # killed between the pixels and their record
    again = build_cache(comp, tmp_path)
    assert again.path == rebuilt.path and np.array_equal(again.array, rebuilt.array)
    again.path.with_suffix(".json").unlink()  # a stale cache whose record is already gone
    Image.fromarray(np.full((128, 320, 3), 9, np.uint8)).save(path)
    newer = build_cache(comp, tmp_path)  # is removed all the same
    assert newer.path != again.path and not again.path.exists() and newer.array[row].max() == 9
    assert sorted(p.name for p in (tmp_path / "cache").glob("images-L-*")) == sorted(
        [newer.path.name, newer.path.with_suffix(".json").name])


def test_a_cache_build_removes_what_a_killed_build_left_and_keeps_a_running_ones(demo_dir, tmp_path, capsys):
    """A killed build leaves its hidden temporary file (1.4 GB at the real size); the next build
    removes it. One whose process still runs (the PID in its name) and other modes' stay."""
    comp = read_competition(demo_dir, check_images=False)
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait()
    folder = tmp_path / "cache"
    folder.mkdir()
    killed = folder / f".images-L-0123456789abcdef.partial-{ended.pid}.npy"
    running = folder / f".images-L-0123456789abcdef.partial-{os.getppid()}.npy"
    other_mode = folder / f".images-RGB-0123456789abcdef.partial-{ended.pid}.npy"
    for f in (killed, running, other_mode):
        f.write_bytes(b"half an image cache")
    build_cache(comp, tmp_path, workers=1)
    assert not killed.exists() and running.exists() and other_mode.exists()
    assert f"removed {killed.name}, left by a build that was killed" in capsys.readouterr().out


def test_cache_rows_are_each_images_pixels_whatever_the_number_of_workers(demo_dir, tmp_path, monkeypatch, capsys):
    import utils.cache
    monkeypatch.setattr(utils.cache, "DECODE_CHUNK", 7)  # many chunks, one of them short
    comp = read_competition(demo_dir, workers=3)
    n = len(build_cache(comp, tmp_path / "bar", workers=2, progress="text"))
    last = capsys.readouterr().out.strip().split("\r")[-1]
    assert last.startswith("caching images (L): 100%") and f" {n}/{n} " in last, last  # every image counted
    assert comp == read_competition(demo_dir, workers=1)
    one, three = build_cache(comp, tmp_path / "one", workers=1), build_cache(comp, tmp_path / "three", workers=3)
    assert len(three) % 7 and one.path.read_bytes() == three.path.read_bytes()
    for (split, name), row in three.index.items():
        assert np.array_equal(three.array[row], np.asarray(Image.open(comp.image_path(split, name)).convert("L")))


def test_an_image_two_bags_list_is_cached_once(demo_dir, tmp_path):
    """Both bags read the same row; a second row would hold the same pixels again (and a
    second decode)."""
    import dataclasses
    comp = read_competition(demo_dir, check_images=False)
    shared = comp.train[0].images[0]
    comp.train[1] = dataclasses.replace(comp.train[1], images=comp.train[1].images + (shared,))
    cache = build_cache(comp, tmp_path)
    n_images = len({(b.split, name) for b in comp.train + comp.test for name in b.images})
    assert len(cache) == n_images and cache.rows("train", [shared]) == cache.bag_rows(comp.train[1:2])[0][-1]


def test_an_image_that_breaks_while_caching_is_named_and_leaves_no_cache(data_copy, tmp_path):
    comp = read_competition(data_copy)
    name = comp.test[-1].images[-1]
    (data_copy / "test/test" / name).write_bytes(b"BM broken")
    with pytest.raises(DataError, match=rf"{name}: cannot be decoded"):
        build_cache(comp, tmp_path, workers=2)
    assert list((tmp_path / "cache").iterdir()) == []


def test_every_bad_image_is_named_in_row_order_by_the_parallel_check(data_copy):
    comp = read_competition(data_copy)
    names = [n for bag in comp.train[:3] for n in bag.images[:1]]
    for name in names:
        (data_copy / "train/train" / name).write_bytes(b"not an image")
    with pytest.raises(DataError) as error:
        read_competition(data_copy, workers=4)
    assert [line.split(": cannot be decoded")[0].rsplit("/", 1)[-1] for line in str(error.value).splitlines()[1:]] == names


def test_cache_resizes_odd_sizes(data_copy, tmp_path, capsys):
    comp = read_competition(data_copy)
    path = comp.image_path("train", comp.train[0].images[0])
    Image.new("RGB", (160, 64), "white").save(path)
    comp = read_competition(data_copy)
    assert comp.warnings == ["1 image(s) of 160x64 will be resized to 320x128"]
    assert "warning: 1 image(s) of 160x64 will be resized to 320x128" in summary(comp).splitlines()  # validate says it
    capsys.readouterr()
    cache = build_cache(comp, tmp_path)
    assert cache.resized == 1
    assert "warning: 1 image(s) were not 320x128 and were resized\n" in capsys.readouterr().out


def test_truncated_bmp_is_named(data_copy):
    bag, name = _first_train_image(data_copy)
    path = data_copy / "train/train" / name
    path.write_bytes(path.read_bytes()[:5000])
    with pytest.raises(DataError, match=rf"{name}: cannot be decoded"):
        read_competition(data_copy)


@pytest.mark.parametrize("mode", ["L", "P", "RGBA"])
def test_grayscale_palette_and_rgba_bmps_are_read(data_copy, tmp_path, mode):
    comp = read_competition(data_copy)
    path = comp.image_path("train", comp.train[0].images[0])
    Image.open(path).convert("RGB").convert(mode).save(path)
    comp = read_competition(data_copy)  # still valid
    cache = build_cache(comp, tmp_path)
    row = cache.rows("train", comp.train[0].images[:1])[0]
    expected = np.asarray(Image.open(path).convert("RGB").convert("L"))  # what the file holds
    assert np.abs(cache.array[row].astype(int) - expected.astype(int)).max() <= 1


def test_negative_label_and_test_bag_in_train(data_copy):
    _rewrite(data_copy / "train/train.csv", _set(1, 1, "-1"))
    with pytest.raises(DataError, match=r"line 2: labels '-1': label -1 is outside 0..29"):
        read_competition(data_copy)


def test_test_bag_also_in_train(data_copy):
    train_id = next(csv.DictReader(open(data_copy / "train/train.csv")))["gene_stage"]
    _rewrite(data_copy / "test/test_without_label.csv", _set(1, 0, train_id))
    with pytest.raises(DataError, match=rf"test bag\(s\) also in train, e.g. \['{train_id}'\]"):
        read_competition(data_copy)


def test_test_csv_with_labels_column(data_copy):
    _rewrite(data_copy / "test/test_without_label.csv",
             lambda rows: [rows[0] + ["labels"]] + [r + ["0"] for r in rows[1:]])
    with pytest.raises(DataError, match="test_without_label.csv line 1: test file has a 'labels' column"):
        read_competition(data_copy)


def test_empty_test_set(data_copy):
    _rewrite(data_copy / "test/test_without_label.csv", lambda rows: rows[:1])
    with pytest.raises(DataError, match="no test bags"):
        read_competition(data_copy)


def test_missing_csv_is_named(data_copy):
    (data_copy / "train/train.csv").unlink()
    with pytest.raises(DataError, match=rf"{data_copy / 'train/train.csv'}: file not found"):
        read_competition(data_copy)


def test_no_training_bags(data_copy):
    _rewrite(data_copy / "train/train.csv", lambda rows: rows[:1])
    with pytest.raises(DataError, match=rf"{data_copy / 'train/train.csv'}: no train bags"):
        read_competition(data_copy)


def test_at_most_50_problems_are_listed_with_a_count_of_the_rest(data_copy):
    def spoil(rows):  # 60 rows whose labels do not parse: one problem each
        rows = [rows[0]] + [[r[0], "x", r[2]] for r in rows[1:]]
        return rows + [[f"CG9{i:04d}_s2", "x", rows[1][2]] for i in range(61 - len(rows))]
    _rewrite(data_copy / "train/train.csv", spoil)
    with pytest.raises(DataError) as err:
        read_competition(data_copy, check_images=False)
    message = str(err.value)
    assert message.startswith(f"60 problem(s) in {data_copy}")
    assert message.count("not an integer") == 50 and message.endswith("... and 10 more")
    _rewrite(data_copy / "train/train.csv", lambda rows: rows[:51])  # exactly 50: all shown
    with pytest.raises(DataError) as err:
        read_competition(data_copy, check_images=False)
    assert str(err.value).startswith("50 problem(s)") and "more" not in str(err.value)


def test_a_csv_saved_as_cp1252_names_its_line_and_how_to_fix_it(data_copy):
    path = data_copy / "train/train.csv"
    lines = path.read_text().splitlines(keepends=True)
    lines[3] = lines[3].replace("_s", "é_s", 1)  # a gene typed by hand, saved by Excel
    path.write_bytes("".join(lines).encode("cp1252"))
    with pytest.raises(DataError, match=rf"{path} line 4: byte 0xe9 is not UTF-8 text; save the file as UTF-8"):
        read_competition(data_copy, check_images=False)


def test_an_unclosed_quote_names_the_line_it_opens_on(data_copy):
    # unquoted lists ('0;8', 'a.bmp b.bmp'): one stray quote swallows the rest of the file
    # into one field, past csv's 131,072-character limit
    rows = [f"CG{i:06d}_s{2 + i % 5},{i % 30},insitu{i:07d}a.bmp insitu{i:07d}b.bmp\n" for i in range(4000)]
    rows[9] = '"' + rows[9]
    path = data_copy / "train/train.csv"
    path.write_text("gene_stage,labels,imgs\n" + "".join(rows))
    with pytest.raises(DataError) as err:
        read_competition(data_copy, check_images=False)
    assert f"{path} line 11: field larger than field limit" in str(err.value)
    assert "a quote opened on this line is never closed" in str(err.value)


def test_an_empty_csv_is_named(data_copy):
    (data_copy / "test/test_without_label.csv").write_bytes(b"")
    with pytest.raises(DataError, match=rf"{data_copy / 'test/test_without_label.csv'}: the file is empty"):
        read_competition(data_copy, check_images=False)


def test_label_dict_rows_that_are_not_index_and_term_are_skipped(data_copy):
    path = data_copy / "train/label_dict.csv"
    path.write_text("index,term\n0,dorsal ectoderm\n²,superscript two\n30,one past the last\n31,out of range\n\n3,the third\n")
    terms = read_competition(data_copy, check_images=False).terms
    assert terms[0] == "dorsal ectoderm" and terms[3] == "the third" and sorted(terms) == list(range(30))
    path.write_bytes("0,ectoderme dorsal\n1,ectoderme ventral\n2,mésoderme\n".encode("latin-1"))
    with pytest.raises(DataError, match=rf"{path} line 3: byte 0xe9 is not UTF-8"):
        read_competition(data_copy, check_images=False)


@pytest.mark.parametrize("csv_file", ["train/train.csv", "test/test_without_label.csv"])
def test_random_corruptions_are_read_or_reported_naming_the_file(data_copy, csv_file):
    """Whatever a hand edit or a bad download does to a CSV, the reader either reads it or
    raises DataError naming that file, never another exception."""
    import random

    from conftest import corrupt

    path = data_copy / csv_file
    original, rng, reported = path.read_bytes(), random.Random(0), 0
    for trial in range(300):
        path.write_bytes(corrupt(original, rng))
        try:
            read_competition(data_copy, check_images=False)
        except DataError as e:
            assert str(path) in str(e), (trial, str(e))
            reported += 1
    assert reported > 200  # most are reported (264 and 253 of 300; the rest parse: a digit in a name)


def test_excel_csv_utf8_with_byte_order_mark_and_crlf_reads_the_same(data_copy):
    before = read_competition(data_copy, check_images=False)
    for name in ("train/train.csv", "test/test_without_label.csv"):
        path = data_copy / name
        path.write_bytes(b"\xef\xbb\xbf" + path.read_text().replace("\r\n", "\n").replace("\n", "\r\n").encode())
    after = read_competition(data_copy, check_images=False)
    assert after.train == before.train and after.test == before.test


def test_validate_summary_warns_of_labels_at_a_stage_the_real_data_never_has_them(data_copy):
    from utils.labels import stage_mask

    assert "where the real data never has them" not in summary(read_competition(data_copy, check_images=False))
    rows = list(csv.DictReader(open(data_copy / "train/train.csv")))
    stage = int(rows[0]["gene_stage"].rsplit("_s", 1)[1])
    forbidden = [int(j) for j in np.flatnonzero(stage_mask([stage])[0] == 0)[:2]]
    labels = list(parse_labels(rows[0]["labels"])) + forbidden  # two terms that stage never shows
    _rewrite(data_copy / "train/train.csv", _set(1, list(rows[0]).index("labels"), str(labels)))
    text = summary(read_competition(data_copy, check_images=False))
    assert "warning: 2 label(s) at a stage where the real data never has them" in text.splitlines()


def test_validate_summary_counts_what_the_csvs_hold(demo_dir):
    """Each figure of the summary against a count made here from the raw CSV rows."""
    import re
    from collections import Counter

    text = summary(read_competition(demo_dir, check_images=False))
    rows = {split: list(csv.DictReader(open(demo_dir / name)))
            for split, name in (("train", "train/train.csv"), ("test", "test/test_without_label.csv"))}
    for split, table in rows.items():
        sizes = sorted(len(re.findall(r"[\w.\-+]+\.bmp", r["imgs"])) for r in table)
        median = (sizes[(len(sizes) - 1) // 2] + sizes[len(sizes) // 2]) / 2
        assert (f"{split}: {len(table)} bags, {sum(sizes)} images, bag size {sizes[0]}..{sizes[-1]} "
                f"(median {median:g})") in text
    labels = Counter()
    for stage in range(2, 7):
        train = [r for r in rows["train"] if r["gene_stage"].endswith(f"_s{stage}")]
        n_test = sum(r["gene_stage"].endswith(f"_s{stage}") for r in rows["test"])
        per_bag = [len(re.findall(r"\d+", r["labels"])) for r in train]
        mean = sum(per_bag) / len(per_bag) if per_bag else 0.0
        assert f"stage {stage}: {len(train):5d} train bags, {mean:.2f} labels/bag, {n_test:5d} test bags" in text
        labels.update(int(i) for r in train for i in re.findall(r"\d+", r["labels"]))
    assert "label counts (train): " + " ".join(f"{i}:{labels[i]}" for i in range(30)) in text
    assert text.splitlines()[3] == "train bags and mean labels per bag, by stage:"  # what the stage lines count


def test_the_fingerprint_changes_with_a_csv_byte_or_an_image_and_only_then(data_copy):
    """Resuming and ensembles compare it to refuse a regenerated folder: it must see an edited
    CSV (same size), an image rewritten (its size or time) and an image added."""
    import os

    from utils.data import fingerprint
    first = fingerprint(data_copy)
    assert fingerprint(data_copy) == first
    csv_path = data_copy / "test/test_without_label.csv"
    raw = csv_path.read_bytes()
    csv_path.write_bytes(raw.replace(b"_s", b"_S", 1))
    assert fingerprint(data_copy) != first
    csv_path.write_bytes(raw)
    assert fingerprint(data_copy) == first
    image = next(iter(sorted((data_copy / "train/train").iterdir())))
    st = image.stat()
    os.utime(image, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert fingerprint(data_copy) != first
    os.utime(image, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert fingerprint(data_copy) == first
    (data_copy / "test/test" / "extra.bmp").write_bytes(image.read_bytes())
    assert fingerprint(data_copy) != first


def test_chunked_map_runs_on_every_core_by_default_and_keeps_the_order(monkeypatch):
    import utils.parallel
    from utils.parallel import chunked_map

    pools = []

    class Pool:  # stands in for the process pool: the same map, in this process
        def __init__(self, workers):
            pools.append(workers)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def map(self, fn, chunks):
            return map(fn, chunks)

    monkeypatch.setattr(utils.parallel, "ProcessPoolExecutor", Pool)
    monkeypatch.setattr(utils.parallel.os, "cpu_count", lambda: 3)
    assert list(chunked_map(sum, list(range(10)), chunk=2)) == [1, 5, 9, 13, 17] and pools == [3]
    assert list(chunked_map(sum, list(range(10)), workers=8, chunk=4)) == [6, 22, 17] and pools[-1] == 3
    assert list(chunked_map(sum, list(range(10)), workers=1, chunk=4)) == [6, 22, 17] and len(pools) == 2
