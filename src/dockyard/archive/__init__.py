"""Layer tars: apply with whiteouts, diff trees into layers, gzip/zstd, digests while streaming."""

from __future__ import annotations

from dockyard.archive.apply import ApplyResult, WhiteoutMode, apply_layer
from dockyard.archive.compression import Compression, compressing_writer, detect, open_decompressed
from dockyard.archive.diff import (
    DiffResult,
    write_layer_from_overlay_upper,
    write_layer_from_trees,
    write_tar_from_dir,
)
from dockyard.archive.errors import CorruptLayer, UnsafeLayer
from dockyard.archive.securejoin import secure_join

__all__ = [
    "ApplyResult",
    "Compression",
    "CorruptLayer",
    "DiffResult",
    "UnsafeLayer",
    "WhiteoutMode",
    "apply_layer",
    "compressing_writer",
    "detect",
    "open_decompressed",
    "secure_join",
    "write_layer_from_overlay_upper",
    "write_layer_from_trees",
    "write_tar_from_dir",
]
