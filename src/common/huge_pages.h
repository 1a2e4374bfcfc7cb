// Memory for buffers that grow large and are refilled over and over (column buffers,
// Parquet pages). Blocks of kHugeBlockBytes and more are mapped on their own, 2 MiB aligned,
// with MADV_HUGEPAGE, so faulting them in costs one page fault per 2 MiB instead of one per
// 4 KiB: on virtual machines a fault is an exit to the hypervisor, and filling fresh 4 KiB
// pages cost more than the work done with them (bench/README.md, the lake writer).
// Smaller blocks come from operator new. Transparent huge pages are a hint: where the kernel
// has them off, the blocks are ordinary pages.
#pragma once

#include <cstddef>
#include <new>
#include <string>
#include <vector>

namespace tidemark {

inline constexpr size_t kHugeBlockBytes = size_t{2} << 20;

// Throws std::bad_alloc when the mapping fails.
void* AllocateHugeBlock(size_t bytes);
void FreeHugeBlock(void* p, size_t bytes) noexcept;

template <typename T>
struct HugePageAllocator {
  using value_type = T;
  HugePageAllocator() noexcept = default;
  template <typename U>
  HugePageAllocator(const HugePageAllocator<U>&) noexcept {}  // NOLINT: rebinding

  T* allocate(size_t n) {
    const size_t bytes = n * sizeof(T);
    if (bytes < kHugeBlockBytes) return static_cast<T*>(::operator new(bytes));
    return static_cast<T*>(AllocateHugeBlock(bytes));
  }
  void deallocate(T* p, size_t n) noexcept {
    const size_t bytes = n * sizeof(T);
    if (bytes < kHugeBlockBytes) {
      ::operator delete(p);
    } else {
      FreeHugeBlock(p, bytes);
    }
  }
  template <typename U>
  bool operator==(const HugePageAllocator<U>&) const noexcept {
    return true;
  }
};

template <typename T>
using HugeVector = std::vector<T, HugePageAllocator<T>>;
using HugeString = std::basic_string<char, std::char_traits<char>, HugePageAllocator<char>>;

}  // namespace tidemark
