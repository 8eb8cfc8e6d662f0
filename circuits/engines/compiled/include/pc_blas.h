// The CBLAS functions the compiled couplings call. The names and the integer type of the
// library found by circuits/engines/compiled/blas.py arrive as macros (PC_DGEMM, PC_DGEMV,
// PC_SGEMM, PC_SGEMV, PC_BLAS_INT, and PC_BLAS_SET_THREADS when the library can be pinned to one
// thread). Templates call pc_gemv and pc_gemm, overloaded on the element type: a program built
// with precision="single" (float arrays) gets sgemv/sgemm, the default (double) dgemv/dgemm.
// A batch of copies goes through pc_batch_product / pc_batch_product_transposed, which take the
// register-blocked kernel of pc_blocked.h where the shapes fit its blocks, and gemm otherwise.
#ifndef PC_BLAS_H
#define PC_BLAS_H
#include <stdint.h>
#include "pc_blocked.h"

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

// output (copies × rows) = input (copies × columns) · Mᵀ, M the rows × columns matrix (row-major;
// batch-major input and output). scratch holds copies × columns numbers: the input transposed,
// so that the blocked kernel takes M as its row operand and stores the result transposed.
template <class real>
inline void pc_transpose(PC_BLAS_INT rows, PC_BLAS_INT columns, const real *from, real *to)
{
    for (PC_BLAS_INT i = 0; i < rows; i++)
        for (PC_BLAS_INT j = 0; j < columns; j++)
            to[j * rows + i] = from[i * columns + j];
}

template <class real>
inline void pc_batch_product(PC_BLAS_INT copies, PC_BLAS_INT rows, PC_BLAS_INT columns, const real *input,
                             const real *matrix, real *output, real *scratch)
{
#ifdef PC_BLOCKED_PRODUCT
    if (pc_blocked_fits<real>(rows, copies))
    {
        pc_transpose(copies, columns, input, scratch);
        pc_blocked_product<real, true>(rows, copies, columns, matrix, columns, scratch, copies, output, rows, true);
        return;
    }
#endif
    pc_gemm(PC_NO_TRANS, PC_TRANS, copies, rows, columns, 1.0, input, columns, matrix, columns, 0.0, output, rows);
}

// output (copies × rows) = input (copies × columns) · M, M stored columns × rows (the matrix of a
// tied coupling read the other way).
template <class real>
inline void pc_batch_product_transposed(PC_BLAS_INT copies, PC_BLAS_INT rows, PC_BLAS_INT columns,
                                        const real *input, const real *matrix, real *output)
{
#ifdef PC_BLOCKED_PRODUCT
    if (pc_blocked_fits<real>(copies, rows))
    {
        pc_blocked_product<real, false>(copies, rows, columns, input, columns, matrix, rows, output, rows, false);
        return;
    }
#endif
    pc_gemm(PC_NO_TRANS, PC_NO_TRANS, copies, rows, columns, 1.0, input, columns, matrix, rows, 0.0, output, rows);
}

// Both products of a tied projection over a batch: output = input · Mᵀ (copies × rows) and
// back_output = back_input · M (copies × columns), M rows × columns; in one pass over M
// (pc_blocked_pair) where the shapes fit the kernel's blocks. scratch: copies × columns numbers.
template <class real>
inline void pc_batch_pair(PC_BLAS_INT copies, PC_BLAS_INT rows, PC_BLAS_INT columns, const real *input,
                          const real *matrix, real *output, const real *back_input, real *back_output, real *scratch)
{
#ifdef PC_BLOCKED_PRODUCT
    if (pc_blocked_fits<real>(rows, copies) && pc_blocked_fits<real>(copies, columns))
    {
        pc_transpose(copies, columns, input, scratch);
        pc_blocked_pair<real>(copies, rows, columns, scratch, matrix, output, back_input, back_output);
        return;
    }
#endif
    pc_batch_product(copies, rows, columns, input, matrix, output, scratch);
    pc_batch_product_transposed(copies, columns, rows, back_input, matrix, back_output);
}

#endif
