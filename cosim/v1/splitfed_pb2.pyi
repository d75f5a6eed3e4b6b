from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Tensor(_message.Message):
    __slots__ = ("dtype", "shape", "data")
    DTYPE_FIELD_NUMBER: _ClassVar[int]
    SHAPE_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    dtype: str
    shape: _containers.RepeatedScalarFieldContainer[int]
    data: bytes
    def __init__(self, dtype: _Optional[str] = ..., shape: _Optional[_Iterable[int]] = ..., data: _Optional[bytes] = ...) -> None: ...

class NamedTensor(_message.Message):
    __slots__ = ("name", "tensor")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TENSOR_FIELD_NUMBER: _ClassVar[int]
    name: str
    tensor: Tensor
    def __init__(self, name: _Optional[str] = ..., tensor: _Optional[_Union[Tensor, _Mapping]] = ...) -> None: ...

class TierSpec(_message.Message):
    __slots__ = ("name", "client_depth")
    NAME_FIELD_NUMBER: _ClassVar[int]
    CLIENT_DEPTH_FIELD_NUMBER: _ClassVar[int]
    name: str
    client_depth: int
    def __init__(self, name: _Optional[str] = ..., client_depth: _Optional[int] = ...) -> None: ...

class HelloRequest(_message.Message):
    __slots__ = ("rsu", "fingerprint", "model")
    RSU_FIELD_NUMBER: _ClassVar[int]
    FINGERPRINT_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    rsu: str
    fingerprint: str
    model: str
    def __init__(self, rsu: _Optional[str] = ..., fingerprint: _Optional[str] = ..., model: _Optional[str] = ...) -> None: ...

class HelloReply(_message.Message):
    __slots__ = ("version", "tiers", "fingerprint", "model", "seed", "learning_rate")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    TIERS_FIELD_NUMBER: _ClassVar[int]
    FINGERPRINT_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    LEARNING_RATE_FIELD_NUMBER: _ClassVar[int]
    version: str
    tiers: _containers.RepeatedCompositeFieldContainer[TierSpec]
    fingerprint: str
    model: str
    seed: int
    learning_rate: float
    def __init__(self, version: _Optional[str] = ..., tiers: _Optional[_Iterable[_Union[TierSpec, _Mapping]]] = ..., fingerprint: _Optional[str] = ..., model: _Optional[str] = ..., seed: _Optional[int] = ..., learning_rate: _Optional[float] = ...) -> None: ...

class StartRoundRequest(_message.Message):
    __slots__ = ("round", "participants")
    class ParticipantsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ROUND_FIELD_NUMBER: _ClassVar[int]
    PARTICIPANTS_FIELD_NUMBER: _ClassVar[int]
    round: int
    participants: _containers.ScalarMap[str, str]
    def __init__(self, round: _Optional[int] = ..., participants: _Optional[_Mapping[str, str]] = ...) -> None: ...

class StartRoundReply(_message.Message):
    __slots__ = ("round", "expected")
    ROUND_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_FIELD_NUMBER: _ClassVar[int]
    round: int
    expected: int
    def __init__(self, round: _Optional[int] = ..., expected: _Optional[int] = ...) -> None: ...

class ForwardRequest(_message.Message):
    __slots__ = ("rsu", "round", "batch", "tier", "activations", "labels")
    RSU_FIELD_NUMBER: _ClassVar[int]
    ROUND_FIELD_NUMBER: _ClassVar[int]
    BATCH_FIELD_NUMBER: _ClassVar[int]
    TIER_FIELD_NUMBER: _ClassVar[int]
    ACTIVATIONS_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    rsu: str
    round: int
    batch: int
    tier: str
    activations: Tensor
    labels: Tensor
    def __init__(self, rsu: _Optional[str] = ..., round: _Optional[int] = ..., batch: _Optional[int] = ..., tier: _Optional[str] = ..., activations: _Optional[_Union[Tensor, _Mapping]] = ..., labels: _Optional[_Union[Tensor, _Mapping]] = ...) -> None: ...

class ForwardReply(_message.Message):
    __slots__ = ("gradients", "loss")
    GRADIENTS_FIELD_NUMBER: _ClassVar[int]
    LOSS_FIELD_NUMBER: _ClassVar[int]
    gradients: Tensor
    loss: float
    def __init__(self, gradients: _Optional[_Union[Tensor, _Mapping]] = ..., loss: _Optional[float] = ...) -> None: ...

