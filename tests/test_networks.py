"Every preset built, counted and run forward; the paper's counts against the official architecture; JAX backend."
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from keras import ops

from gaugan_nb.networks import (PRESETS, build_networks, scale_outputs, count_params, gaugan_config, nvlabs_param_counts)


def one_hot_blocks(cfg, b, seed=0):
    r = np.random.default_rng(seed)
    h, w = cfg.image_size
    ids = r.integers(0, cfg.num_classes, (b, h // 16 + 1, w // 16 + 1)).repeat(16, 1).repeat(16, 2)[:, :h, :w]
    return np.eye(cfg.num_classes, dtype="float32")[ids]


@pytest.mark.parametrize("preset,batches", [("tiny", (1, 3, 8)), ("small", (1, 3)), ("keras-example", (1, 3)), ("paper", (1, 3))])
def test_preset_forward(preset, batches):
    cfg = gaugan_config(preset)
    nets = build_networks(cfg)
    counts = {k: count_params(m)[0] for k, m in nets.items()}
    print(preset, {k: f"{v / 1e6:.2f}M" for k, v in counts.items()})
    rng = np.random.default_rng(0)
    for b in batches:
        lab = one_hot_blocks(cfg, b)
        img = rng.uniform(-1, 1, (b,) + cfg.image_shape).astype("float32")
        mean, logvar = nets["encoder"](img, training=False)
        assert tuple(mean.shape) == tuple(logvar.shape) == (b, cfg.latent_dim)
        fake = ops.convert_to_numpy(nets["generator"]([ops.convert_to_numpy(mean), lab], training=False))
        assert fake.shape == (b,) + cfg.image_shape and np.isfinite(fake).all() and np.abs(fake).max() <= 1
        outs = scale_outputs(nets["discriminator"]([lab, fake], training=False))
        assert len(outs) == cfg.d_scales and all(len(o) == len(cfg.d_channels) + 1 for o in outs)
        assert all(np.isfinite(ops.convert_to_numpy(o[-1])).all() for o in outs)


def test_paper_counts_match_official():
    nets = build_networks(gaugan_config("paper"))
    official = nvlabs_param_counts(label_nc=12)
    for k in official: assert count_params(nets[k])[0] == official[k], k


def test_generator_batch_invariant_small():
    "Inference output of a sample is the same alone and inside a batch (small preset, both norms)."
    for norm in ("batch", "instance"):
        cfg = gaugan_config("small", norm=norm)
        g = build_networks(cfg)["generator"]
        rng = np.random.default_rng(1)
        z, lab = rng.normal(size=(3, cfg.latent_dim)).astype("float32"), one_hot_blocks(cfg, 3, 1)
        g([2 * z, lab], training=True)  # move the batch-norm statistics
        batched = ops.convert_to_numpy(g([z, lab], training=False))
        alone = np.concatenate([ops.convert_to_numpy(g([z[i:i + 1], lab[i:i + 1]], training=False)) for i in range(3)])
        assert np.abs(batched - alone).max() <= 1e-5, norm


def test_bad_config_and_inputs():
    with pytest.raises(ValueError, match="multiples of 32"): gaugan_config("small", image_size=(128, 100))
    cfg = gaugan_config("tiny")
    g = build_networks(cfg)["generator"]
    with pytest.raises(ValueError, match=r"expected shape=\(None, 64, 64, 12\)"):
        g([np.zeros((1, cfg.latent_dim), "float32"), np.zeros((1, 64, 64, 3), "float32")])
    with pytest.raises(ValueError, match=r"expected shape=\(None, 32\)"):
        g([np.zeros((1, 8), "float32"), np.zeros((1, 64, 64, 12), "float32")])


def test_tiny_runs_on_jax_backend(tmp_path):
    "The layers use keras.ops only: the tiny networks run forward under KERAS_BACKEND=jax."
    pytest.importorskip("jax")
    code = textwrap.dedent("""
        import keras, numpy as np
        assert keras.backend.backend() == "jax", keras.backend.backend()
        from keras import ops
        from gaugan_nb.networks import gaugan_config, build_networks, GaussianSampler
        for norm in ("batch", "instance"):
            cfg = gaugan_config("tiny", norm=norm)
            nets = build_networks(cfg)
            rng = np.random.default_rng(0)
            lab = np.eye(12, dtype="float32")[rng.integers(0, 12, (3, 64, 64))]
            img = rng.uniform(-1, 1, (3, 64, 64, 3)).astype("float32")
            z = ops.convert_to_numpy(GaussianSampler(seed=0)(nets["encoder"](img)))
            for training in (True, False):
                fake = nets["generator"]([z, lab], training=training)
                outs = nets["discriminator"]([lab, ops.convert_to_numpy(fake)], training=training)
            assert fake.shape == (3, 64, 64, 3) and outs["scale1"][-1].shape == (3, 4, 4, 1)
            alone = ops.convert_to_numpy(nets["generator"]([z[:1], lab[:1]], training=False))
            assert np.abs(alone - ops.convert_to_numpy(fake)[:1]).max() <= 1e-5
        print("jax ok")
    """)
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu"}
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600, env=env, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "jax ok" in r.stdout
