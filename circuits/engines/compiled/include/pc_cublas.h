// cuBLAS for the CUDA couplings (templates_cuda/): one handle per program, on the default
// stream, so that its products are ordered with brian2cuda's kernels; a failed call stops
// the program with the call's text.
#ifndef PC_CUBLAS_H
#define PC_CUBLAS_H
#include <cstdio>
#include <cstdlib>
#include <cublas_v2.h>

#define PC_CUBLAS(call)                                                                  \
    do {                                                                                 \
        const cublasStatus_t _pc_status = (call);                                        \
        if (_pc_status != CUBLAS_STATUS_SUCCESS) {                                       \
            std::fprintf(stderr, "cuBLAS error %d in %s\n", (int)_pc_status, #call);     \
            std::exit(EXIT_FAILURE);                                                     \
        }                                                                                \
    } while (0)

inline cublasHandle_t pc_cublas_handle()
{
    static cublasHandle_t handle = NULL;   // one per program (an inline function's static)
    if (handle == NULL)
        PC_CUBLAS(cublasCreate(&handle));
    return handle;
}

#endif
