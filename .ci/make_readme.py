"""Generate README.md from nbs/index.ipynb (Quarto, which `nbdev_readme` needs, is not available offline).

The notebook is executed with execnb (as `nbdev_test` does), so cells that derive links from settings.ini
produce fresh output; nbdev's cell directives are honoured the way Quarto would:

- `#| hide`: the cell and its output are left out;
- `#| echo: false`: the source is left out, the output kept;
- `#| output: asis`: the output is markdown, inserted as is.

The conversion to markdown itself is nbconvert's MarkdownExporter.

    python .ci/make_readme.py          # write README.md
    python .ci/make_readme.py --check  # exit 1 if README.md differs from what the notebook gives
"""
import argparse
import copy
import os
import sys
from pathlib import Path

import nbformat
from execnb.nbio import read_nb
from execnb.shell import CaptureShell
from nbconvert import MarkdownExporter

ROOT = Path(__file__).resolve().parents[1]
NB, README = ROOT / "nbs" / "index.ipynb", ROOT / "README.md"
HEADER = "<!-- Generated from nbs/index.ipynb by .ci/make_readme.py: edit the notebook, not this file. -->\n\n"


def directives(src):
    "nbdev/Quarto `#| key: value` lines at the top of a cell, as a dict (flags map to True)."
    out = {}
    for line in src.splitlines():
        if not line.startswith("#|"): break
        key, _, val = line[2:].strip().partition(":")
        out[key.strip()] = val.strip() or True
    return out


def strip_directives(src):
    return "\n".join(l for l in src.splitlines() if not l.startswith("#|")).strip()


def executed_notebook():
    nb = read_nb(NB)
    cwd = os.getcwd()
    os.chdir(NB.parent)
    try: CaptureShell().run_all(nb, exc_stop=True)
    finally: os.chdir(cwd)
    return nb


def to_markdown(nb):
    cells = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            cells.append(nbformat.v4.new_markdown_cell(cell.source)); continue
        d = directives(cell.source)
        if d.get("hide") or d.get("include") == "false": continue
        text = "".join("".join(o.get("text", "")) if o.get("output_type") == "stream" else
                       "".join(o.get("data", {}).get("text/markdown", o.get("data", {}).get("text/plain", "")))
                       for o in cell.get("outputs", []))
        if d.get("output") == "asis":
            if d.get("echo") != "false": cells.append(nbformat.v4.new_code_cell(strip_directives(cell.source)))
            cells.append(nbformat.v4.new_markdown_cell(text.strip()))
            continue
        new = nbformat.v4.new_code_cell(strip_directives(cell.source))
        if text.strip(): new.outputs = [nbformat.v4.new_output("stream", name="stdout", text=text)]
        if d.get("echo") == "false": cells.append(nbformat.v4.new_markdown_cell(f"```\n{text.strip()}\n```"))
        else: cells.append(new)
    out = nbformat.v4.new_notebook(cells=cells, metadata={"language_info": {"name": "python"}})
    body, _ = MarkdownExporter().from_notebook_node(out)
    return HEADER + body.strip() + "\n"


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--check", action="store_true", help="fail if README.md is out of date")
    args = p.parse_args()
    text = to_markdown(executed_notebook())
    if args.check:
        current = README.read_text(encoding="utf-8") if README.exists() else ""
        if current != text:
            print("README.md is out of date with nbs/index.ipynb: run `python .ci/make_readme.py`", file=sys.stderr)
            return 1
        print("README.md is in sync with nbs/index.ipynb")
        return 0
    README.write_text(text, encoding="utf-8")
    print(f"wrote {README.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
