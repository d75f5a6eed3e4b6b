"""Admission: the calls and request bytes each kind of call may hold at once, per peer and in total.

``cosim serve`` (:class:`cosim.rpc.servicer.SplitFedServicer`) admits every call before it reads the
call's request, so no caller can take the memory or the room the others need:

- Calls fall in four **pools** with budgets of their own (:func:`budgets`): ``hello`` (Hello), ``control``
  (StartRound, EndRound, Finish), ``data`` (Forward, Evaluate) and ``aggregate`` (Aggregate, also while
  it waits at the round barrier). A flood of one kind never takes the room of another: waiting
  Aggregates cannot starve Hello or Forward.
- A pool bounds the **calls** it holds and the **bytes** of their requests, in total and per peer
  (``context.peer()``: one connection). A call *reserves* the largest message
  (:data:`~cosim.rpc.channel.MAX_MESSAGE_BYTES`) while its request is being read, then holds its actual
  size until it ends (a waiting Aggregate holds none: its request is freed once at the barrier). So the
  request bytes in memory are at most the sum of the pools' byte budgets.
- A call that does not fit **waits** (at most ``queue`` calls per pool, ``queue_per_peer`` per peer, for
  at most ``wait_s``) and is admitted **round-robin across peers**, so a peer with many calls waiting
  does not push another's call back; beyond that it is refused ``RESOURCE_EXHAUSTED`` ("server busy")
  without its request being read. The server's HTTP/2 options (:func:`cosim.rpc.channel.server_options`)
  let a call that waits hold at most about 256 KiB of unread request.

The pools are thread-safe (a lock; waiters are :class:`concurrent.futures.Future`), so the same object
serves an asyncio handler (awaiting :func:`asyncio.wrap_future`) or a thread.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict, deque
from concurrent.futures import Future
from dataclasses import dataclass

from cosim.learning.errors import TooLarge
from cosim.learning.limits import MAX_OPEN_ROUNDS
from cosim.rpc import channel

log = logging.getLogger("cosim.rpc")

POOLS = {
    "Hello": "hello",
    "StartRound": "control",
    "EndRound": "control",
    "Finish": "control",
    "Forward": "data",
    "Evaluate": "data",
    "Aggregate": "aggregate",
}
"""The pool of each method."""


@dataclass(frozen=True)
class Budget:
    """What one pool of calls may hold at once."""

    calls: int
    calls_per_peer: int
    bytes: int
    """Request bytes held (reserved while being read), in total."""
    bytes_per_peer: int
    queue: int
    """Calls that may wait for room, in total."""
    queue_per_peer: int
    wait_s: float
    """Longest wait for room; then the call is refused."""


def budgets(n_rsus: int, max_message_bytes: int = channel.MAX_MESSAGE_BYTES) -> dict[str, Budget]:
    """The pools' budgets for a server of ``n_rsus`` RSUs (0: its scenario names none).

    Every pool may read two requests of the largest size at once (one per peer). ``aggregate`` holds one
    waiting Aggregate per RSU and open round (:data:`~cosim.learning.limits.MAX_OPEN_ROUNDS`), at least
    :data:`~cosim.rpc.channel.MIN_WAITING_AGGREGATES`, and as many may wait to be read: a client sends
    all its RSUs' Aggregates at once, over one connection.
    """
    big, one = 2 * max_message_bytes, max_message_bytes
    waiting = max(channel.MIN_WAITING_AGGREGATES, MAX_OPEN_ROUNDS * n_rsus)
    return {
        "hello": Budget(8, 2, big, one, 32, 4, channel.ADMISSION_WAIT_S),
        "control": Budget(8, 4, big, one, 16, 4, channel.ADMISSION_WAIT_S),
        "data": Budget(4, 2, big, one, 16, 4, channel.ADMISSION_WAIT_S),
        "aggregate": Budget(waiting, waiting, big, one, waiting, waiting, channel.ADMISSION_WAIT_S),
    }


def max_rpcs(pools: dict[str, Budget]) -> int:
    """Calls gRPC itself lets in at once: every pool's calls and queue, and a margin for refusals in flight."""
    return sum(b.calls + b.queue for b in pools.values()) + 64


class Ticket:
    """A call's room in a pool: release it when the call ends (idempotent)."""

    __slots__ = ("pool", "peer", "held", "released")

    def __init__(self, pool: Pool, peer: str, held: int) -> None:
        self.pool, self.peer, self.held, self.released = pool, peer, held, False

    def resize(self, nbytes: int) -> None:
        """Hold ``nbytes`` of request from now on (after reading: its size; at the barrier: 0)."""
        self.pool.resize(self, nbytes)

    def release(self) -> None:
        """Give the room back."""
        self.pool.release(self)


