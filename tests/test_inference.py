"Inference with a trained tiny model: determinism, style transfer, and the two widgets driven through their controls."
import numpy as np
import pytest

from gaugan_nb.data import FACADE_CLASSES, SyntheticFacades, synthetic_facade


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    "tiny, trained long enough to have learned styles (about two minutes on two cores)."
    from gaugan_nb.networks import gaugan_config
    from gaugan_nb.training import load_generator, train
    out = tmp_path_factory.mktemp("inference_run")
    _, _, path = train(SyntheticFacades(n=400, size=64, seed=1), out, gaugan_config("tiny", lambda_vgg=0), epochs=15,
                       batch_size=8, verbose=0, log=lambda *a: None)
    return load_generator(path)


@pytest.fixture(scope="module")
def layouts():
    return np.stack([synthetic_facade(100 + i, 64)[1] for i in range(3)])


def test_seed_determinism(model, layouts):
    from gaugan_nb.inference import generate
    a = generate(model, layouts, seed=3)
    np.testing.assert_array_equal(generate(model, layouts, seed=3), a)
    assert np.abs(generate(model, layouts, seed=4) - a).mean() > 1e-3
    np.testing.assert_allclose(generate(model, layouts, seed=3, batch_size=1), a, atol=1e-5)


def test_style_transfer_uses_the_style(model, layouts):
    from gaugan_nb.inference import generate
    red, pale = synthetic_facade(14, 64)[0], synthetic_facade(0, 64)[0]
    ref = {"red": (red / 127.5 - 1).mean((0, 1)), "pale": (pale / 127.5 - 1).mean((0, 1))}
    out = {"red": generate(model, layouts, style=red), "pale": generate(model, layouts, style=pale)}
    diff = float(np.abs(out["red"] - out["pale"]).mean())
    dist = {(o, s): np.linalg.norm(out[o].mean((1, 2)) - ref[s], axis=-1) for o in ref for s in ref}
    print(f"mean |red - pale| = {diff:.3f}", {f"{o}->{s}": np.round(v, 3).tolist() for (o, s), v in dist.items()})
    assert diff >= 0.05
    assert (dist["red", "red"] < dist["red", "pale"]).all() and (dist["pale", "pale"] < dist["pale", "red"]).all()


def test_latent_sampler_controls(model, layouts):
    from gaugan_nb.inference import latent_sampler
    ls = latent_sampler(model, layouts[0], n=4, seed=0)
    first = ls.images.copy()
    ls.seed.value = 9
    assert np.abs(ls.images - first).mean() > 1e-3
    ls.seed.value = 0
    np.testing.assert_array_equal(ls.images, first)


def test_label_editor_change_is_local(model, layouts):
    from gaugan_nb.inference import label_editor
    ed = label_editor(model, layouts[1], seed=2)
    lab0, img0 = ed.labels.copy(), ed.image.copy()
    ed.klass.value = FACADE_CLASSES.index("door")
    ed.rows.value, ed.cols.value = (44, 64), (26, 38)
    ed.apply.click()
    inside = np.zeros((64, 64), bool); inside[44:64, 26:38] = True
    np.testing.assert_array_equal(ed.labels[~inside], lab0[~inside])
    delta = np.abs(ed.image - img0).sum(-1)
    near = np.zeros((64, 64), bool); near[44 - 8:64, 26 - 8:38 + 8] = True
    share = delta[near].sum() / delta.sum()
    print(f"share of the change near the edit: {share:.0%}")
    assert delta.sum() > 0 and share >= 0.7
    ed.undo.click()
    np.testing.assert_array_equal(ed.image, img0)
