// The CBLAS functions the compiled couplings call. The names and the integer type of the
// library found by circuits/engines/compiled/blas.py arrive as macros (PC_DGEMM, PC_DGEMV,
// PC_SGEMM, PC_SGEMV, PC_BLAS_INT, and PC_BLAS_SET_THREADS when the library can be pinned to one
// thread). Templates call pc_gemv and pc_gemm, overloaded on the element type: a program built
// with precision="single" (float arrays) gets sgemv/sgemm, the default (double) dgemv/dgemm.
#ifndef PC_BLAS_H
#define PC_BLAS_H
#include <stdint.h>

#define PC_ROW_MAJOR 101
#define PC_NO_TRANS 111
#define PC_TRANS 112

extern "C" {
void PC_DGEMM(int order, int transpose_a, int transpose_b, PC_BLAS_INT m, PC_BLAS_INT n, PC_BLAS_INT k,
              double alpha, const double *a, PC_BLAS_INT lda, const double *b, PC_BLAS_INT ldb,
              double beta, double *c, PC_BLAS_INT ldc);
void PC_DGEMV(int order, int transpose, PC_BLAS_INT m, PC_BLAS_INT n, double alpha, const double *a,
              PC_BLAS_INT lda, const double *x, PC_BLAS_INT incx, double beta, double *y, PC_BLAS_INT incy);
void PC_SGEMM(int order, int transpose_a, int transpose_b, PC_BLAS_INT m, PC_BLAS_INT n, PC_BLAS_INT k,
              float alpha, const float *a, PC_BLAS_INT lda, const float *b, PC_BLAS_INT ldb,
              float beta, float *c, PC_BLAS_INT ldc);
void PC_SGEMV(int order, int transpose, PC_BLAS_INT m, PC_BLAS_INT n, float alpha, const float *a,
              PC_BLAS_INT lda, const float *x, PC_BLAS_INT incx, float beta, float *y, PC_BLAS_INT incy);
#ifdef PC_BLAS_SET_THREADS
void PC_BLAS_SET_THREADS(int threads);
#endif
}

// y = alpha op(A) x + beta y (row-major A, unit strides)
inline void pc_gemv(int transpose, PC_BLAS_INT m, PC_BLAS_INT n, double alpha, const double *a, PC_BLAS_INT lda,
                    const double *x, double beta, double *y)
{
    PC_DGEMV(PC_ROW_MAJOR, transpose, m, n, alpha, a, lda, x, 1, beta, y, 1);
}
inline void pc_gemv(int transpose, PC_BLAS_INT m, PC_BLAS_INT n, float alpha, const float *a, PC_BLAS_INT lda,
                    const float *x, float beta, float *y)
{
    PC_SGEMV(PC_ROW_MAJOR, transpose, m, n, alpha, a, lda, x, 1, beta, y, 1);
}

// C = alpha op(A) op(B) + beta C (row-major)
inline void pc_gemm(int transpose_a, int transpose_b, PC_BLAS_INT m, PC_BLAS_INT n, PC_BLAS_INT k, double alpha,
                    const double *a, PC_BLAS_INT lda, const double *b, PC_BLAS_INT ldb, double beta, double *c,
                    PC_BLAS_INT ldc)
{
    PC_DGEMM(PC_ROW_MAJOR, transpose_a, transpose_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
inline void pc_gemm(int transpose_a, int transpose_b, PC_BLAS_INT m, PC_BLAS_INT n, PC_BLAS_INT k, float alpha,
                    const float *a, PC_BLAS_INT lda, const float *b, PC_BLAS_INT ldb, float beta, float *c,
                    PC_BLAS_INT ldc)
{
    PC_SGEMM(PC_ROW_MAJOR, transpose_a, transpose_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

#endif
