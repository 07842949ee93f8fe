"""megawatt: plan and run a national program selling surplus electricity to Bitcoin
miners and AI data centers.

The package is layered (each layer imports only downward): ``data`` (embedded default
datasets), ``scenario`` (the scenario model and its files), ``grid`` (demand and
availability profiles), ``economics``, ``optimize``, ``risk``, ``report``; ``cli`` is a
thin command line over them.
"""

__version__ = "0.1.0"
