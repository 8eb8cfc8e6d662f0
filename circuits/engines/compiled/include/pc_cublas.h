// cuBLAS for the CUDA couplings (templates_cuda/): one handle per program, on the default
// stream, so that its products are ordered with brian2cuda's kernels; a failed call stops
// the program with the call's text. Templates call pc_cublas_gemv and pc_cublas_gemm (cuBLAS's
// arguments), overloaded on the element type: a program built with precision="single" (float
// arrays) gets cublasSgemv/Sgemm, the default (double) cublasDgemv/Dgemm.
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

inline cublasStatus_t pc_cublas_gemv(cublasHandle_t handle, cublasOperation_t op, int m, int n, const double *alpha,
                                     const double *a, int lda, const double *x, int incx, const double *beta,
                                     double *y, int incy)
{
    return cublasDgemv(handle, op, m, n, alpha, a, lda, x, incx, beta, y, incy);
}
inline cublasStatus_t pc_cublas_gemv(cublasHandle_t handle, cublasOperation_t op, int m, int n, const float *alpha,
                                     const float *a, int lda, const float *x, int incx, const float *beta, float *y,
                                     int incy)
{
    return cublasSgemv(handle, op, m, n, alpha, a, lda, x, incx, beta, y, incy);
}

inline cublasStatus_t pc_cublas_gemm(cublasHandle_t handle, cublasOperation_t op_a, cublasOperation_t op_b, int m,
                                     int n, int k, const double *alpha, const double *a, int lda, const double *b,
                                     int ldb, const double *beta, double *c, int ldc)
{
    return cublasDgemm(handle, op_a, op_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
inline cublasStatus_t pc_cublas_gemm(cublasHandle_t handle, cublasOperation_t op_a, cublasOperation_t op_b, int m,
                                     int n, int k, const float *alpha, const float *a, int lda, const float *b,
                                     int ldb, const float *beta, float *c, int ldc)
{
    return cublasSgemm(handle, op_a, op_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

#endif
