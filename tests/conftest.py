"""Shared fixtures. Tests that need something this machine may lack (the CMP facades, a browser) skip
with the reason on a user's machine and fail when CI=true, so CI can never pass by skipping them."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def pytest_configure(config):
    # Keras/TensorFlow internals on numpy 2 (not ours, not actionable here)
    config.addinivalue_line("filterwarnings", "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning")


def require(ok: bool, reason: str):
    "Skip (or, under CI, fail) unless `ok`."
    if ok: return
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"): pytest.fail(f"CI=true but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def cmp_dir():
    "The CMP Facade base set: $GAUGAN_CMP_DIR, else ../shared/data/cmp_facades beside the project."
    from gaugan_nb.data import cmp_facades_dir
    d = cmp_facades_dir()
    require(d is not None and (d / "images").is_dir(),
            "CMP facades not found: set GAUGAN_CMP_DIR to the folder with images/ and labels/")
    return d


def run_gaugan(*args, timeout=300, **kw):
    "Run the installed `gaugan` console script; return the CompletedProcess (text mode)."
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    exe = Path(sys.executable).with_name("gaugan")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "gaugan_nb.cli"]
    return subprocess.run(cmd + [str(a) for a in args], capture_output=True, text=True, timeout=timeout, env=env, **kw)
