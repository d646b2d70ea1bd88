"""MkDocs adaptor: the ``envscan`` plugin named in the repository's mkdocs.yml.

Its only job in the source repository is to stop plain ``mkdocs build`` / ``mkdocs serve``,
which would render the unfiltered sources (every marking, editor notes, comments) into an
unmarked site. Editions are built by ``envscan build``, which gives MkDocs a generated config
over the filtered edition tree and does not load this plugin.
"""

from __future__ import annotations

from mkdocs.config import base
from mkdocs.config import config_options as c
from mkdocs.exceptions import PluginError
from mkdocs.plugins import BasePlugin


class EnvscanConfig(base.Config):
    report = c.Type(dict, default={})
    scheme = c.Type(dict, default={})
    editions = c.Type(dict, default={})
    citations = c.Type(dict, default={})
    abbreviations = c.Type(dict, default={})
    gate = c.Type(dict, default={})
    pdf = c.Type(bool, default=True)


class GuardPlugin(BasePlugin[EnvscanConfig]):
    def on_config(self, config):
        raise PluginError(
            "this repository holds restricted sources: plain 'mkdocs build'/'mkdocs serve' would publish "
            "them unfiltered. Run 'envscan build [EDITION]' instead (output in site/<edition>/), or "
            "'envscan serve [EDITION]' for a live preview."
        )
