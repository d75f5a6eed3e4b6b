"""SplitFed over gRPC: codec, servicer, server, security, and the engine's transports.

- :mod:`cosim.rpc.transport` -- :class:`LocalTransport` (the server core in process, no gRPC).
- :mod:`cosim.rpc.grpc_transport` -- :class:`GrpcTransport` (real gRPC, TLS/token, retries); both implement
  :class:`cosim.ports.Transport`.
- :mod:`cosim.rpc.connect` -- :func:`connect`: the transport a run asks for (in-process server, remote, local).
- :mod:`cosim.rpc.server` -- :func:`start_server` (``grpc.aio`` on a background loop, checkpoints);
  :mod:`cosim.rpc.commands` -- ``cosim serve``.
- :mod:`cosim.rpc.security` -- bind and target rules, TLS credentials, the bearer-token interceptor.
- :mod:`cosim.rpc.admission` -- ``cosim serve``'s call pools: calls and request bytes per peer and in total.
- :mod:`cosim.rpc.codec` -- the only wire <-> domain conversion; :mod:`cosim.rpc.channel` -- limits, deadlines,
  retries.
"""
