"""envscan: authoring pipeline for environmental scans.

Pipeline (pure core, I/O at the ends):
    read (source.py) -> parse (parse.py) -> resolve (resolve.py)
    -> per edition: filter, then number and cite (edition.py)
    -> write (assemble.py, site.py, pdf.py) -> verify (gate.py)
Every stage returns its result plus a list of Diagnostic (diagnostics.py).
"""

__version__ = "0.1.0"
