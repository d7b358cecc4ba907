#pragma once
// A connection's read buffer that keeps nothing it let go of: the bytes the
// parser consumed are wiped at once, those moved to the front to make room are
// wiped where they were, and a block it outgrows is wiped as it is freed. An
// add's secret or an unlock's passphrase stays in it no longer than it takes to
// parse, on a connection kept open for hours too. What Asio's reads and Beast's
// parser use of a dynamic buffer: data, prepare, commit, consume. Holds at most
// max_size bytes (std::length_error beyond). Not thread-safe.

#include <algorithm>
#include <boost/asio/buffer.hpp>
#include <cstddef>
#include <cstring>
#include <stdexcept>

#include "common/secret.hpp"

namespace okxvault {

class ReadBuffer {
 public:
  explicit ReadBuffer(std::size_t max_size) : max_(max_size) {}
  ReadBuffer(const ReadBuffer&) = delete;
  ReadBuffer& operator=(const ReadBuffer&) = delete;
  ~ReadBuffer() { release(); }

  std::size_t size() const noexcept { return end_ - begin_; }
  std::size_t capacity() const noexcept { return capacity_; }
  boost::asio::const_buffer data() const noexcept { return {block_ + begin_, size()}; }

  // Room for n more bytes after those held.
  boost::asio::mutable_buffer prepare(std::size_t n) {
    if (capacity_ - end_ < n) {
      const std::size_t held = size();
      if (held + n > max_) throw std::length_error("read buffer overflow");
      if (capacity_ - held >= n) {
        std::memmove(block_, block_ + begin_, held);
        wipe(block_ + held, end_ - held);  // what was consumed before, and the old place of what moved
      } else {
        const std::size_t capacity = std::min(max_, std::max(held + n, 2 * capacity_));
        char* block = WipeOnFree<char>().allocate(capacity);
        if (held != 0) std::memcpy(block, block_ + begin_, held);
        release();
        block_ = block;
        capacity_ = capacity;
      }
      begin_ = 0;
      end_ = held;
    }
    return {block_ + end_, n};
  }

  void commit(std::size_t n) noexcept { end_ = std::min(end_ + n, capacity_); }

  // The first n bytes are wiped and gone.
  void consume(std::size_t n) noexcept {
    n = std::min(n, size());
    wipe(block_ + begin_, n);
    begin_ += n;
    if (begin_ == end_) begin_ = end_ = 0;
  }

 private:
  void release() noexcept {
    if (block_ != nullptr) WipeOnFree<char>().deallocate(block_, capacity_);  // wipes the whole block
    block_ = nullptr;
    capacity_ = 0;
  }

  const std::size_t max_;
  char* block_ = nullptr;
  std::size_t capacity_ = 0;
  std::size_t begin_ = 0, end_ = 0;
};

}  // namespace okxvault
