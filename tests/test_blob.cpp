// The weight blob: round trip, one test per error code, all-or-nothing loads, file loading.
#include <doctest/doctest.h>

#include <ppghr/ppghr.hpp>

#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include "blob_fixture.hpp"
#include "test_util.hpp"

using namespace ppghr;
using namespace ppghr_test;

namespace {

using Net = ResNet1d<2>;

struct Fixture {
  std::unique_ptr<Net> net = std::make_unique<Net>();
  std::vector<TensorRecord> tensors = random_tensors(*net, 11);
  std::vector<unsigned char> blob = make_blob(*net, tensors);
  std::vector<float> window = random_vector(Net::input_size, 12, -2.f, 2.f);
};

// Loads a good blob, predicts, then tries `bad`: the load must fail with `expected` and the
// network must keep predicting exactly what it predicted before.
void expect_rejected(std::vector<unsigned char> bad, Status expected, const char* what) {
  Fixture f;
  REQUIRE(f.net->load(f.blob.data(), f.blob.size()).ok());
  const Prediction<float> before = f.net->predict(f.window.data());
  REQUIRE(before.ok());
  const LoadReport r = f.net->load(bad.data(), bad.size());
  INFO(what << ": got " << status_name(r.status) << " tensor " << r.tensor_index << " '" << r.tensor_name
            << "' expected " << r.expected << " found " << r.found << " offset " << r.offset);
  CHECK(r.status == expected);
  CHECK_FALSE(r.ok());
  const Prediction<float>& after = f.net->predict(f.window.data());
  CHECK(after.class_index == before.class_index);
  CHECK(max_abs_diff(after.logits.data(), before.logits.data(), kNumClasses) == 0.0);
}

std::uint64_t entry_offset(std::size_t i) { return blob::kHeaderSize + i * blob::kEntrySize; }

}  // namespace

TEST_CASE("blob round trip: written, loaded, every weight where it belongs") {
  Fixture f;
  REQUIRE_FALSE(f.blob.empty());
  CHECK(f.blob.size() == blob::blob_size(*f.net));
  CHECK(std::memcmp(f.blob.data(), "PPGW", 4) == 0);
  CHECK(f.blob.size() % 4 == 0);
  const LoadReport r = f.net->load(f.blob.data(), f.blob.size());
  REQUIRE(r.ok());
  CHECK(f.net->loaded());
  // Spot-check every tensor's first and last element through the layers' own views.
  CHECK(f.tensors[0].name == "first_block_conv.conv.weight");
  CHECK(f.net->stem().torch_weight(0, 0, 0) == f.tensors[0].data.front());
  CHECK(f.net->stem().torch_weight(31, 0, 4) == f.tensors[0].data.back());
  CHECK(f.net->stem().bias[31] == f.tensors[1].data.back());
  CHECK(f.tensors[2].name == "basicblock_list.0.conv1.conv.weight");
  CHECK(f.net->block<0>().conv1.torch_weight(31, 31, 4) == f.tensors[2].data.back());
  CHECK(f.tensors[6].name == "basicblock_list.1.bn1.scale");
  CHECK(f.net->block<1>().bn1.scale[5] == f.tensors[6].data[5]);
  CHECK(f.tensors[f.tensors.size() - 2].name == "dense.weight");
  CHECK(f.net->dense().weight[100] == f.tensors[f.tensors.size() - 2].data[100]);
  // Every offset is 64-aligned.
  for (std::size_t i = 0; i < f.tensors.size(); ++i)
    CHECK(blob::read_u64(f.blob.data() + entry_offset(i) + blob::kEntOffset) % 64 == 0);
  // The trailer is the CRC of everything before it.
  CHECK(blob::read_u32(f.blob.data() + f.blob.size() - 4) == crc32(f.blob.data(), f.blob.size() - 4));
}

TEST_CASE("CRC32 is zlib's") {
  const char* s = "123456789";
  CHECK(crc32(reinterpret_cast<const unsigned char*>(s), 9) == 0xCBF43926u);
  // Streaming equals one shot.
  const auto* b = reinterpret_cast<const unsigned char*>(s);
  CHECK(crc32(b + 4, 5, crc32(b, 4)) == 0xCBF43926u);
}

