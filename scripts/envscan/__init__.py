"""envscan: authoring pipeline for environmental scans.

Pipeline (pure core, I/O at the ends; typed data in model.py):
    read (source.py, project.py) -> parse (mdparse.py, parse.py) -> resolve (resolve.py)
    -> per edition: filter, then number and cite (edition.py, cite.py)
    -> render (render.py: HTML; site.py + mkdocs_hooks.py: MkDocs; pdf.py: WeasyPrint)
    -> verify (gate/)
Every stage returns its result plus a list of Diagnostic (diagnostics.py).
"""

__version__ = "0.1.0"
