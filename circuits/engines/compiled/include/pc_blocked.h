// A register-blocked matrix product for the dense couplings of a batch of copies.
//
// Why: a batch of B = 32 copies makes every dense coupling a product whose inner dimension is
// the batch, (B × n) · (n × m). OpenBLAS's kernels are tuned for large, square products: on one
// AVX-512 core they run these at ~70 GFLOP/s in float32 and ~40 in double, while this kernel
// runs them at ~100–115 and ~50 (benchmarks/README.md has the table). It is plain C++ with the
// GCC/Clang vector extensions (no intrinsics): the compiler maps a vector onto the widest
// registers that -march=native allows.
//
// How: c = a · b is computed in blocks of PC_BLOCK_ROWS rows of a × two vectors of columns of b,
// held in registers for the whole inner (depth) loop: each step broadcasts PC_BLOCK_ROWS
// numbers of a, loads two vectors of b and does 2·PC_BLOCK_ROWS fused multiply-adds. The caller
// names the large operand (the coupling's matrix): a_outer walks each block of rows of a once,
// otherwise each panel of columns of b is walked once (b is the matrix),
// PC_BLOCK_DEPTH rows at a time so that the panel stays in cache, copied into a contiguous
// buffer when b is large (rows a power-of-two stride apart would share cache sets).
// The result may be stored transposed, which lets a product whose output is batch-major take
// the coupling's matrix as a (see pc_batch_product in pc_blas.h). The two products of a tied
// projection (W f and Wᵀ ε) go panel by panel together (pc_blocked_pair): one pass over W.
#ifndef PC_BLOCKED_H
#define PC_BLOCKED_H
#if defined(__GNUC__) && !defined(PC_NO_BLOCKED_PRODUCT)
#define PC_BLOCKED_PRODUCT 1
#include <string.h>

#ifdef __AVX512F__
#define PC_VECTOR_BYTES 64   // 32 registers of 64 bytes: 8 × 2 accumulators
#define PC_BLOCK_ROWS 8
#else
#define PC_VECTOR_BYTES 32   // 16 registers of 32 bytes (AVX2): 4 × 2 accumulators
#define PC_BLOCK_ROWS 4
#endif
#define PC_BLOCK_DEPTH 256
#define PC_PACK_BYTES (2 << 20)   // b larger than this is copied panel by panel

typedef float pc_float_vector __attribute__((vector_size(PC_VECTOR_BYTES)));
typedef double pc_double_vector __attribute__((vector_size(PC_VECTOR_BYTES)));
template <class real> struct pc_simd;
template <> struct pc_simd<float> { typedef pc_float_vector vector; };
template <> struct pc_simd<double> { typedef pc_double_vector vector; };

// The columns of one block: two vectors (32 floats or 16 doubles with AVX-512).
template <class real> inline int pc_block_columns() { return 2 * PC_VECTOR_BYTES / (int)sizeof(real); }

// Whether a (rows × depth) · (depth × columns) product fits whole blocks.
template <class real> inline bool pc_blocked_fits(long rows, long columns)
{
    return rows > 0 && columns > 0 && rows % PC_BLOCK_ROWS == 0 && columns % pc_block_columns<real>() == 0;
}

// One block: c[m, n] (+)= Σ_k a[m·lda + k] b[k·ldb + n], m < PC_BLOCK_ROWS, n < two vectors.
// c[m, n] is c[m·ldc + n], or c[n·ldc + m] with transposed_store.
template <class real, bool transposed_store, bool accumulate>
inline void pc_block(const real *__restrict a, long lda, const real *__restrict b, long ldb, int depth,
                     real *__restrict c, long ldc)
{
    typedef typename pc_simd<real>::vector vector;
    const int lanes = PC_VECTOR_BYTES / sizeof(real);
    vector sums[PC_BLOCK_ROWS][2];
    for (int m = 0; m < PC_BLOCK_ROWS; m++)
        sums[m][0] = sums[m][1] = vector{};
    for (int k = 0; k < depth; k++)
    {
        vector b0, b1;
        memcpy(&b0, b + k * ldb, sizeof b0);
        memcpy(&b1, b + k * ldb + lanes, sizeof b1);
        for (int m = 0; m < PC_BLOCK_ROWS; m++)
        {
            const real s = a[m * lda + k];
            sums[m][0] += s * b0;
            sums[m][1] += s * b1;
        }
    }
    if (!transposed_store)
    {
        for (int m = 0; m < PC_BLOCK_ROWS; m++)
        {
            real *out = c + m * ldc;
            if (accumulate)
            {
                vector c0, c1;
                memcpy(&c0, out, sizeof c0);
                memcpy(&c1, out + lanes, sizeof c1);
                sums[m][0] += c0;
                sums[m][1] += c1;
            }
            memcpy(out, &sums[m][0], sizeof(vector));
            memcpy(out + lanes, &sums[m][1], sizeof(vector));
        }
        return;
    }
    real block[PC_BLOCK_ROWS][2 * PC_VECTOR_BYTES / sizeof(real)];
    for (int m = 0; m < PC_BLOCK_ROWS; m++)
    {
        memcpy(block[m], &sums[m][0], sizeof(vector));
        memcpy(block[m] + lanes, &sums[m][1], sizeof(vector));
    }
    for (int n = 0; n < 2 * lanes; n++)   // a row of the transposed c at a time: contiguous stores
    {
        real *__restrict out = c + n * ldc;
        for (int m = 0; m < PC_BLOCK_ROWS; m++)
            out[m] = accumulate ? out[m] + block[m][n] : block[m][n];
    }
}

