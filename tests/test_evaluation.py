"""`gaugan evaluate` and `gaugan train-segmenter` end to end: tiny models on synthetic data in CI, and the shipped
pretrained generator and segmenter on the CMP validation split (the acceptance figures of the evaluation issue)."""
import json

import numpy as np
import pytest

from conftest import run_gaugan


def _figures(stdout):
    "{'mIoU real': 0.5, 'ratio': 0.7, ...} from the one-figure-per-line output."
    out = {}
    for line in stdout.splitlines():
        key, eq, value = line.partition("=")
        if eq and value.split()[0].replace(".", "", 1).replace("-", "", 1).replace("e", "", 1).isdigit():
            out[key] = float(value.split()[0])
    return out


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    d = tmp_path_factory.mktemp("eval")
    r = run_gaugan("train", "--data", "synthetic:24", "--preset", "tiny", "--epochs", "1", "--batch-size", "8",
                   "--out", d / "run", "--no-progress", "--val-fraction", "0.25")
    assert r.returncode == 0, r.stderr
    r = run_gaugan("train-segmenter", "--data", "synthetic:24", "--out", d / "seg.npz", "--epochs", "2", "--image-size", "64",
                   "--val-fraction", "0.25", "--no-progress", "--class-balance", "0.5")
    assert r.returncode == 0, r.stderr
    assert "validation (6 pairs): mIoU=" in r.stdout and (d / "seg.npz").is_file()
    from gaugan_nb.evaluation import Segmenter
    assert Segmenter.load(d / "seg.npz").metadata["history"][-1]["class_balance"] == 0.5
    return d


def test_evaluate_prints_every_figure(tiny_run, tmp_path):
    r = run_gaugan("evaluate", "--model", tiny_run / "run" / "generator.keras", "--data", "synthetic:24", "--segmenter",
                   tiny_run / "seg.npz", "--inception-weights", "random", "--samples", "2", "--json", tmp_path / "f.json")
    assert r.returncode == 0, r.stderr
    f = _figures(r.stdout)
    for k in ("mIoU real", "mIoU generated", "mIoU mean_colour", "mIoU blurred_real", "pixel_acc real", "pixel_acc generated",
              "ratio", "diversity", "FID", "KID"):
        assert k in f, (k, r.stdout)
    assert "split=val images=6" in r.stdout                      # the model's own validation stems
    assert "random weights" in r.stdout                           # FID from a random network is labelled as such
    saved = json.loads((tmp_path / "f.json").read_text())
    # the printed figures are the saved ones rounded to 3 decimals (the ratio is of the unrounded mIoUs)
    np.testing.assert_allclose(f["ratio"], saved["ratio"], atol=6e-4)
    np.testing.assert_allclose(f["mIoU real"], saved["miou"]["real"], atol=6e-4)
    assert set(saved["class_iou"]) == {"real", "generated", "mean_colour", "blurred_real"} and len(saved["class_iou"]["real"]) == 12


def test_evaluate_without_inception_weights(tiny_run, tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))  # an empty cache, and no network here
    args = ("evaluate", "--model", tiny_run / "run" / "generator.keras", "--data", "synthetic:24", "--segmenter", tiny_run / "seg.npz",
            "--samples", "0")
    r = run_gaugan(*args)
    assert r.returncode == 0, r.stderr
    assert "FID/KID skipped: InceptionV3 ImageNet weights are not available" in r.stdout and "mIoU generated=" in r.stdout
    r = run_gaugan(*args, "--inception-weights", "imagenet")      # asked for explicitly: an error, on one line
    assert r.returncode == 1 and "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5" in r.stderr
    assert r.stderr.count("\n") == 1


def test_evaluate_bad_input(tiny_run, tmp_path):
    r = run_gaugan("train-segmenter", "--data", "synthetic:8", "--out", tmp_path / "s.npz", "--epochs", "1", "--class-balance", "-1")
    assert r.returncode == 1 and "--class-balance -1.0: expected a power >= 0" in r.stderr and not (tmp_path / "s.npz").exists()
    r = run_gaugan("evaluate", "--model", tmp_path / "nope.keras", "--data", "synthetic:24", "--segmenter", tiny_run / "seg.npz")
    assert r.returncode == 1 and "nope.keras: no such model file" in r.stderr
    r = run_gaugan("evaluate", "--model", tiny_run / "run" / "generator.keras", "--data", "synthetic:24",
                   "--segmenter", tiny_run / "run" / "checkpoint.npz")
    assert r.returncode == 1 and "checkpoint.npz: not a segmenter (holds no packed model)" in r.stderr


def test_pretrained_model_on_cmp_validation(cmp_dir, tmp_path):
    "The acceptance figures: the segmenter on real photos >= 0.35, generated/real >= 0.6 and generated above the flat-colour baseline."
    r = run_gaugan("evaluate", "--data", cmp_dir, "--inception-weights", "none", "--samples", "2", timeout=900)
    assert r.returncode == 0, r.stderr
    print(r.stdout)
    f = _figures(r.stdout)
    assert "split=val images=38" in r.stdout
    assert f["mIoU real"] >= 0.35   # the shipped segmenter scores 0.360
    assert f["ratio"] >= 0.6
    assert f["mIoU generated"] > f["mIoU mean_colour"]
    assert f["diversity"] > 0.01


def test_generate_with_the_pretrained_model(cmp_dir, tmp_path):
    label = sorted((cmp_dir / "labels").glob("*.png"))[0]
    r = run_gaugan("generate", "--labels", label, "--out", tmp_path / "out")
    assert r.returncode == 0, r.stderr
    from PIL import Image
    img = np.asarray(Image.open(tmp_path / "out" / (label.stem + ".png")))
    assert img.shape == (128, 128, 3) and img.std() > 10   # a picture, not a flat field
