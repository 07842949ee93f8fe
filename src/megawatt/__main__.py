"""``python -m megawatt``: the same as the ``megawatt`` command."""

from megawatt.cli import app

app(prog_name="megawatt")
