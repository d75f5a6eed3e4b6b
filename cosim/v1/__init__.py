"""Code generated from ``protos/cosim/v1/*.proto`` by ``scripts/gen_protos.py`` (never hand-edited)."""
