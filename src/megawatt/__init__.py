"""megawatt: plan and run a national program selling surplus electricity to Bitcoin
miners and AI data centers.

The package is layered (each layer imports only downward; docs/architecture.md,
tests/test_layers.py): ``errors`` and ``metrics``; ``io`` and ``data``; ``grid``;
``scenario``; ``economics``; ``optimize``; ``accounts``; ``planning``; ``risk``;
``report``; ``cli`` is a thin command line over them.
"""

__version__ = "0.1.0"
