"""The compiled couplings on brian2cuda's ``cuda_standalone`` device (imports brian2cuda).

The objects of :mod:`.objects` (:class:`~.objects.DenseProduct`, :class:`~.objects.OneToOne`,
:class:`~.objects.HebbianUpdate`, :class:`~.objects.StopAfter`) ask for this package's C++
code object class; :class:`CompiledCudaDevice` answers with :class:`CudaCodeObject`, whose
templater looks in ``templates_cuda/`` first (dense products and learning as cuBLAS calls on
the GPU's arrays, the stop as host code, the network loop with Brian2's runtime rule for
simultaneous clocks) and then in brian2cuda's own (a one-to-one link is its ``stateupdate``
kernel). Every other object is brian2cuda's as usual.
"""
from __future__ import annotations

from brian2cuda.codeobject import CUDAStandaloneCodeObject
from brian2cuda.device import CUDAStandaloneDevice

from .objects import CUDA_TEMPLATES, CompiledCodeObject, ProgramNames, wrapping_templater

__all__ = ["CompiledCudaDevice", "CudaCodeObject"]


class CudaCodeObject(CUDAStandaloneCodeObject):
    """brian2cuda's code object, with this package's CUDA templates (``templates_cuda/``) in front."""

    templater = wrapping_templater(CUDAStandaloneCodeObject.templater, CUDA_TEMPLATES, "brian2cuda", "brian2cuda")


class CompiledCudaDevice(ProgramNames, CUDAStandaloneDevice):
    """brian2cuda's device, generating this package's compiled couplings from
    :class:`CudaCodeObject` (see the module docstring)."""

    def code_object_class(self, codeobj_class=None, fallback_pref=None):
        if codeobj_class is not None and issubclass(codeobj_class, CompiledCodeObject):
            return CudaCodeObject
        return super().code_object_class(codeobj_class, fallback_pref)

    def generate_network_source(self, writer):
        """brian2cuda's, with the network loop from ``templates_cuda/network.cu`` (brian2cuda's
        loop with Brian2's runtime rule for simultaneous clocks; brian2cuda renders it from
        ``code_object_class()``, whose file also locates brianlib, so it cannot be swapped)."""
        maximum_run_time = None if self._maximum_run_time is None else float(self._maximum_run_time)
        network = CudaCodeObject.templater.network(None, None, maximum_run_time=maximum_run_time,
                                                   eventspace_arrays=self.eventspace_arrays,
                                                   spikegenerator_eventspaces=self.spikegenerator_eventspaces)
        writer.write("network.*", network)
