"""MkDocs hooks for an edition build: hand MkDocs the pages envscan rendered.

Loaded only through the generated config of an edition (``site.edition_config``). MkDocs lays
out the pages it is handed (nav, theme, search index, sitemap) and never renders a source:
each page's Markdown is a placeholder (front matter only), and its HTML and table of contents
come from ``envscan-pages.json`` beside the config, written by ``site.write_tree`` from the
filtered tree. A page envscan did not render stops the build (fail closed).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mkdocs.exceptions import PluginError
from mkdocs.structure.toc import get_toc

if TYPE_CHECKING:
    from jinja2 import Environment
    from mkdocs.config.defaults import MkDocsConfig
    from mkdocs.structure.files import Files
    from mkdocs.structure.pages import Page

PAGES_FILE = "envscan-pages.json"
_pages: dict[str, dict[str, Any]] = {}


def on_config(config: MkDocsConfig) -> MkDocsConfig:
    path = Path(config.config_file_path).parent / PAGES_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise PluginError(f"envscan: the rendered pages are missing ({exc}); build with 'envscan build'") from None
    _pages.clear()
    _pages.update(data)
    return config


def _page(page: Page) -> dict[str, Any]:
    data = _pages.get(page.file.src_uri)
    if data is None:
        raise PluginError(f"envscan: {page.file.src_uri} was not rendered by envscan; refusing to render it")
    return data


def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    _page(page)
    return ""  # nothing for Python-Markdown to parse


def on_page_content(html: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    data = _page(page)
    page.toc = get_toc(data["toc"])
    return str(data["html"])


def on_env(env: Environment, config: MkDocsConfig, files: Files) -> Environment:
    """The theme's templates are compiled once per process, not on every build (the live
    preview rebuilds the site on each change; a build compiles them once for all editions)."""
    from envscan.preview import template_cache

    env.bytecode_cache = template_cache()
    return env
