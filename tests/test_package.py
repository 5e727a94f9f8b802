"The built wheel: installs, imports with the network cut off, downloads nothing, ships no CMP data."
import os
import subprocess
import sys
import textwrap
import zipfile

import pytest

from conftest import ROOT

NO_NETWORK = textwrap.dedent("""
    import socket
    def _refuse(*a, **k): raise OSError("network access attempted during the test")
    socket.socket.connect = _refuse
    socket.create_connection = _refuse
    socket.getaddrinfo = _refuse
""")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel")
    cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(ROOT)]
    try:
        import setuptools, wheel as _  # noqa: F401  (build offline from what is installed)
        cmd.insert(4, "--no-build-isolation")
    except ImportError: pass
    subprocess.run(cmd, check=True, capture_output=True, timeout=600)
    (whl,) = out.glob("gaugan_nb-*.whl")
    return whl


def test_wheel_contents(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert "gaugan_nb/data.py" in names and "gaugan_nb/cli.py" in names
    assert not [n for n in names if "cmp_b" in n], "CMP facades must not be shipped"
    shipped = {n: zipfile.ZipFile(wheel).getinfo(n).file_size for n in names if n.startswith("gaugan_nb/pretrained/")}
    assert set(shipped) == {"gaugan_nb/pretrained/facades_small.npz", "gaugan_nb/pretrained/facades_segmenter.npz"}, shipped
    assert shipped["gaugan_nb/pretrained/facades_small.npz"] <= 30e6 and shipped["gaugan_nb/pretrained/facades_segmenter.npz"] <= 5e6
    meta = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("METADATA"))).decode()
    for req in ("tensorflow>=2.16", "keras>=3.5"): assert f"Requires-Dist: {req}" in meta
    entry = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
    assert "gaugan = gaugan_nb.cli:main" in entry


def test_wheel_imports_offline(wheel, tmp_path):
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "-q", "--target", str(target), str(wheel)],
                   check=True, capture_output=True, timeout=300)
    home = tmp_path / "home"; home.mkdir()
    code = NO_NETWORK + textwrap.dedent(f"""
        import sys
        import gaugan_nb, gaugan_nb.data, gaugan_nb.cli, gaugan_nb.project
        assert gaugan_nb.__file__.startswith({str(target)!r}), gaugan_nb.__file__
        assert "tensorflow" not in sys.modules, "importing the package must not import TensorFlow"
        from gaugan_nb.data import SyntheticFacades, make_dataset
        x, y = next(iter(make_dataset(SyntheticFacades(n=3, size=32), image_size=32, batch_size=3)))
        assert x.shape == (3, 32, 32, 3) and y.shape == (3, 32, 32, 12)
        from gaugan_nb.evaluation import load_model, load_segmenter
        from gaugan_nb.inference import generate
        model, seg = load_model("pretrained"), load_segmenter("pretrained")   # from the installed wheel, no network
        assert model.image_size == (128, 128) and seg.image_size == (128, 128)
        img = generate(model, y[:1].numpy().argmax(-1).repeat(4, 1).repeat(4, 2), seed=0)
        assert img.shape == (1, 128, 128, 3) and seg(img).shape == (1, 128, 128)
        print("offline ok", gaugan_nb.__version__, gaugan_nb.project.repo_url())
    """)
    env = {**os.environ, "PYTHONPATH": str(target), "HOME": str(home), "KERAS_HOME": str(home / ".keras"),
           "TF_CPP_MIN_LOG_LEVEL": "2"}
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "offline ok" in r.stdout
    # Keras writes its keras.json and matplotlib its font list; weights or datasets would be downloads.
    downloaded = [p for p in home.rglob("*") if p.is_file() and
                  (p.parent.name in ("models", "datasets") or p.stat().st_size > 1_000_000)]
    assert not downloaded, f"files downloaded under HOME: {downloaded[:5]}"
