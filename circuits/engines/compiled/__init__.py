"""Compiled couplings for Brian2's standalone devices (see :mod:`.objects` and :mod:`.blas`)."""
from .blas import Blas, find_blas
from .objects import (CompiledCodeObject, CompiledDevice, DenseProduct, OneToOne, StopAfter, code_object_class,
                      matrix_group, rate_group)

__all__ = ["Blas", "CompiledCodeObject", "CompiledDevice", "DenseProduct", "OneToOne", "StopAfter",
           "code_object_class", "find_blas", "matrix_group", "rate_group"]