TEST_CASE("blob errors: each failure has its own code and leaves the weights untouched") {
  const Fixture good;
  const auto& g = good.blob;
  SUBCASE("truncated: shorter than the header") {
    expect_rejected(std::vector<unsigned char>(g.begin(), g.begin() + 40), Status::truncated, "40 bytes");
  }
  SUBCASE("truncated: shorter than its declared size") {
    expect_rejected(std::vector<unsigned char>(g.begin(), g.end() - 100), Status::truncated, "cut tail");
  }
  SUBCASE("empty") { expect_rejected({}, Status::truncated, "empty"); }
  SUBCASE("bad magic") {
    auto b = g;
    b[0] = 'X';
    expect_rejected(b, Status::bad_magic, "magic");
  }
  SUBCASE("wrong byte order") {
    auto b = g;
    blob::write_u32(b.data() + blob::kOffBom, 0x04030201u);
    expect_rejected(b, Status::wrong_byte_order, "big-endian BOM");
  }
  SUBCASE("unsupported version") {
    auto b = g;
    blob::write_u16(b.data() + blob::kOffVersionMajor, 2);
    blob::reseal(b.data(), b.size());
    expect_rejected(b, Status::unsupported_version, "major 2");
  }
  SUBCASE("a newer minor version loads") {
    Fixture f;
    auto b = g;
    blob::write_u16(b.data() + blob::kOffVersionMinor, 7);
    blob::reseal(b.data(), b.size());
    CHECK(f.net->load(b.data(), b.size()).ok());
  }
  SUBCASE("wrong dtype") {
    auto b = g;
    blob::write_u32(b.data() + blob::kOffDtype, 2);
    blob::reseal(b.data(), b.size());
    expect_rejected(b, Status::wrong_dtype, "dtype 2");
  }
  SUBCASE("checksum") {
    auto b = g;
    b[b.size() / 2] ^= 0x10;  // one flipped bit in the payload
    expect_rejected(b, Status::checksum_mismatch, "flipped bit");
  }
  SUBCASE("architecture mismatch: a blob for another network") {
    auto other = std::make_unique<ResNet1d<1>>();
    const auto b = make_blob(*other, random_tensors(*other, 3));
    expect_rejected(b, Status::arch_mismatch, "ResNet1d<1> blob");
  }
  SUBCASE("size mismatch: a tensor's shape differs") {
    auto b = g;
    // Tensor 2 (block 0 conv1 weight [32, 32, 5]): claim dims [32, 32, 4].
    blob::write_u32(b.data() + entry_offset(2) + blob::kEntDims + 8, 4);
    blob::reseal(b.data(), b.size());
    Fixture f;
    const LoadReport r = f.net->load(b.data(), b.size());
    CHECK(r.status == Status::size_mismatch);
    CHECK(r.tensor_index == 2);
    CHECK(std::string(r.tensor_name) == "basicblock_list.0.conv1.conv.weight");
    CHECK(r.expected == 5);
    CHECK(r.found == 4);
    expect_rejected(b, Status::size_mismatch, "dims");
  }
  SUBCASE("size mismatch: a tensor's name differs") {
    auto b = g;
    b[entry_offset(3)] = 'X';
    blob::reseal(b.data(), b.size());
    expect_rejected(b, Status::size_mismatch, "name");
  }
  SUBCASE("size mismatch: fewer tensors than the network has") {
    auto b = g;
    blob::write_u32(b.data() + blob::kOffTensorCount, 5);
    blob::reseal(b.data(), b.size());
    expect_rejected(b, Status::size_mismatch, "count 5");
  }
  SUBCASE("bad table: a data offset past the end") {
    auto b = g;
    blob::write_u64(b.data() + entry_offset(4) + blob::kEntOffset, b.size() + 64 * 10);
    blob::reseal(b.data(), b.size());
    expect_rejected(b, Status::bad_table, "offset");
  }
  SUBCASE("bad table: a misaligned data offset") {
    auto b = g;
    const auto off = blob::read_u64(b.data() + entry_offset(4) + blob::kEntOffset);
    blob::write_u64(b.data() + entry_offset(4) + blob::kEntOffset, off + 4);
    blob::reseal(b.data(), b.size());
    expect_rejected(b, Status::bad_table, "misaligned");
  }
  SUBCASE("non-finite weight") {
    auto b = g;
    const auto off = blob::read_u64(b.data() + entry_offset(5) + blob::kEntOffset);
    blob::write_u32(b.data() + off + 8, 0x7FC00000u);  // NaN
    blob::reseal(b.data(), b.size());
    expect_rejected(b, Status::non_finite_weight, "NaN");
  }
}

