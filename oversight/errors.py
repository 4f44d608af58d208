"""The exception tree of oversight (defined in :mod:`transcripts.errors`, re-exported here).

OversightError
├── ConfigError
│   └── MissingAPIKeyError
├── StoreError
│   ├── SchemaVersionError
│   └── CorruptRecordError
├── EndpointError
│   ├── ProviderError
│   ├── RetriesExhaustedError
│   ├── StructuredOutputError
│   └── CacheMissError
├── ProtocolError
├── JudgeError
├── DatasetError
└── CostCapReached
"""

from transcripts.errors import (
    CacheMissError,
    ConfigError,
    CorruptRecordError,
    CostCapReached,
    DatasetError,
    EndpointError,
    JudgeError,
    MissingAPIKeyError,
    OversightError,
    ProtocolError,
    ProviderError,
    RetriesExhaustedError,
    SchemaVersionError,
    StoreError,
    StructuredOutputError,
)

__all__ = [
    "CacheMissError",
    "ConfigError",
    "CorruptRecordError",
    "CostCapReached",
    "DatasetError",
    "EndpointError",
    "JudgeError",
    "MissingAPIKeyError",
    "OversightError",
    "ProtocolError",
    "ProviderError",
    "RetriesExhaustedError",
    "SchemaVersionError",
    "StoreError",
    "StructuredOutputError",
]
