"""Sphinx configuration of the erosion documentation site (Sphinx + MyST-NB + furo).

Built by ``python3 dev.py docs`` with warnings as errors (``-W --keep-going``). Notebooks in
``examples/`` are stored without outputs and executed during the build (cached under ``_build``).
"""

from __future__ import annotations

import sys
import time
from importlib import metadata
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT))

project = "erosion"
author = "The erosion developers"
copyright = f"{time.gmtime().tm_year}, {author}"
try:
    release = metadata.version("erosion")
except metadata.PackageNotFoundError:  # pragma: no cover - docs built from a plain checkout
    release = "0.1.0"
version = release

extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinx_copybutton",
    "sphinxarg.ext",
]
# sphinx.ext.intersphinx is off: the build runs without internet.

source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}  # .rst first: autosummary stubs
root_doc = "index"
exclude_patterns = ["_build", "README.md", "**/.ipynb_checkpoints", "api/_templates"]
templates_path = ["api/_templates"]

# MyST
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
myst_heading_anchors = 3

# MyST-NB: notebooks run in the build; any error or stderr output fails a -W build.
nb_execution_mode = "cache"
nb_execution_cache_path = str(DOCS / "_build" / ".jupyter_cache")
nb_execution_raise_on_error = True
nb_execution_timeout = 300
nb_output_stderr = "warn"
nb_merge_streams = True

# autodoc / autosummary / napoleon (numpy-style docstrings)
# The API pages, listed explicitly: with True, an incremental build misses pages added since the last one.
autosummary_generate = sorted(str(p.relative_to(DOCS)) for p in (DOCS / "api").glob("*.rst"))
autosummary_imported_members = False
autodoc_default_options = {"members": True, "exclude-members": "model_config"}  # pydantic's class setting
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_typehints_format = "short"
napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_use_rtype = False
napoleon_preprocess_types = False

# HTML
html_theme = "furo"
html_title = f"erosion {release}"
html_static_path: list[str] = []
copybutton_prompt_text = r">>> |\.\.\. |\$ "
copybutton_prompt_is_regexp = True


_ATTRIBUTE_TEXT: dict[str, list[str]] = {}


def _keep_attribute_text(app, what, name, obj, options, lines):
    """Before napoleon: keep the text of a constant's ``#:`` comment as written."""
    if what in ("data", "attribute"):
        _ATTRIBUTE_TEXT[name] = list(lines)


def _restore_attribute_text(app, what, name, obj, options, lines):
    """After napoleon, which reads a constant's first line as "type: description" ("Zhang,
    Xie & Liu (2002) constants: ..." would become a type): put the comment back as prose, and
    drop a type's own docstring shown for a constant without a comment (``dict()`` ...)."""
    if what not in ("data", "attribute"):
        return
    lines[:] = _ATTRIBUTE_TEXT.pop(name, lines)
    doc = getattr(type(obj), "__doc__", None)
    if lines and type(obj).__module__ == "builtins" and doc and lines[0].strip() == doc.strip().splitlines()[0].strip():
        lines.clear()


def setup(app):
    app.connect("autodoc-process-docstring", _keep_attribute_text, priority=400)
    app.connect("autodoc-process-docstring", _restore_attribute_text, priority=600)
