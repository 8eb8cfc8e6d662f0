// The two CBLAS functions the compiled couplings call. The names and the integer type of the
// library found by circuits/engines/compiled/blas.py arrive as macros (PC_DGEMM, PC_DGEMV,
// PC_BLAS_INT, and PC_BLAS_SET_THREADS when the library can be pinned to one thread).
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
#ifdef PC_BLAS_SET_THREADS
void PC_BLAS_SET_THREADS(int threads);
#endif
}

#endif
