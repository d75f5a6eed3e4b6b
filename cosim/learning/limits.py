"""Bounds on everything a caller of the server controls: names, counts, ranks, dimensions, sample counts.

Every string and count that arrives in a request is checked against these before it is stored, used to
size anything, or echoed in an error, so a broken or hostile client costs the server bounded memory and
time. The byte size of a whole message is bounded by gRPC itself (:data:`cosim.rpc.channel.MAX_MESSAGE_BYTES`).
"""

from __future__ import annotations

from cosim.learning.errors import InvalidRequest, TooLarge
from cosim.values.wire import OPEN_ROUNDS

MAX_NAME_CHARS = 256
"""Longest RSU id, tier name or weight name a request may carry."""
MAX_RSUS = 10_000
"""Most participants of one round, and most RSUs the server remembers, when its scenario names no RSUs
(a server started from a scenario with RSUs accepts only those)."""
MAX_MODEL_JSON_CHARS = 65_536
"""Longest model description a Hello may carry (it is parsed to name the differences)."""
MAX_WEIGHTS = 4_096
"""Most named tensors one Aggregate may carry."""
MAX_RANK = 8
"""Highest tensor rank on the wire."""
MAX_DIM = 2**31 - 1
"""Largest size of one tensor dimension."""
MAX_SAMPLES = 2**31 - 1
"""Largest sample count an Aggregate may claim (FedAvg weighs clients by it)."""
MAX_OPEN_ROUNDS = OPEN_ROUNDS
"""Rounds that may be open (started, not yet released) at once (the protocol's: :data:`cosim.values.OPEN_ROUNDS`)."""
ROUND_WINDOW = 64
"""How far above the last released round a StartRound may go (a fresh server: rounds 0..63)."""
MAX_ECHO_CHARS = 80
"""Longest caller-supplied text an error message repeats."""
MAX_DETAIL_CHARS = 1_000
"""Longest error message the server answers with (gRPC carries it in a trailer)."""


def shown(value: object, limit: int = MAX_ECHO_CHARS) -> str:
    """``repr(value)``, cut to ``limit`` characters with the full length named (for echoing caller input)."""
    text = repr(value)
    if len(text) <= limit:
        return text
    size = f" ({len(value)} chars)" if isinstance(value, str | bytes) else ""
    return f"{text[: limit - 1]}…{size}"


def check_name(value: str, field: str) -> str:
    """A non-empty, printable name of at most :data:`MAX_NAME_CHARS` characters (RSU ids, tier names)."""
    if not value:
        raise InvalidRequest(f"{field} = '': must not be empty")
    if len(value) > MAX_NAME_CHARS:
        raise InvalidRequest(f"{field} = {shown(value)}: longer than {MAX_NAME_CHARS} characters")
    if not value.isprintable():
        raise InvalidRequest(f"{field} = {shown(value)}: contains control characters")
    return value


def check_count(n: int, limit: int, field: str) -> int:
    """A count of at most ``limit`` (participants, weights); above it the request is :class:`TooLarge`."""
    if n > limit:
        raise TooLarge(f"{field}: {n} given, the server accepts at most {limit}")
    return n


def check_index(value: int, field: str, limit: int = 2**31 - 1) -> int:
    """A round or batch number: ``0 <= value <= limit``."""
    if value < 0 or value > limit:
        raise InvalidRequest(f"{field} = {value}: must be within 0..{limit}")
    return value
