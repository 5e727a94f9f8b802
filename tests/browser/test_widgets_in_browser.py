"""End-to-end test of the widgets in a real browser: Voila serves tests/browser/widgets_app.ipynb with a real
Jupyter kernel on 127.0.0.1, and headless Chromium (Debian's package, driven by Playwright without any browser
download) changes the widgets' values and looks at what they draw. Screenshots go to artifacts/browser/."""
import contextlib
import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from conftest import require

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "tests" / "browser" / "widgets_app.ipynb"
SHOTS = ROOT / "artifacts" / "browser"
CHROMIUM = next((p for p in (os.environ.get("CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser") if p and Path(p).exists()), None)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _kernel_dir(tmp) -> str:
    "A Jupyter data dir whose `python3` kernel is this interpreter, so Voila runs the notebook in this environment."
    spec = Path(tmp) / "kernels" / "python3"
    spec.mkdir(parents=True, exist_ok=True)
    (spec / "kernel.json").write_text(json.dumps({"argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                                                  "display_name": "Python 3", "language": "python"}))
    return str(tmp)


def _stop(proc):
    "Terminate Voila (it shuts its kernel down), killing its whole process group if it does not stop in time."
    if proc.poll() is None:
        proc.terminate()
        try: proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL); proc.wait(10)


@contextlib.contextmanager
def _voila(env_extra, jupyter_dir):
    "Voila serving the widget notebook on a free loopback port; yields its URL and always stops it."
    port = _free_port()
    env = dict(os.environ, JUPYTER_PATH=jupyter_dir, **env_extra)
    with open(SHOTS / f"voila_{port}.log", "w") as log:
        proc = subprocess.Popen([sys.executable, "-m", "voila", str(APP), "--no-browser", f"--port={port}", "--Voila.ip=127.0.0.1",
                                 "--ServerApp.ip=127.0.0.1"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        try:
            url = f"http://127.0.0.1:{port}/"
            for _ in range(120):
                if proc.poll() is not None: raise RuntimeError(f"voila exited with {proc.returncode}; see {log.name}")
                try:
                    urllib.request.urlopen(url + "voila/static/", timeout=1)
                    break
                except urllib.error.HTTPError: break  # the server answers (403/404 for this probe): it is up
                except OSError: time.sleep(0.5)
            else: raise RuntimeError(f"voila did not start on {url}; see {log.name}")
            yield url
        finally: _stop(proc)


@pytest.fixture(scope="module")
def browser():
    require(CHROMIUM is not None, "Chromium is not installed (Debian package chromium; .ci/run installs it)")
    try:
        from playwright import sync_api as pw
        import voila  # noqa: F401
        import ipykernel  # noqa: F401  (the kernel Voila starts)
    except ImportError as e: require(False, f"{e.name} is not installed (pip install -e '.[dev]')")
    SHOTS.mkdir(parents=True, exist_ok=True)
    with pw.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-dev-shm-usage"])
        yield b
        b.close()


@pytest.fixture(scope="module")
def jupyter_dir(tmp_path_factory): return _kernel_dir(tmp_path_factory.mktemp("jupyter"))


@contextlib.contextmanager
def _served(browser, jupyter_dir, env_extra):
    "A browser page showing the widget notebook served by Voila, once both widget images are drawn."
    with _voila(env_extra, jupyter_dir) as url:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(240_000)  # the kernel loads TensorFlow and the model before the first widget appears
        try:
            page.goto(url)
            page.wait_for_selector("img.widget-image", state="visible")
            page.wait_for_function("[...document.querySelectorAll('img.widget-image')].filter(i => i.src.startsWith('blob:')).length >= 2")
            yield page
        finally: page.close()


_PNG_BYTES = """async els => {
    if (!els[%d].src.startsWith("blob:")) return "";
    const bytes = new Uint8Array(await (await fetch(els[%d].src)).arrayBuffer());
    let s = ""; for (const b of bytes) s += String.fromCharCode(b);
    return btoa(s);
}"""


def _img(page, k):
    "The PNG the browser shows in the k-th widget image (0: latent sampler, 1: SPADE explorer), base64."
    return page.eval_on_selector_all("img.widget-image", _PNG_BYTES % (k, k))


def _wait_change(page, k, old, timeout_s=60):
    t = time.time()
    while time.time() - t < timeout_s:
        new = _img(page, k)
        if new and new != old: return new
        page.wait_for_timeout(250)
    return None


def _set_seed(page, value):
    box = page.locator(".widget-inline-hbox", has=page.locator("label", has_text="seed")).locator("input").first
    box.fill(str(value)); box.press("Enter")


def _gamma_panel(png_b64):
    "The γ panel (second of the six) of the SPADE explorer's figure, as an array."
    import base64
    from PIL import Image
    im = np.asarray(Image.open(io.BytesIO(base64.b64decode(png_b64))).convert("L"), np.float32)
    w = im.shape[1]
    return im[:, int(w * 1.05 / 7.6):int(w * 1.95 / 7.6)]


def _sampler_and_explorer(page, tag, wait_s=60):
    "Returns a list of what failed (empty when the widgets react as they should)."
    failures = []
    first = _img(page, 0)
    page.screenshot(path=SHOTS / f"{tag}_0_start.png", full_page=True)
    _set_seed(page, 5)
    changed = _wait_change(page, 0, first, wait_s)
    page.screenshot(path=SHOTS / f"{tag}_1_seed5.png", full_page=True)
    if changed is None: failures.append("the latent sampler's images did not change with the seed")
    else:
        _set_seed(page, 0)
        back = _wait_change(page, 0, changed, wait_s)
        page.screenshot(path=SHOTS / f"{tag}_2_seed0.png", full_page=True)
        if back != first: failures.append("going back to seed 0 did not give the first images again")
    before = _img(page, 1)
    slider = page.locator(".widget-hslider", has=page.locator("label", has_text="channel")).locator(".noUi-handle, .slider-handle, [role=slider]").first
    slider.focus(); slider.press("ArrowRight"); slider.press("ArrowRight")
    after = _wait_change(page, 1, before, wait_s)
    page.screenshot(path=SHOTS / f"{tag}_3_channel.png", full_page=True)
    if after is None: failures.append("the SPADE explorer did not redraw for another channel")
    elif np.abs(_gamma_panel(after) - _gamma_panel(before)).mean() < 1.0: failures.append("the γ map did not change with the channel")
    return failures


def test_widgets_react_in_a_real_browser(browser, jupyter_dir):
    with _served(browser, jupyter_dir, {}) as page: failures = _sampler_and_explorer(page, "widgets")
    assert not failures, failures


@pytest.mark.parametrize("broken", ["sampler", "explorer"])
def test_browser_test_notices_a_broken_callback(browser, jupyter_dir, broken):
    with _served(browser, jupyter_dir, {"GAUGAN_BREAK": broken}) as page: failures = _sampler_and_explorer(page, f"broken_{broken}", wait_s=20)
    assert failures, f"the {broken} widget's callback was disconnected, yet the browser checks passed"
    assert all(("sampler" in f or "seed" in f) == (broken == "sampler") for f in failures), failures
