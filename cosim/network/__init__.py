"""Network: link models behind the :class:`cosim.ports.LinkModel` port, selected by ``network.model``.

- :mod:`cosim.network.abstract` -- ``abstract``: latency + bytes / bandwidth shared with the vehicles in range.
"""
