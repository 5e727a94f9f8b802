"The `gaugan` command as a user runs it: real data, synthetic data, bad data, and that it never writes to a dataset."
import os
import shutil

import numpy as np
import pytest
from PIL import Image

from conftest import run_gaugan


def snapshot(folder):
    return {p: (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*") if p.is_file()}


def test_help():
    r = run_gaugan("--help")
    assert r.returncode == 0 and "check-data" in r.stdout
    r = run_gaugan("check-data", "--help")
    assert r.returncode == 0 and "synthetic[:N]" in r.stdout


def test_check_data_cmp(cmp_dir):
    before = snapshot(cmp_dir)
    r = run_gaugan("check-data", cmp_dir)
    assert r.returncode == 0, r.stderr
    assert "378 pairs, 12 classes (ids 0..11; stored labels start at 1)" in r.stdout
    assert "width 241-1024 px" in r.stdout
    for name in ("background", "window", "shop"): assert f" {name} " in r.stdout
    assert "ok: all 378 pairs" in r.stdout
    assert snapshot(cmp_dir) == before, "check-data must not touch the dataset"


def test_check_data_synthetic():
    r = run_gaugan("check-data", "synthetic:20", "--size", "64")
    assert r.returncode == 0, r.stderr
    assert "synthetic facades (20 generated in memory" in r.stdout
    assert "ok: all 20 pairs" in r.stdout


@pytest.fixture
def synth(tmp_path):
    r = run_gaugan("synth", tmp_path / "syn", "--n", "6", "--size", "40", "--seed", "4")
    assert r.returncode == 0, r.stderr
    return tmp_path / "syn"


def assert_one_line_error(r, *fragments):
    assert r.returncode != 0
    assert "Traceback" not in r.stderr
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    assert len(lines) == 1, r.stderr
    for f in fragments: assert f in lines[0], lines[0]


def test_synth_then_check(synth):
    r = run_gaugan("check-data", synth)
    assert r.returncode == 0, r.stderr
    assert "6 pairs" in r.stdout and "stored labels start at 1" in r.stdout


def test_synth_refuses_nonempty_folder(synth):
    before = snapshot(synth)
    assert_one_line_error(run_gaugan("synth", synth), "not empty")
    assert snapshot(synth) == before


def test_bad_missing_pair(synth):
    (synth / "images" / "synthetic_4_00003.jpg").unlink()
    assert_one_line_error(run_gaugan("check-data", synth), "label maps without a photo: synthetic_4_00003")


def test_bad_label_values(synth):
    f = synth / "labels" / "synthetic_4_00001.png"
    im = Image.open(f); a = np.array(im); a[3, 3] = 40
    out = Image.fromarray(a); out.putpalette(im.getpalette()); out.save(f)
    r = run_gaugan("check-data", synth, "--label-offset", "1")
    assert_one_line_error(r, "synthetic_4_00001.png", "[40]", "expected 1..12")
    r = run_gaugan("check-data", synth)  # auto-detection sees 40 > 12 and names the values
    assert_one_line_error(r, "do not fit num_classes=12")


def test_bad_truncated_image(synth):
    f = synth / "images" / "synthetic_4_00005.jpg"
    f.write_bytes(f.read_bytes()[:200])
    assert_one_line_error(run_gaugan("check-data", synth), "1 of 6 pairs are bad", "synthetic_4_00005.jpg: cannot read image")


def test_bad_not_an_image(synth):
    (synth / "images" / "synthetic_4_00000.jpg").write_text("not a jpeg")
    assert_one_line_error(run_gaugan("check-data", synth), "synthetic_4_00000.jpg: cannot read image")


def test_bad_size_mismatch(synth):
    f = synth / "images" / "synthetic_4_00002.jpg"
    Image.open(f).resize((30, 40)).save(f)
    assert_one_line_error(run_gaugan("check-data", synth), "synthetic_4_00002.jpg is 30x40", "must be the same size")


def test_bad_empty_and_missing_folder(tmp_path):
    (tmp_path / "empty").mkdir()
    assert_one_line_error(run_gaugan("check-data", tmp_path / "empty"), "empty or unrecognised folder")
    assert_one_line_error(run_gaugan("check-data", tmp_path / "nope"), "no such folder")
    (tmp_path / "e2" / "images").mkdir(parents=True); (tmp_path / "e2" / "labels").mkdir()
    assert_one_line_error(run_gaugan("check-data", tmp_path / "e2"), "no image files found")


def test_bad_num_classes(synth):
    assert_one_line_error(run_gaugan("check-data", synth, "--num-classes", "10"), "num_classes=10 but 12 class names")


def test_bad_argument():
    r = run_gaugan("check-data", "synthetic:zero")
    assert_one_line_error(r, "synthetic:N")
    r = run_gaugan("check-data", "synthetic", "--label-offset", "2")
    assert r.returncode == 2 and "expected auto, 0 or 1" in r.stderr and "Traceback" not in r.stderr


def test_verbose_lists_every_bad_pair(synth):
    for s in ("00001", "00002"):
        (synth / "images" / f"synthetic_4_{s}.jpg").write_bytes(b"\xff\xd8junk")
    r = run_gaugan("check-data", synth, "--verbose")
    assert r.returncode == 1 and "2 of 6 pairs are bad" in r.stderr
    assert "synthetic_4_00001.jpg" in r.stderr and "synthetic_4_00002.jpg" in r.stderr


def test_keras_example_layout(tmp_path, synth):
    "The Keras example's facades_data layout: images/, segmentation_map/ (colours), segmentation_labels/ (0-based BMP)."
    root = tmp_path / "facades_data"
    shutil.copytree(synth / "images", root / "images")
    (root / "segmentation_map").mkdir(); (root / "segmentation_labels").mkdir()
    for f in sorted((synth / "labels").glob("*.png")):
        im = Image.open(f)
        im.convert("RGB").save(root / "segmentation_map" / f.name)
        Image.fromarray(np.array(im) - 1).save(root / "segmentation_labels" / f"{f.stem}.bmp")
    r = run_gaugan("check-data", root)
    assert r.returncode == 0, r.stderr
    assert "keras-example layout, index labels" in r.stdout and "stored labels start at 0" in r.stdout
