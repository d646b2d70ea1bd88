"""MkDocs adaptor: the ``envscan`` plugin named in the repository's mkdocs.yml.

Its only job in the source repository is to stop plain ``mkdocs build`` / ``mkdocs serve``,
which would render the unfiltered sources (every marking, editor notes, comments) into an
unmarked site. Editions are built by ``envscan build``, which gives MkDocs a generated config
over the filtered edition tree and does not load this plugin.

A plugin runs only while ``plugins:`` names it, and a config that ``INHERIT``s mkdocs.yml
replaces that list with its own. So mkdocs.yml also carries a guard that acts while MkDocs
*reads* the file, before any merge::

    envscan_guard: !!python/object/apply:envscan.mkdocs_plugin.refuse_plain_mkdocs []

MkDocs reads its config with PyYAML's full loader, which calls ``refuse_plain_mkdocs`` for
that tag, whether mkdocs.yml is given with ``-f`` or inherited by another config. envscan reads
mkdocs.yml with a safe loader that keeps the tag as an opaque value and calls nothing.
"""

from __future__ import annotations

from typing import Any, NoReturn

from mkdocs.config import base
from mkdocs.config import config_options as c
from mkdocs.exceptions import PluginError
from mkdocs.plugins import BasePlugin


class EnvscanConfig(base.Config):  # type: ignore[no-untyped-call]
    report = c.Type(dict, default={})
    scheme = c.Type(dict, default={})
    editions = c.Type(dict, default={})
    citations = c.Type(dict, default={})
    abbreviations = c.Type(dict, default={})
    gate = c.Type(dict, default={})
    pdf = c.Type(bool, default=True)


REFUSAL = ("this repository holds restricted sources: plain 'mkdocs build'/'mkdocs serve' would publish "
           "them unfiltered. Run 'envscan build [EDITION]' instead (output in site/<edition>/), or "
           "'envscan serve [EDITION]' for a live preview.")


class GuardPlugin(BasePlugin[EnvscanConfig]):  # type: ignore[no-untyped-call]
    def on_config(self, config: Any) -> Any:
        raise PluginError(REFUSAL)


def refuse_plain_mkdocs(*_args: Any) -> NoReturn:
    """Called by MkDocs' YAML loader for mkdocs.yml's ``envscan_guard`` tag (also when another
    config inherits mkdocs.yml): refuses before any config is merged or any page is read."""
    from mkdocs.exceptions import ConfigurationError

    raise ConfigurationError(REFUSAL)
