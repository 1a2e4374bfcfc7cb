#include "common/huge_pages.h"

#include <sys/mman.h>

#include <cstdint>

namespace tidemark {
namespace {

size_t RoundUp(size_t bytes) { return (bytes + kHugeBlockBytes - 1) & ~(kHugeBlockBytes - 1); }

}  // namespace

void* AllocateHugeBlock(size_t bytes) {
  const size_t size = RoundUp(bytes);
  // Map one huge page more than needed and trim both ends to a 2 MiB boundary: the kernel
  // backs only aligned 2 MiB ranges with huge pages.
  void* raw = ::mmap(nullptr, size + kHugeBlockBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) throw std::bad_alloc();
  const uintptr_t begin = reinterpret_cast<uintptr_t>(raw);
  const uintptr_t aligned = (begin + kHugeBlockBytes - 1) & ~(uintptr_t{kHugeBlockBytes} - 1);
  if (aligned > begin) ::munmap(raw, aligned - begin);
  const uintptr_t tail = aligned + size;
  const uintptr_t end = begin + size + kHugeBlockBytes;
  if (end > tail) ::munmap(reinterpret_cast<void*>(tail), end - tail);
  void* p = reinterpret_cast<void*>(aligned);
  (void)::madvise(p, size, MADV_HUGEPAGE);
  return p;
}

void FreeHugeBlock(void* p, size_t bytes) noexcept { ::munmap(p, RoundUp(bytes)); }

}  // namespace tidemark
