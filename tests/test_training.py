"Training end to end through the `gaugan` command: resume after SIGKILL, export, byte-identical generation, real data."
import math
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import run_gaugan


def gaugan_cmd(*args):
    exe = Path(sys.executable).with_name("gaugan")
    return ([str(exe)] if exe.exists() else [sys.executable, "-m", "gaugan_nb.cli"]) + [str(a) for a in args]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    "A tiny model trained for one short epoch on synthetic facades."
    out = tmp_path_factory.mktemp("run")
    r = run_gaugan("train", "--data", "synthetic:24", "--preset", "tiny", "--epochs", "1", "--batch-size", "4",
                   "--out", out, "--no-progress", timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "VGG19 perceptual loss off for the tiny preset" in r.stdout
    assert (out / "generator.keras").is_file() and (out / "losses.png").is_file()
    assert list((out / "samples").glob("epoch_0001.png"))
    return out


def test_resume_after_sigkill(tmp_path):
    from gaugan_nb.training import read_checkpoint_meta, load_generator
    out = tmp_path / "run"
    args = ["train", "--data", "synthetic:48", "--preset", "tiny", "--epochs", "4", "--batch-size", "4", "--out", out, "--no-progress"]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    p = subprocess.Popen(gaugan_cmd(*args), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    ckpt = out / "checkpoint.npz"
    deadline = time.time() + 400
    try:
        while time.time() < deadline and p.poll() is None:
            if ckpt.exists():
                try:
                    if read_checkpoint_meta(ckpt)["epoch"] >= 1: break
                except Exception: pass
            time.sleep(0.05)
        assert p.poll() is None, "training finished before it could be killed"
        p.send_signal(signal.SIGKILL)
    finally:
        p.wait()
    killed_at = read_checkpoint_meta(ckpt)["epoch"]
    assert 1 <= killed_at < 4
    assert not (out / "generator.keras").exists()
    r = run_gaugan(*args, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    steps = math.ceil((48 - round(48 * 0.1)) / 4)
    assert f"resumed from {ckpt}: epoch {killed_at} done, optimiser iterations {killed_at * steps}" in r.stdout
    meta = read_checkpoint_meta(ckpt)
    assert meta["epoch"] == 4 and meta["g_iterations"] == meta["d_iterations"] == 4 * steps
    assert len(meta["history"]["g_loss"]) == 4
    assert load_generator(out / "generator.keras").image_size == (64, 64)


def test_failed_checkpoint_write_keeps_previous(tmp_path, monkeypatch):
    from gaugan_nb.networks import gaugan_config
    from gaugan_nb.training import GauGAN, save_checkpoint, load_checkpoint, read_checkpoint_meta
    model = GauGAN(gaugan_config("tiny", lambda_vgg=0)); model.compile()
    path = save_checkpoint(model, tmp_path / "c.npz", dict(epoch=1))
    before = path.read_bytes()

    def crash(f, **arrays):
        f.write(b"garbage" * 100); raise OSError("simulated crash during write")
    monkeypatch.setattr(np, "savez", crash)
    with pytest.raises(OSError, match="simulated crash"):
        save_checkpoint(model, path, dict(epoch=2))
    monkeypatch.undo()
    assert path.read_bytes() == before and read_checkpoint_meta(path)["epoch"] == 1
    fresh = GauGAN(gaugan_config("tiny", lambda_vgg=0)); fresh.compile()
    assert load_checkpoint(fresh, path)["epoch"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["c.npz"]


def test_encoder_gets_gradient_without_kl():
    from gaugan_nb.data import SyntheticFacades, make_dataset
    from gaugan_nb.networks import gaugan_config
    from gaugan_nb.training import GauGAN, encoder_gradients
    model = GauGAN(gaugan_config("tiny", lambda_vgg=0, lambda_kld=0.0))
    x, y = next(iter(make_dataset(SyntheticFacades(n=4, size=64), 64, 4)))
    grads = encoder_gradients(model, x, y)
    assert len(grads) == len(model.encoder.trainable_variables) > 0
    assert all(g > 0 for g in grads.values()), {k: v for k, v in grads.items() if not v > 0}


def test_generate_byte_identical_in_fresh_processes(trained, tmp_path):
    labels = tmp_path / "syn"
    assert run_gaugan("synth", labels, "--n", "3", "--size", "80", "--seed", "9").returncode == 0
    outs = []
    for name, seed in (("a", 5), ("b", 5), ("c", 6)):
        r = run_gaugan("generate", "--model", trained / "generator.keras", "--labels", labels / "labels",
                       "--out", tmp_path / name, "--seed", seed, "--batch-size", 2 if name == "b" else 8)
        assert r.returncode == 0, r.stderr[-2000:]
        outs.append({p.name: p.read_bytes() for p in sorted((tmp_path / name).glob("*.png"))})
    assert list(outs[0]) == ["synthetic_9_00000.png", "synthetic_9_00001.png", "synthetic_9_00002.png"]
    assert outs[0] == outs[1], "same seed must give byte-identical images, whatever the batch size"
    assert outs[0] != outs[2], "another seed gives other images"
    assert Image.open(tmp_path / "a" / "synthetic_9_00000.png").size == (64, 64)
    r = run_gaugan("generate", "--model", trained / "generator.keras", "--labels", labels / "labels", "--out", tmp_path / "a")
    assert r.returncode == 1 and "would overwrite" in r.stderr and "Traceback" not in r.stderr


def test_generate_on_cmp_label_folder(trained, cmp_dir, tmp_path):
    r = run_gaugan("generate", "--model", trained / "generator.keras", "--labels", cmp_dir / "labels", "--out", tmp_path / "g")
    assert r.returncode == 0, r.stderr[-2000:]
    written = sorted(p.stem for p in (tmp_path / "g").glob("*.png"))
    assert written == sorted(p.stem for p in (cmp_dir / "labels").glob("*.png")) and len(written) == 378


def test_encoder_changes_on_cmp_and_kl_reported(cmp_dir, tmp_path):
    from gaugan_nb.data import open_pairs
    from gaugan_nb.networks import gaugan_config
    from gaugan_nb.training import train
    data = open_pairs(cmp_dir)
    cfg = gaugan_config("tiny", lambda_vgg=0)
    run = tmp_path / "cmp"
    train(data, run, cfg, epochs=1, batch_size=4, steps_per_epoch=4, verbose=0)
    with np.load(run / "checkpoint.npz") as z: first = {k: z[k] for k in z.files if k.startswith("encoder/")}
    model, history, _ = train(data, run, epochs=2, batch_size=4, steps_per_epoch=4, verbose=0)
    trainable = {v.path for v in model.encoder.trainable_variables}
    with np.load(run / "checkpoint.npz") as z:
        second = {k: z[k] for k in z.files if k.startswith("encoder/")}
    paths = [v.path for v in model.encoder.weights]
    changed = {p: not np.array_equal(first[k], second[k]) for k, p in zip(sorted(first), paths) if p in trainable}
    assert changed and all(changed.values()), [p for p, c in changed.items() if not c]
    assert len(history["kl"]) == 2 and all(np.isfinite(history["kl"])) and history["kl"][-1] > 0


def test_train_bad_input_one_line(tmp_path):
    r = run_gaugan("train", "--data", tmp_path / "nope", "--out", tmp_path / "o")
    assert r.returncode == 1 and "no such folder" in r.stderr and "Traceback" not in r.stderr
    r = run_gaugan("train", "--preset", "tiny", "--image-size", "50", "--out", tmp_path / "o")
    assert r.returncode == 1 and "multiples of 16" in r.stderr and "Traceback" not in r.stderr
    r = run_gaugan("generate", "--model", tmp_path / "missing.keras", "--labels", tmp_path, "--out", tmp_path / "g")
    assert r.returncode == 1 and "missing.keras" in r.stderr and "Traceback" not in r.stderr
    r = run_gaugan("train", "--out", tmp_path / "o", "--epochs", "x")
    assert r.returncode == 2 and "invalid int value" in r.stderr


def test_vgg_imagenet_unavailable_is_a_clear_error(tmp_path):
    env_home = tmp_path / "keras_home"
    r = subprocess.run(gaugan_cmd("train", "--data", "synthetic:8", "--preset", "tiny", "--vgg-weights", "imagenet",
                                  "--epochs", "1", "--out", tmp_path / "o"),
                       capture_output=True, text=True, timeout=600,
                       env={**os.environ, "KERAS_HOME": str(env_home), "TF_CPP_MIN_LOG_LEVEL": "2"})
    if r.returncode == 0: pytest.skip("ImageNet weights could be downloaded here")
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    assert r.returncode == 1 and len(lines) == 1 and "Traceback" not in r.stderr, r.stderr[-2000:]
    assert "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5" in lines[0] and "lambda_vgg=0" in lines[0]


def test_resume_keeps_the_vgg_weights(tmp_path):
    "A run started with --vgg-weights PATH resumes with the same weights, never silently with random ones."
    import keras
    from gaugan_nb.training import read_checkpoint_meta
    weights = tmp_path / "vgg19.weights.h5"
    keras.applications.VGG19(include_top=False, weights=None).save_weights(weights)
    args = ["train", "--data", "synthetic:8", "--preset", "tiny", "--batch-size", "4", "--out", tmp_path / "run", "--no-progress"]
    r = run_gaugan(*args, "--epochs", "1", "--vgg-weights", weights, "--lambda-vgg", "1", timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "VGG19 x1" in r.stdout
    r = run_gaugan(*args, "--epochs", "2", timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "resumed from" in r.stdout
    meta = read_checkpoint_meta(tmp_path / "run" / "checkpoint.npz")
    assert meta["epoch"] == 2 and meta["vgg_weights"] == str(weights)
    assert meta["history"]["g_vgg"][-1] > 0
