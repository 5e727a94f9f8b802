"""Training throughput of a gaugan_nb preset, optionally against the Keras example in the same run.

    python bench/train_throughput.py --preset keras-example --size 128 --width-div 4 --precision bf16 --vs-example

Each measurement runs in its own process (so peak RSS is its own): build the model, warm up, then time
`--steps` train steps on synthetic tensors (random photos, blocky random one-hot label maps) at batch 4.
Printed per run: s/step, img/s, peak RSS and achieved GFLOP/s (FLOPs of one traced train step, counted
from TensorFlow's registered op statistics, divided by the measured step time).

With --vs-example, ../shared/bench/seed_gaugan.py (the Keras example transcribed for measurement) runs at
the matching size and width divisor with random-weight VGG19, alternating with ours for --rounds rounds;
the last line is `ratio_vs_example=X.XX`: our median img/s over the example's. The VGG19 loss is on in
both, at full resolution and width, with random weights (ImageNet weights cannot be downloaded here;
the cost is the same).
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SEED_SCRIPT = ROOT.parent / "shared" / "bench" / "seed_gaugan.py"


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def graph_flops(concrete_fn):
    "FLOPs of a traced function: TF's registered 'flops' statistics over the ops that feed an output or a state change."
    from tensorflow.python.framework import ops as tf_ops
    graph = concrete_fn.graph
    sinks = [t.op for t in concrete_fn.outputs] + [op for op in graph.get_operations()
                                                   if op.op_def is not None and op.op_def.is_stateful]
    seen, stack = set(), list(sinks)
    while stack:  # ops reachable backwards from the sinks: what the runtime actually executes
        op = stack.pop()
        if op in seen: continue
        seen.add(op)
        stack.extend(t.op for t in op.inputs)
        stack.extend(op.control_inputs)
    total = 0
    for op in seen:
        try: st = tf_ops.get_stats_for_node_def(graph, op.node_def, "flops")
        except (ValueError, KeyError, TypeError): continue
        if st.value: total += st.value
    return total


def synthetic_batches(batch, size, classes, seed=0):
    import numpy as np
    import tensorflow as tf
    r = np.random.default_rng(seed)
    images = r.uniform(-1, 1, (batch, size, size, 3)).astype("float32")
    ids = r.integers(0, classes, (batch, size // 16 + 1, size // 16 + 1)).repeat(16, 1).repeat(16, 2)[:, :size, :size]
    labels = np.eye(classes, dtype="float32")[ids]
    return tf.data.Dataset.from_tensors((images, labels)).repeat()


def run_ours(a):
    "One measurement of gaugan_nb; prints a JSON line with the figures."
    import keras
    import tensorflow as tf
    from gaugan_nb.networks import gaugan_config
    from gaugan_nb.training import GauGAN
    keras.utils.set_random_seed(a.seed)
    cfg = gaugan_config(a.preset, image_size=a.size, width_div=a.width_div, precision=a.precision,
                        lambda_vgg=10.0 if a.vgg else 0.0)
    t0 = time.perf_counter()
    model = GauGAN(cfg, vgg_weights="none")
    model.compile(jit_compile=a.xla)
    build_s = time.perf_counter() - t0
    ds = synthetic_batches(a.batch, cfg.image_size[0], cfg.num_classes, a.seed)
    ends = []
    class Timer(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None): ends.append(time.perf_counter())
    model.fit(ds, epochs=1, steps_per_epoch=a.warmup + a.steps, callbacks=[Timer()], verbose=0)
    s_step = (ends[-1] - ends[a.warmup - 1]) / a.steps
    flops = None
    if a.flops:
        fn = tf.function(model.train_step).get_concrete_function(ds.element_spec)
        flops = graph_flops(fn)
    print("RESULT_JSON " + json.dumps(dict(
        who="ours", preset=a.preset, size=cfg.image_size[0], width_div=a.width_div, precision=a.precision, xla=a.xla,
        batch=a.batch, s_per_step=s_step, img_per_s=a.batch / s_step, peak_rss_mb=peak_rss_mb(), build_s=build_s,
        train_step_gflop=flops / 1e9 if flops else None, gflop_per_s=flops / 1e9 / s_step if flops else None,
        params={k: int(sum(int(v.numpy().size) for v in m.trainable_variables))
                for k, m in dict(G=model.generator, D=model.discriminator, E=model.encoder).items() if m is not None})),
        flush=True)


def run_example(a):
    "One measurement of the Keras example (seed_gaugan.py) in a subprocess; returns its figures."
    cmd = [sys.executable, str(SEED_SCRIPT), "--size", str(a.size), "--div", str(a.width_div), "--batch", str(a.batch),
           "--classes", "12", "--warmup", str(a.warmup), "--steps", str(a.steps), "--vgg-weights", "none"]
    if a.flops: cmd.append("--flops")
    out = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}).stdout
    res = dict(who="example", size=a.size, width_div=a.width_div, batch=a.batch, precision="fp32")
    for line in out.splitlines():
        if line.startswith("RESULT "):
            kv = dict(p.split("=") for p in line.split()[1:3])
            res.update(s_per_step=float(kv["s_per_step"]), img_per_s=float(kv["images_per_s"]))
        elif line.startswith("rss_peak_final_MB="): res["peak_rss_mb"] = float(line.split("=")[1])
        elif line.startswith("achieved ~"): res["gflop_per_s"] = float(line.split("~")[1].split()[0])
        elif line.startswith("graph train_step flops"): res["train_step_gflop"] = float(line.split("= ")[1].split()[0])
    if "img_per_s" not in res: raise RuntimeError("seed_gaugan.py printed no RESULT line:\n" + out[-2000:])
    return res


def run_ours_subprocess(a):
    cmd = [sys.executable, __file__, "--worker", "--preset", a.preset, "--size", str(a.size), "--width-div", str(a.width_div),
           "--batch", str(a.batch), "--precision", a.precision, "--warmup", str(a.warmup), "--steps", str(a.steps),
           "--seed", str(a.seed)] + (["--xla"] if a.xla else []) + (["--flops"] if a.flops else []) + ([] if a.vgg else ["--no-vgg"])
    r = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    for line in r.stdout.splitlines():
        if line.startswith("RESULT_JSON "): return json.loads(line[len("RESULT_JSON "):])
    raise RuntimeError("our benchmark printed no result:\n" + (r.stdout + r.stderr)[-3000:])


def show(r):
    g = f", {r['gflop_per_s']:.0f} GFLOP/s ({r['train_step_gflop']:.1f} GFLOP/step)" if r.get("gflop_per_s") else ""
    return (f"{r['who']:>7} {r.get('preset', 'keras example'):>13} {r['size']}px /{r['width_div']} {r['precision']:>4}"
            f"{' xla' if r.get('xla') else ''}: {r['s_per_step']:.3f} s/step, {r['img_per_s']:.2f} img/s, "
            f"peak RSS {r['peak_rss_mb']:.0f} MB{g}")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--preset", default="keras-example", choices=["tiny", "small", "keras-example", "paper"])
    p.add_argument("--size", type=int, default=None, help="image size (default: the preset's)")
    p.add_argument("--width-div", type=int, default=None, help="width divisor (default: 4 for keras-example at 128 px "
                   "and for small, 1 otherwise, as in the presets)")
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--precision", default="fp32", choices=["fp32", "bf16", "fp16"])
    p.add_argument("--xla", action="store_true", help="compile the train step with XLA (jit_compile=True)")
    p.add_argument("--no-vgg", dest="vgg", action="store_false", help="train without the VGG19 loss")
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--steps", type=int, default=8)
    p.add_argument("--rounds", type=int, default=2, help="alternations of ours and the example (with --vs-example)")
    p.add_argument("--flops", action="store_true", help="count FLOPs of a train step (for GFLOP/s); on by default with --vs-example")
    p.add_argument("--vs-example", action="store_true", help="also run the Keras example, alternating; print ratio_vs_example")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    a = p.parse_args()
    from gaugan_nb.networks import gaugan_config
    base = gaugan_config(a.preset)
    a.size = a.size or base.image_size[0]
    if a.width_div is None and a.preset == "keras-example" and a.size == 128: a.width_div = 4  # the example's --div 4
    if a.width_div is None: a.width_div = {"small": 4}.get(a.preset, 1)  # the preset's own widths
    if a.worker: return run_ours(a)
    flags = set(open("/proc/cpuinfo").read().split()) if os.path.exists("/proc/cpuinfo") else set()
    if flags:
        print("cpu: " + ", ".join(f"{f} {'yes' if f in flags else 'no'}" for f in ("avx2", "avx512f", "avx512_bf16", "amx_bf16")))
        if a.precision == "bf16" and not flags & {"avx512_bf16", "amx_bf16"}:
            print("warning: this CPU has no native bfloat16 (avx512_bf16/amx_bf16): bf16 is emulated and much slower than fp32 here")
    if a.vs_example:
        if a.preset != "keras-example": p.error("--vs-example compares the keras-example preset (the example's architecture)")
        if not SEED_SCRIPT.exists(): p.error(f"{SEED_SCRIPT} not found")
        a.flops = True
    ours, example = [], []
    for r in range(a.rounds if a.vs_example else 1):
        ours.append(run_ours_subprocess(a)); print(show(ours[-1]), flush=True)
        if a.vs_example: example.append(run_example(a)); print(show(example[-1]), flush=True)
    med = lambda rs, k: statistics.median(x[k] for x in rs)
    print(f"ours median: {med(ours, 'img_per_s'):.2f} img/s, {med(ours, 's_per_step'):.3f} s/step, "
          f"peak RSS {max(x['peak_rss_mb'] for x in ours):.0f} MB")
    if a.vs_example:
        print(f"example median: {med(example, 'img_per_s'):.2f} img/s, {med(example, 's_per_step'):.3f} s/step, "
              f"peak RSS {max(x['peak_rss_mb'] for x in example):.0f} MB")
        print(f"ratio_vs_example={med(ours, 'img_per_s') / med(example, 'img_per_s'):.2f}")


if __name__ == "__main__":
    main()
