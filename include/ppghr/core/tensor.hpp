// ppghr/core/tensor.hpp - what a layer tells the blob loader about its weight tensors.
//
// A layer with weights implements
//     template <class V> void visit_tensors(V& v, const TensorName& prefix) noexcept;
// calling v(spec, setter) once per tensor in blob order, where `spec` gives the tensor's name and
// its PyTorch shape and `setter(const TensorSource&)` copies (and repacks) the data in. The loader
// walks the tensors twice: once to validate everything, then once to copy. Setters never fail.
// Layers make these calls through visit_param() (core/storage.hpp), which also serves in-place
// weights.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>

#if defined(__GNUC__) && !defined(__clang__)
#define PPGHR_NOIPA __attribute__((noipa))
#else
#define PPGHR_NOIPA
#endif

namespace ppghr {

/// A NUL-terminated tensor name of at most 47 characters, built without allocation.
struct TensorName {
  static constexpr std::size_t capacity = 48;
  char text[capacity] = {};
  std::size_t size = 0;

  TensorName() noexcept = default;
  explicit TensorName(const char* s) noexcept { append(s); }

  TensorName& append(const char* s) noexcept {
    while (*s != '\0' && size + 1 < capacity) text[size++] = *s++;
    text[size] = '\0';
    return *this;
  }
  // noipa (GCC): with GCC 12.2 at -O3, a translation unit that loads both ResNet1d<10> and
  // ResNet1d<11> built block 10's name as "basicblock_list.:" (one digit, 10) for ResNet1d<11>,
  // which then refused its own blobs: the inlined / specialised copies of this function for the two
  // networks' names (i - 1 <= 9 and <= 10) were folded into one (-fno-ipa-icf also avoids it;
  // tests/test_in_place.cpp found it). Never inlined or specialised, it is one function.
  PPGHR_NOIPA TensorName& append(unsigned v) noexcept {
    char digits[12];
    int n = 0;
    do {
      digits[n++] = static_cast<char>('0' + v % 10);
      v /= 10;
    } while (v != 0);
    while (n > 0 && size + 1 < capacity) text[size++] = digits[--n];
    text[size] = '\0';
    return *this;
  }
  [[nodiscard]] TensorName plus(const char* s) const noexcept {
    TensorName r = *this;
    r.append(s);
    return r;
  }
  [[nodiscard]] bool equals(const char* s, std::size_t max_len) const noexcept {
    std::size_t i = 0;
    for (; i < max_len && s[i] != '\0'; ++i) {
      if (i >= size || text[i] != s[i]) return false;
    }
    return i == size;
  }
};

/// Name and PyTorch shape of one tensor in the blob.
struct TensorSpec {
  TensorName name;
  std::uint32_t ndim = 0;
  std::uint32_t dims[4] = {0, 0, 0, 0};

  TensorSpec(const TensorName& n, std::initializer_list<int> shape) noexcept : name(n) {
    for (int d : shape) {
      if (ndim < 4) dims[ndim++] = static_cast<std::uint32_t>(d);
    }
  }
  [[nodiscard]] std::uint64_t count() const noexcept {
    std::uint64_t c = 1;
    for (std::uint32_t i = 0; i < ndim; ++i) c *= dims[i];
    return c;
  }
};

/// Read-only view of one tensor's float32 data inside a blob (little-endian whatever the host).
class TensorSource {
 public:
  TensorSource(const unsigned char* bytes, std::size_t count) noexcept : bytes_(bytes), count_(count) {}
  [[nodiscard]] std::size_t size() const noexcept { return count_; }
  /// The tensor's first byte inside the blob (in-place weights point there: core/storage.hpp).
  [[nodiscard]] const unsigned char* bytes() const noexcept { return bytes_; }
  [[nodiscard]] float operator[](std::size_t i) const noexcept {
    const unsigned char* p = bytes_ + 4 * i;
    const std::uint32_t u = static_cast<std::uint32_t>(p[0]) | (static_cast<std::uint32_t>(p[1]) << 8) |
                            (static_cast<std::uint32_t>(p[2]) << 16) | (static_cast<std::uint32_t>(p[3]) << 24);
    float f;
    std::memcpy(&f, &u, sizeof f);
    return f;
  }

 private:
  const unsigned char* bytes_;
  std::size_t count_;
};

/// Copies a tensor as is (no repacking) into `dst`.
template <class T>
inline void copy_tensor(const TensorSource& s, T* dst) noexcept {
  for (std::size_t i = 0; i < s.size(); ++i) dst[i] = static_cast<T>(s[i]);
}

}  // namespace ppghr