class AggregateRequest(_message.Message):
    __slots__ = ("rsu", "round", "tier", "weights", "n_samples", "base_version")
    RSU_FIELD_NUMBER: _ClassVar[int]
    ROUND_FIELD_NUMBER: _ClassVar[int]
    TIER_FIELD_NUMBER: _ClassVar[int]
    WEIGHTS_FIELD_NUMBER: _ClassVar[int]
    N_SAMPLES_FIELD_NUMBER: _ClassVar[int]
    BASE_VERSION_FIELD_NUMBER: _ClassVar[int]
    rsu: str
    round: int
    tier: str
    weights: _containers.RepeatedCompositeFieldContainer[NamedTensor]
    n_samples: int
    base_version: int
    def __init__(self, rsu: _Optional[str] = ..., round: _Optional[int] = ..., tier: _Optional[str] = ..., weights: _Optional[_Iterable[_Union[NamedTensor, _Mapping]]] = ..., n_samples: _Optional[int] = ..., base_version: _Optional[int] = ...) -> None: ...

class AggregateReply(_message.Message):
    __slots__ = ("weights", "included", "note", "version", "staleness", "update")
    WEIGHTS_FIELD_NUMBER: _ClassVar[int]
    INCLUDED_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    STALENESS_FIELD_NUMBER: _ClassVar[int]
    UPDATE_FIELD_NUMBER: _ClassVar[int]
    weights: _containers.RepeatedCompositeFieldContainer[NamedTensor]
    included: bool
    note: str
    version: int
    staleness: int
    update: str
    def __init__(self, weights: _Optional[_Iterable[_Union[NamedTensor, _Mapping]]] = ..., included: _Optional[bool] = ..., note: _Optional[str] = ..., version: _Optional[int] = ..., staleness: _Optional[int] = ..., update: _Optional[str] = ...) -> None: ...

class EndRoundRequest(_message.Message):
    __slots__ = ("round", "awaiting")
    ROUND_FIELD_NUMBER: _ClassVar[int]
    AWAITING_FIELD_NUMBER: _ClassVar[int]
    round: int
    awaiting: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, round: _Optional[int] = ..., awaiting: _Optional[_Iterable[str]] = ...) -> None: ...

class EndRoundReply(_message.Message):
    __slots__ = ("round", "arrived", "late", "timed_out")
    ROUND_FIELD_NUMBER: _ClassVar[int]
    ARRIVED_FIELD_NUMBER: _ClassVar[int]
    LATE_FIELD_NUMBER: _ClassVar[int]
    TIMED_OUT_FIELD_NUMBER: _ClassVar[int]
    round: int
    arrived: _containers.RepeatedScalarFieldContainer[str]
    late: _containers.RepeatedScalarFieldContainer[str]
    timed_out: bool
    def __init__(self, round: _Optional[int] = ..., arrived: _Optional[_Iterable[str]] = ..., late: _Optional[_Iterable[str]] = ..., timed_out: _Optional[bool] = ...) -> None: ...

class EvaluateRequest(_message.Message):
    __slots__ = ("rsu", "tier", "activations", "labels")
    RSU_FIELD_NUMBER: _ClassVar[int]
    TIER_FIELD_NUMBER: _ClassVar[int]
    ACTIVATIONS_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    rsu: str
    tier: str
    activations: Tensor
    labels: Tensor
    def __init__(self, rsu: _Optional[str] = ..., tier: _Optional[str] = ..., activations: _Optional[_Union[Tensor, _Mapping]] = ..., labels: _Optional[_Union[Tensor, _Mapping]] = ...) -> None: ...

class EvaluateReply(_message.Message):
    __slots__ = ("loss", "metric", "n")
    LOSS_FIELD_NUMBER: _ClassVar[int]
    METRIC_FIELD_NUMBER: _ClassVar[int]
    N_FIELD_NUMBER: _ClassVar[int]
    loss: float
    metric: float
    n: int
    def __init__(self, loss: _Optional[float] = ..., metric: _Optional[float] = ..., n: _Optional[int] = ...) -> None: ...

class FinishRequest(_message.Message):
    __slots__ = ("send_files",)
    SEND_FILES_FIELD_NUMBER: _ClassVar[int]
    send_files: bool
    def __init__(self, send_files: _Optional[bool] = ...) -> None: ...

class ModelFile(_message.Message):
    __slots__ = ("name", "data")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    name: str
    data: bytes
    def __init__(self, name: _Optional[str] = ..., data: _Optional[bytes] = ...) -> None: ...

class FinishReply(_message.Message):
    __slots__ = ("paths", "files")
    PATHS_FIELD_NUMBER: _ClassVar[int]
    FILES_FIELD_NUMBER: _ClassVar[int]
    paths: _containers.RepeatedScalarFieldContainer[str]
    files: _containers.RepeatedCompositeFieldContainer[ModelFile]
    def __init__(self, paths: _Optional[_Iterable[str]] = ..., files: _Optional[_Iterable[_Union[ModelFile, _Mapping]]] = ...) -> None: ...
