"""An unexpected failure (a bug) becomes one diagnostic and a crash log, never a traceback."""

from __future__ import annotations

from click.testing import CliRunner

import envscan.pipeline
from envscan.cli import main


def test_internal_error_is_a_diagnostic(tmp_path, monkeypatch):
    (tmp_path / "mkdocs.yml").write_text("site_name: x\n", encoding="utf-8")

    def boom(*args, **kwargs):
        raise RuntimeError("simulated defect")

    monkeypatch.setattr(envscan.pipeline, "build_project", boom)
    res = CliRunner().invoke(main, ["build", "-C", str(tmp_path), "-q"])
    assert res.exit_code == 3
    out = res.output
    assert "Traceback" not in out
    assert "error[E-INTERNAL]: envscan failed unexpectedly (RuntimeError)" in out
    log = tmp_path / "build" / "envscan-crash.log"
    assert "simulated defect" in log.read_text(encoding="utf-8")
