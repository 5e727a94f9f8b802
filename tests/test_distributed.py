"""tf.distribute on CPU: MirroredStrategy over two logical CPU devices matches one device on the same global batch
(same weights, same noise fed in), and a two-worker MultiWorkerMirroredStrategy run over loopback ports trains a few
steps through `train` (its custom loop) and leaves identical weights on both workers. Each side runs in its own
process, because logical devices and TF_CONFIG must be set before TensorFlow starts."""
import json
import os
import socket
import subprocess
import sys
import textwrap

import numpy as np

ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONUNBUFFERED": "1"}

MIRRORED = textwrap.dedent("""
    import json, numpy as np, tensorflow as tf, keras
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    from gaugan_nb.data import SyntheticFacades, make_dataset
    from gaugan_nb.networks import gaugan_config
    from gaugan_nb.training import GauGAN, load_checkpoint, save_checkpoint, state_differences
    cfg = gaugan_config("tiny", lambda_vgg=0)
    x, y = next(iter(make_dataset(SyntheticFacades(n=4, size=64, seed=3), 64, 4, training=False)))
    eps = np.random.default_rng(1).standard_normal((4, cfg.latent_dim)).astype("float32")
    ds = tf.data.Dataset.from_tensor_slices((x, y, eps)).batch(4)
    def step(strategy, first):
        with strategy.scope():
            m = GauGAN(cfg, vgg_weights="none"); m.compile()
            save_checkpoint(m, "start.npz") if first else load_checkpoint(m, "start.npz")
        logs = {k: v[-1] for k, v in m.fit(ds, epochs=1, verbose=0).history.items()}
        return m, logs
    m1, l1 = step(tf.distribute.get_strategy(), True)
    m2, l2 = step(tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]), False)
    # per group, the worst difference over its allowance (<= 1 agrees); rtol 0.2 because a discriminator patch at the hinge's
    # edge can switch on one side only and move the gradients a few percent (see the training chapter)
    rel = state_differences(m1, m2, rtol=0.2)
    v = max((v for v in m2.d_opt.variables if len(v.shape) and "bias" not in v.path), key=lambda v: float(np.abs(np.asarray(v)).max()))
    v.assign(v * 1.5)                # a gradient 50% off, as one replica's gradient alone or a sum instead of a mean would give
    rel_broken = state_differences(m1, m2)["d_opt"]
    print(json.dumps(dict(replicas=m2.distribute_strategy.num_replicas_in_sync, rel=rel, rel_broken=rel_broken, single=l1, mirrored=l2,
                          iterations=[int(keras.ops.convert_to_numpy(m.g_opt.iterations)) for m in (m1, m2)])))
""")

WORKER = textwrap.dedent("""
    import json, os, sys, numpy as np, keras
    from gaugan_nb.data import SyntheticFacades
    from gaugan_nb.networks import gaugan_config
    from gaugan_nb.training import train, _state_groups
    out, idx = sys.argv[1], json.loads(os.environ["TF_CONFIG"])["task"]["index"]
    model, history, path = train(SyntheticFacades(n=16, size=64, seed=2), out, gaugan_config("tiny", lambda_vgg=0), epochs=2,
                                 batch_size=4, steps_per_epoch=2, strategy="multiworker", verbose=1)
    np.savez(f"weights_{idx}.npz", **{f"{g}/{i}": np.asarray(v) for g, vs in _state_groups(model).items() for i, v in enumerate(vs)})
    print(json.dumps(dict(worker=idx, replicas=model.distribute_strategy.num_replicas_in_sync, path=str(path) if path else None,
                          iterations=int(keras.ops.convert_to_numpy(model.g_opt.iterations)), g_loss=history["g_loss"])))
""")


def _last_json(stdout):
    return json.loads([l for l in stdout.splitlines() if l.startswith("{")][-1])


def test_mirrored_step_matches_one_device(tmp_path):
    r = subprocess.run([sys.executable, "-c", MIRRORED], capture_output=True, text=True, cwd=tmp_path, env=ENV, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    out = _last_json(r.stdout)
    assert out["replicas"] == 2 and out["iterations"] == [1, 1]
    # weights and optimiser moments (which hold the gradients) of G, E, D and the sampler, within `state_differences`' allowance
    assert max(out["rel"].values()) <= 1, out["rel"]
    assert out["rel_broken"] > 1, out["rel_broken"]                     # and the check notices a 50% error in a gradient
    for k, v in out["single"].items():  # metrics aggregated over both replicas equal the one-device ones
        assert abs(v - out["mirrored"][k]) <= 1e-3 * (1 + abs(v)), (k, v, out["mirrored"][k])


def _ports(n):
    socks = [socket.socket() for _ in range(n)]
    for s in socks: s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks: s.close()
    return ports


def test_two_workers_train_and_agree(tmp_path):
    cluster = {"worker": [f"127.0.0.1:{p}" for p in _ports(2)]}
    procs = []
    for i in range(2):
        env = {**ENV, "TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": i}})}
        procs.append(subprocess.Popen([sys.executable, "-c", WORKER, str(tmp_path / "run")], cwd=tmp_path, env=env,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    results = []
    for p in procs:
        try: so, se = p.communicate(timeout=600)
        except subprocess.TimeoutExpired:
            for q in procs: q.kill()
            raise
        assert p.returncode == 0, se[-3000:]
        results.append(_last_json(so))
    assert [r["replicas"] for r in results] == [2, 2]
    assert [r["iterations"] for r in results] == [4, 4]                 # 2 epochs x 2 steps on both workers
    assert results[0]["path"] and results[1]["path"] is None            # only worker 0 writes the run folder
    assert (tmp_path / "run" / "checkpoint.npz").is_file() and (tmp_path / "run" / "generator.keras").is_file()
    np.testing.assert_allclose(results[0]["g_loss"], results[1]["g_loss"], rtol=1e-5)
    w0, w1 = np.load(tmp_path / "weights_0.npz"), np.load(tmp_path / "weights_1.npz")
    assert sorted(w0.files) == sorted(w1.files) and len(w0.files) > 10
    for k in w0.files: np.testing.assert_array_equal(w0[k], w1[k], err_msg=k)
    # and the run resumes like any other: a third epoch, on one worker without a strategy
    from conftest import run_gaugan
    r = run_gaugan("train", "--data", "synthetic:16", "--data-seed", "2", "--out", tmp_path / "run", "--epochs", "3",
                   "--steps-per-epoch", "2", "--no-progress", timeout=600)
    assert r.returncode == 0, r.stderr
    assert "resumed from" in r.stdout and "epoch 2 done, optimiser iterations 4" in r.stdout
