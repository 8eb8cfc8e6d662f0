"""Compiled couplings for Brian2's standalone devices: C++ with CBLAS (:mod:`.objects`,
:mod:`.blas`, ``templates/``) and CUDA with cuBLAS (:mod:`.cuda`, imported only with brian2cuda;
``templates_cuda/``)."""
from .blas import Blas, find_blas
from .objects import (CompiledCodeObject, CompiledDevice, DenseProduct, ItemStart, OneToOne, StopAfter,
                      code_object_class, matrix_group, rate_group)

__all__ = ["Blas", "CompiledCodeObject", "CompiledDevice", "DenseProduct", "ItemStart", "OneToOne", "StopAfter",
           "code_object_class", "find_blas", "matrix_group", "rate_group"]
