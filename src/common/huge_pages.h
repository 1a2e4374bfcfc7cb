// Memory for buffers that grow large and are refilled over and over (column buffers,
// Parquet pages). Blocks of kHugeBlockBytes and more are mapped on their own, 2 MiB aligned,
// with MADV_HUGEPAGE, so faulting them in costs one page fault per 2 MiB instead of one per
// 4 KiB: on virtual machines a fault is an exit to the hypervisor, and filling fresh 4 KiB
// pages cost more than the work done with them (bench/README.md, the lake writer).
// Smaller blocks come from operator new. Transparent huge pages are a hint: where the kernel
// has them off, the blocks are ordinary pages.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>
#include <string>
#include <string_view>
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

// A byte buffer on HugePageAllocator memory for columns of strings, appended to once per
// value. Unlike a string, growing it (resize) leaves the new bytes uninitialised, and an
// append of a short value copies it inline, in at most two overlapping loads and stores,
// instead of calling memcpy: bronze appends about a dozen values of 2–40 bytes per event.
class HugeBytes {
 public:
  HugeBytes() = default;
  HugeBytes(const HugeBytes& other) { append(other.view()); }
  HugeBytes(HugeBytes&& other) noexcept
      : data_(other.data_), size_(other.size_), capacity_(other.capacity_) {
    other.data_ = nullptr;
    other.size_ = other.capacity_ = 0;
  }
  HugeBytes& operator=(HugeBytes other) noexcept {
    swap(other);
    return *this;
  }
  ~HugeBytes() {
    if (data_ != nullptr) HugePageAllocator<char>().deallocate(data_, capacity_);
  }
  void swap(HugeBytes& other) noexcept {
    std::swap(data_, other.data_);
    std::swap(size_, other.size_);
    std::swap(capacity_, other.capacity_);
  }

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  size_t capacity() const { return capacity_; }
  char* data() { return data_; }
  const char* data() const { return data_; }
  std::string_view view() const { return std::string_view(data_, size_); }

  void clear() { size_ = 0; }
  void reserve(size_t n) {
    if (n > capacity_) Reallocate(n);
  }
  // Grows or shrinks; bytes past the old size are left uninitialised.
  void resize(size_t n) {
    if (n > capacity_) Reallocate(std::max(n, capacity_ * 2));
    size_ = n;
  }
  void append(std::string_view v) { CopyBytes(Extend(v.size()), v.data(), v.size()); }
  void push_back(char c) { *Extend(1) = c; }
  // Makes room for n more bytes at the end and returns where they go.
  char* Extend(size_t n) {
    if (capacity_ - size_ < n) Reallocate(std::max(size_ + n, capacity_ * 2));
    char* d = data_ + size_;
    size_ += n;
    return d;
  }

  // memcpy, with copies of up to 32 bytes inline.
  static void CopyBytes(char* d, const char* s, size_t n) {
    if (n >= 16 && n <= 32) {
      Copy<16>(d, s);
      Copy<16>(d + n - 16, s + n - 16);
    } else if (n >= 8 && n < 16) {
      Copy<8>(d, s);
      Copy<8>(d + n - 8, s + n - 8);
    } else if (n >= 4 && n < 8) {
      Copy<4>(d, s);
      Copy<4>(d + n - 4, s + n - 4);
    } else if (n > 32) {
      std::memcpy(d, s, n);
    } else if (n > 0) {  // 1–3 bytes
      d[0] = s[0];
      d[n / 2] = s[n / 2];
      d[n - 1] = s[n - 1];
    }
  }

 private:
  template <size_t N>
  static void Copy(char* d, const char* s) {
    char block[N];
    std::memcpy(block, s, N);
    std::memcpy(d, block, N);
  }
  void Reallocate(size_t n) {
    char* fresh = HugePageAllocator<char>().allocate(n);
    if (size_ > 0) std::memcpy(fresh, data_, size_);
    if (data_ != nullptr) HugePageAllocator<char>().deallocate(data_, capacity_);
    data_ = fresh;
    capacity_ = n;
  }

  char* data_ = nullptr;
  size_t size_ = 0;
  size_t capacity_ = 0;
};

}  // namespace tidemark
