"""The compiled couplings on brian2cuda's ``cuda_standalone`` device (imports brian2cuda).

The objects of :mod:`.objects` (:class:`~.objects.DenseProduct`, :class:`~.objects.OneToOne`,
:class:`~.objects.HebbianUpdate`, :class:`~.objects.StopAfter`) ask for this package's C++
code object class; :class:`CompiledCudaDevice` answers with :class:`CudaCodeObject`, whose
templater looks in ``templates_cuda/`` first (dense products and learning as cuBLAS calls on
the GPU's arrays, the stop as host code) and then in brian2cuda's own (a one-to-one link is its
``stateupdate`` kernel). Every other object is brian2cuda's as usual.
"""
from __future__ import annotations

from brian2cuda.codeobject import CUDAStandaloneCodeObject
from brian2cuda.device import CUDAStandaloneDevice

from .objects import CUDA_TEMPLATES, CompiledCodeObject, ProgramNames

__all__ = ["CompiledCudaDevice", "CudaCodeObject"]


class CudaCodeObject(CUDAStandaloneCodeObject):
    """brian2cuda's code object, with this package's CUDA templates (``templates_cuda/``) in front."""

    templater = CUDAStandaloneCodeObject.templater.derive("circuits.engines.compiled",
                                                          templates_dir=CUDA_TEMPLATES.name)


class CompiledCudaDevice(ProgramNames, CUDAStandaloneDevice):
    """brian2cuda's device, generating this package's compiled couplings from
    :class:`CudaCodeObject` (see the module docstring)."""

    def code_object_class(self, codeobj_class=None, fallback_pref=None):
        if codeobj_class is not None and issubclass(codeobj_class, CompiledCodeObject):
            return CudaCodeObject
        return super().code_object_class(codeobj_class, fallback_pref)