// The blob status (core/status.hpp, PPGHR_STATUS_TABLE): documented values and texts, complete,
// every name distinct and non-empty.
TEST_CASE("every error code has its own name") {
  struct Row {
    Status code;
    int value;
    const char* name;
  };
  const Row rows[] = {
      {Status::ok, 0, "ok"},
      {Status::truncated, 1, "truncated"},
      {Status::bad_magic, 2, "bad magic"},
      {Status::unsupported_version, 3, "unsupported version"},
      {Status::wrong_byte_order, 4, "wrong byte order"},
      {Status::wrong_dtype, 5, "wrong dtype"},
      {Status::checksum_mismatch, 6, "checksum mismatch"},
      {Status::arch_mismatch, 7, "architecture mismatch"},
      {Status::size_mismatch, 8, "size mismatch"},
      {Status::bad_table, 9, "bad tensor table"},
      {Status::non_finite_weight, 10, "non-finite weight"},
      {Status::file_error, 11, "file error"},
      {Status::buffer_too_small, 12, "buffer too small"},
      {Status::invalid_weight, 13, "invalid weight"},
      {Status::misaligned, 14, "misaligned"},
  };
  REQUIRE(std::size(rows) == kStatusCount);
  for (std::size_t i = 0; i < std::size(rows); ++i) {
    INFO("code " << rows[i].name);
    CHECK(static_cast<int>(rows[i].code) == rows[i].value);
    CHECK(static_cast<int>(rows[i].code) == int(i));
    CHECK(std::string(status_name(rows[i].code)) == rows[i].name);
    for (std::size_t j = i + 1; j < std::size(rows); ++j)
      CHECK(std::strcmp(status_name(rows[i].code), status_name(rows[j].code)) != 0);
  }
  CHECK(std::string(status_name(static_cast<Status>(kStatusCount))) == "unknown");
}

TEST_CASE("load from a file path; a missing file is a file_error") {
  Fixture f;
  char path[] = "/tmp/ppghr_blob_XXXXXX";
  const int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  std::FILE* fp = fdopen(fd, "wb");
  REQUIRE(fp != nullptr);
  REQUIRE(std::fwrite(f.blob.data(), 1, f.blob.size(), fp) == f.blob.size());
  std::fclose(fp);
  CHECK(f.net->load_file(path).ok());
  std::vector<unsigned char> buf(f.blob.size());
  std::size_t n = 0;
  CHECK(read_file(path, buf.data(), buf.size(), &n) == Status::ok);
  CHECK(n == f.blob.size());
  CHECK(read_file(path, buf.data(), 10, &n) == Status::buffer_too_small);
  std::remove(path);
  auto fresh = std::make_unique<Net>();
  CHECK(fresh->load_file("/nonexistent/ppghr.ppgw").status == Status::file_error);
  CHECK_FALSE(fresh->loaded());
}

TEST_CASE("the writer refuses a buffer that is too small") {
  Fixture f;
  volatile std::size_t opaque = 100;  // keeps GCC from "proving" out-of-bounds writes in dead code
  std::vector<unsigned char> small(opaque);
  std::size_t written = 1;
  auto fill = [](const TensorSpec&, std::size_t, std::uint32_t) { return 0.f; };
  CHECK(blob::write_blob(*f.net, fill, small.data(), small.size(), &written) == Status::buffer_too_small);
  CHECK(written == 0);
}
