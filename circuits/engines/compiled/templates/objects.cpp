{# Brian2's arrays (brian2/objects.cpp) on 64-byte boundaries. Brian2 allocates its arrays
   (state variables, parameters, matrices; not the std::vector of a dynamic array) with
   new T[n]; glibc returns 16-byte-aligned blocks (a large one sits 16 bytes past a page),
   so each 64-byte vector load of a matrix row straddles two cache lines: at (1024, 256, 64) in
   double the fused pass over W took 54 of a 59 µs step, 36 µs with aligned arrays. The array
   forms of the global allocation functions are replaced (C++ [replacement.functions]) in this
   one translation unit of the program; memory from posix_memalign is released by free.
   Nothing else of Brian2's file changes. #}
{% import 'brian2/objects.cpp' as brian2_objects with context %}

{% macro cpp_file() %}
{{ brian2_objects.cpp_file() }}

#include <cstdlib>
#include <new>

void* operator new[](std::size_t size)
{
    void* block = 0;
    if (posix_memalign(&block, 64, size ? size : 1) != 0)
        throw std::bad_alloc();
    return block;
}

void operator delete[](void* block) noexcept
{
    std::free(block);
}

void operator delete[](void* block, std::size_t) noexcept
{
    std::free(block);
}
{% endmacro %}

{% macro h_file() %}
{{ brian2_objects.h_file() }}
{% endmacro %}
