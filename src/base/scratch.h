// Per-thread scratch buffers that do not keep one rare request's size.
//
// A thread_local std::string or std::vector reused request after request
// keeps its capacity, so ordinary requests allocate nothing. But one
// request with a 16 MiB PHP message or response header would then keep
// 16 MiB in every thread that served one, for the thread's life: the
// memory is never freed, so no trim can return it. A ScratchRelease at
// the buffer's use frees its memory once it has outgrown kScratchKeep.
#pragma once

#include <cstddef>

namespace tfpm::base {

inline constexpr size_t kScratchKeep = 64 * 1024;

// Frees `buffer`'s memory if its capacity is over `keep` bytes.
template <typename Buffer>
void ReleaseIfLarge(Buffer& buffer, size_t keep = kScratchKeep) {
  if (buffer.capacity() * sizeof(typename Buffer::value_type) > keep) Buffer().swap(buffer);
}

// Calls ReleaseIfLarge(buffer) when the scope ends (early returns too).
// Not for a scope PHP may longjmp out of: no destructor runs there.
template <typename Buffer>
class ScratchRelease {
 public:
  explicit ScratchRelease(Buffer& buffer) : buffer_(buffer) {}
  ~ScratchRelease() { ReleaseIfLarge(buffer_); }
  ScratchRelease(const ScratchRelease&) = delete;
  ScratchRelease& operator=(const ScratchRelease&) = delete;

 private:
  Buffer& buffer_;
};

}  // namespace tfpm::base