class Pool:
    """Calls and bytes of one kind of call, with a round-robin queue across peers."""

    def __init__(self, name: str, budget: Budget) -> None:
        self.name = name
        self.budget = budget
        self._lock = threading.Lock()
        self.calls = 0
        self.bytes = 0
        self._peer_calls: dict[str, int] = {}
        self._peer_bytes: dict[str, int] = {}
        self._queue: OrderedDict[str, deque[tuple[Future, int]]] = OrderedDict()
        self.queued = 0
        self.refused = 0
        """Calls refused so far (no room to wait)."""
        self.peak_bytes = 0

    def request(self, peer: str, reserve: int) -> Future:
        """A future that resolves to a :class:`Ticket` once the call fits; :class:`TooLarge` if it may not wait."""
        fut: Future = Future()
        with self._lock:
            if peer not in self._queue and self._fits(peer, reserve):
                fut.set_running_or_notify_cancel()
                fut.set_result(self._grant(peer, reserve))
                return fut
            waiting = len(self._queue.get(peer, ()))
            if self.queued >= self.budget.queue or waiting >= self.budget.queue_per_peer:
                self.refused += 1
                if self.refused <= 10 or self.refused % 1000 == 0:
                    log.warning("%s pool full: refused a call from %s (%d refused)", self.name, peer, self.refused)
                raise TooLarge(
                    f"server busy: {self.name} calls in progress {self.calls}, waiting {self.queued} "
                    f"({waiting} of this peer); try again later"
                )
            self._queue.setdefault(peer, deque()).append((fut, reserve))
            self.queued += 1
        return fut

    def withdraw(self, peer: str, fut: Future) -> None:
        """A caller stops waiting for ``fut`` (timeout, cancelled call): leave the queue, or give back its room."""
        with self._lock:
            q = self._queue.get(peer, deque())
            for item in list(q):
                if item[0] is fut:
                    q.remove(item)
                    self.queued -= 1
                    if not q:
                        del self._queue[peer]
                    fut.cancel()
                    return
        fut.add_done_callback(_release_granted)  # granted meanwhile (or about to be): give the room back

    def resize(self, ticket: Ticket, nbytes: int) -> None:
        """Change what ``ticket`` holds (a smaller size may let waiting calls in)."""
        with self._lock:
            if ticket.released:
                return
            delta = nbytes - ticket.held
            ticket.held = nbytes
            self.bytes += delta
            self._peer_bytes[ticket.peer] = self._peer_bytes.get(ticket.peer, 0) + delta
            self.peak_bytes = max(self.peak_bytes, self.bytes)
            granted = self._admit_waiting() if delta < 0 else []
        _resolve(granted)

    def release(self, ticket: Ticket) -> None:
        """Give ``ticket``'s call and bytes back and admit whoever now fits."""
        with self._lock:
            if ticket.released:
                return
            ticket.released = True
            self.calls -= 1
            self.bytes -= ticket.held
            peer = ticket.peer
            self._peer_calls[peer] -= 1
            self._peer_bytes[peer] -= ticket.held
            if not self._peer_calls[peer]:
                del self._peer_calls[peer]
                self._peer_bytes.pop(peer, None)
            granted = self._admit_waiting()
        _resolve(granted)

    # ------------------------------------------------------------------ internals (lock held)

    def _fits(self, peer: str, reserve: int) -> bool:
        b = self.budget
        return (
            self.calls < b.calls
            and self._peer_calls.get(peer, 0) < b.calls_per_peer
            and self.bytes + reserve <= b.bytes
            and self._peer_bytes.get(peer, 0) + reserve <= b.bytes_per_peer
        )

    def _grant(self, peer: str, reserve: int) -> Ticket:
        self.calls += 1
        self.bytes += reserve
        self._peer_calls[peer] = self._peer_calls.get(peer, 0) + 1
        self._peer_bytes[peer] = self._peer_bytes.get(peer, 0) + reserve
        self.peak_bytes = max(self.peak_bytes, self.bytes)
        return Ticket(self, peer, reserve)

    def _admit_waiting(self) -> list[tuple[Future, Ticket]]:
        """Grant waiters while one fits, round robin across peers, first come first served within a peer.

        The first peer in turn whose oldest waiter fits is granted, then goes to the back of the turn.
        """
        granted: list[tuple[Future, Ticket]] = []
        while True:
            for peer in list(self._queue):  # drop waiters whose caller gave up
                q = self._queue[peer]
                while q and q[0][0].cancelled():
                    q.popleft()
                    self.queued -= 1
                if not q:
                    del self._queue[peer]
            first = next((p for p, q in self._queue.items() if self._fits(p, q[0][1])), None)
            if first is None:
                return granted
            q = self._queue[first]
            fut, reserve = q.popleft()
            self.queued -= 1
            if fut.set_running_or_notify_cancel():
                granted.append((fut, self._grant(first, reserve)))
            if q:
                self._queue.move_to_end(first)
            else:
                del self._queue[first]


def _release_granted(fut: Future) -> None:
    if not fut.cancelled() and fut.exception() is None:
        fut.result().release()


def _resolve(granted: list[tuple[Future, Ticket]]) -> None:
    """Hand out granted rooms (outside the lock: a future's callbacks run here)."""
    for fut, ticket in granted:
        fut.set_result(ticket)


class Admission:
    """The four pools of a server (see the module docstring)."""

    def __init__(self, pools: dict[str, Budget], max_message_bytes: int = channel.MAX_MESSAGE_BYTES) -> None:
        self.pools = {name: Pool(name, b) for name, b in pools.items()}
        self.reserve = max_message_bytes
        """Bytes a call reserves while its request is read (the largest message gRPC lets in)."""

    def pool(self, method: str) -> Pool:
        """The pool of ``method``."""
        return self.pools[POOLS[method]]