// Every block of one depth panel (see the file's comment for a_outer and pack).
template <class real, bool transposed_store, bool accumulate>
void pc_blocked_panel(int rows, int columns, int depth, const real *a, long lda, const real *b, long ldb, real *c,
                      long ldc, bool a_outer, bool pack)
{
    const int width = pc_block_columns<real>();
    const long c_row = transposed_store ? 1 : ldc, c_column = transposed_store ? ldc : 1;
    if (a_outer)
    {
        for (int m0 = 0; m0 < rows; m0 += PC_BLOCK_ROWS)
            for (int n0 = 0; n0 < columns; n0 += width)
                pc_block<real, transposed_store, accumulate>(a + m0 * lda, lda, b + n0, ldb, depth,
                                                             c + m0 * c_row + n0 * c_column, ldc);
        return;
    }
    // callers pass depth <= PC_BLOCK_DEPTH when b is walked by panels (pc_blocked_product, pc_blocked_pair)
    real packed[PC_BLOCK_DEPTH * 2 * PC_VECTOR_BYTES / sizeof(real)] __attribute__((aligned(64)));
    for (int n0 = 0; n0 < columns; n0 += width)
    {
        const real *panel = b + n0;
        long panel_stride = ldb;
        if (pack)
        {
            for (int k = 0; k < depth; k++)
                memcpy(packed + k * width, b + k * ldb + n0, width * sizeof(real));
            panel = packed;
            panel_stride = width;
        }
        for (int m0 = 0; m0 < rows; m0 += PC_BLOCK_ROWS)
            pc_block<real, transposed_store, accumulate>(a + m0 * lda, lda, panel, panel_stride, depth,
                                                         c + m0 * c_row + n0 * c_column, ldc);
    }
}

// Whether a b of depth × columns is copied panel by panel (see the file's comment).
template <class real> inline bool pc_pack(long depth, long columns)
{
    return depth * columns * (long)sizeof(real) > PC_PACK_BYTES;
}

// c = a · b: a is rows × depth (row stride lda), b depth × columns (row stride ldb), c rows ×
// columns (row stride ldc), or columns × rows with transposed_store. Needs
// pc_blocked_fits<real>(rows, columns).
template <class real, bool transposed_store>
void pc_blocked_product(int rows, int columns, int depth, const real *a, long lda, const real *b, long ldb,
                        real *c, long ldc, bool a_outer)
{
    const int step = a_outer ? depth : PC_BLOCK_DEPTH;
    const bool pack = !a_outer && pc_pack<real>(depth, columns);
    for (int k0 = 0; k0 < depth; k0 += step)
    {
        const int panel = depth - k0 < step ? depth - k0 : step;
        if (k0 == 0)
            pc_blocked_panel<real, transposed_store, false>(rows, columns, panel, a, lda, b, ldb, c, ldc, a_outer,
                                                            pack);
        else
            pc_blocked_panel<real, transposed_store, true>(rows, columns, panel, a + k0, lda, b + k0 * ldb, ldb, c,
                                                           ldc, a_outer, pack);
    }
}

// The tied pair of a projection, M rows × columns: c = a · Mᵀ (copies × rows; a copies ×
// columns, given transposed: a_t columns × copies) and back = e · M (copies × columns; e copies ×
// rows), PC_BLOCK_DEPTH rows of M at a time: the prediction brings a panel of M into cache and
// the bottom-up product reads it there, so M is fetched from memory once a step, not twice.
// Needs pc_blocked_fits<real>(rows, copies) and pc_blocked_fits<real>(copies, columns).
template <class real>
void pc_blocked_pair(int copies, int rows, int columns, const real *a_t, const real *matrix, real *c, const real *e,
                     real *back)
{
    const bool pack = pc_pack<real>(rows, columns);
    for (int k0 = 0; k0 < rows; k0 += PC_BLOCK_DEPTH)
    {
        const int panel = rows - k0 < PC_BLOCK_DEPTH ? rows - k0 : PC_BLOCK_DEPTH;
        const real *rows_of_m = matrix + (long)k0 * columns;
        pc_blocked_panel<real, true, false>(panel, copies, columns, rows_of_m, columns, a_t, copies, c + k0, rows,
                                            true, false);
        if (k0 == 0)
            pc_blocked_panel<real, false, false>(copies, columns, panel, e, rows, rows_of_m, columns, back, columns,
                                                 false, pack);
        else
            pc_blocked_panel<real, false, true>(copies, columns, panel, e + k0, rows, rows_of_m, columns, back,
                                                columns, false, pack);
    }
}

#endif
#endif
