// Tests for the safetensors layer: dtype round trips, bf16 rounding, fp8 e4m3 decoding and block
// dequantization, sharded checkpoints, atomic writes, and that every kind of broken input is rejected with a
// message naming the problem.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <iterator>
#include <limits>
#include <nlohmann/json.hpp>
#include <numbers>
#include <random>
#include <string>
#include <vector>

#include "core/atomic_file.hpp"
#include "core/error.hpp"
#include "io/safetensors.hpp"
#include "support/error_of.hpp"
#include "support/file_size_limit.hpp"

namespace seek {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// Runs f, which must throw seek::Error whose message contains every one of `parts`.
void expect_error(const std::function<void()>& f, std::initializer_list<std::string> parts) {
  try {
    f();
  } catch (const Error& e) {
    const std::string what = e.what();
    for (const auto& part : parts) {
      EXPECT_NE(what.find(part), std::string::npos) << "message lacks \"" << part << "\": " << what;
    }
    return;
  }
  ADD_FAILURE() << "no seek::Error thrown";
}

class SafetensorsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           (std::string("seek_io_") + info->name() + "_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::permissions(dir_, fs::perms::owner_all, fs::perm_options::add, ec);
    fs::remove_all(dir_, ec);
  }

  // A file with an arbitrary header text and data section, for feeding the reader broken input.
  fs::path write_raw(const std::string& name, const std::string& header, const std::string& data,
                     uint64_t claimed_header_len = UINT64_MAX) {
    uint64_t n = claimed_header_len == UINT64_MAX ? header.size() : claimed_header_len;
    std::string bytes(8, '\0');
    for (int i = 0; i < 8; ++i) bytes[size_t(i)] = char((n >> (8 * i)) & 0xff);
    bytes += header + data;
    fs::path p = dir_ / name;
    std::ofstream(p, std::ios::binary) << bytes;
    return p;
  }

  std::vector<fs::path> tmp_leftovers() const {
    std::vector<fs::path> out;
    for (const auto& de : fs::recursive_directory_iterator(dir_)) {
      if (de.path().filename().string().find(".tmp.") != std::string::npos) out.push_back(de.path());
    }
    return out;
  }

  fs::path dir_;
};

// Reference decoder written from the format description, independent of core's implementation.
float fp8_reference(uint8_t v) {
  int sign = v >> 7, exp = (v >> 3) & 15, man = v & 7;
  if (exp == 15 && man == 7) return std::numeric_limits<float>::quiet_NaN();
  double mag = exp == 0 ? (man / 8.0) * std::pow(2.0, -6) : (1.0 + man / 8.0) * std::pow(2.0, exp - 7);
  return float(sign ? -mag : mag);
}

float fp8_via_io(uint8_t v) {
  float out;
  std::byte b{v};
  convert_to_float(DType::F8_E4M3, &b, 1, &out);
  return out;
}

TEST(Fp8E4M3, KnownValues) {
  EXPECT_EQ(fp8_via_io(0x00), 0.0f);
  EXPECT_TRUE(std::signbit(fp8_via_io(0x80)));
  EXPECT_EQ(fp8_via_io(0x80), 0.0f);
  EXPECT_EQ(fp8_via_io(0x38), 1.0f);
  EXPECT_EQ(fp8_via_io(0xb8), -1.0f);
  EXPECT_EQ(fp8_via_io(0x40), 2.0f);
  EXPECT_EQ(fp8_via_io(0x30), 0.5f);
  EXPECT_EQ(fp8_via_io(0x3c), 1.5f);
  EXPECT_EQ(fp8_via_io(0x7e), 448.0f);
  EXPECT_EQ(fp8_via_io(0xfe), -448.0f);
  EXPECT_EQ(fp8_via_io(0x01), std::ldexp(1.0f, -9));      // smallest subnormal
  EXPECT_EQ(fp8_via_io(0x07), 7 * std::ldexp(1.0f, -9));  // largest subnormal
  EXPECT_EQ(fp8_via_io(0x08), std::ldexp(1.0f, -6));      // smallest normal
  EXPECT_TRUE(std::isnan(fp8_via_io(0x7f)));
  EXPECT_TRUE(std::isnan(fp8_via_io(0xff)));
  EXPECT_EQ(fp8_via_io(0x78), 256.0f);  // e4m3fn has no infinities: exponent 15 is a normal binade
}

TEST(Fp8E4M3, WholeTableMatchesFormatDescription) {
  for (int v = 0; v < 256; ++v) {
    float want = fp8_reference(uint8_t(v)), got = fp8_via_io(uint8_t(v));
    if (std::isnan(want)) {
      EXPECT_TRUE(std::isnan(got)) << v;
    } else {
      EXPECT_EQ(got, want) << "code 0x" << std::hex << v;
    }
  }
}

TEST_F(SafetensorsTest, RoundTripEveryDtype) {
  const std::vector<float> f32 = {0.0f, -1.5f, 3.14159274f, 1e-30f, -6.5e30f, 7.0f};
  const std::vector<double> f64 = {0.1, -2.0 / 3.0, 1e-300, 5e300, std::numbers::pi, -0.0};
  const std::vector<float> bf16_exact = {1.0f,  -2.5f,   0.0078125f, std::ldexp(1.0f, 127),
                                         -0.0f, 65280.0f};  // bf16 values
  const std::vector<float> f16_exact = {1.0f, -2.5f, 0.000061035156f, 65504.0f, 0.0009765625f, 5.9604645e-8f};
  const std::vector<int64_t> i64 = {0, -1, (int64_t(1) << 53) + 1, INT64_MAX, INT64_MIN, 42};
  const std::vector<int64_t> i32 = {0, -1, INT32_MAX, INT32_MIN, 7, 100000};
  const std::vector<uint8_t> f8 = {0x00, 0x38, 0x7e, 0xfe, 0x01, 0x44};
  std::vector<float> big(300000);  // over the OpenMP threshold
  for (size_t i = 0; i < big.size(); ++i) big[i] = bf16_to_f32(f32_to_bf16(std::sin(float(i))));

  SafetensorsWriter w;
  w.add("f32", DType::F32, {2, 3}, f32.data());
  w.add("f64", DType::F64, {6}, f64.data());
  w.add("bf16", DType::BF16, {3, 2}, bf16_exact.data());
  w.add("f16", DType::F16, {6}, f16_exact.data());
  w.add("i64", DType::I64, {6}, i64.data());
  w.add("i32", DType::I32, {2, 3}, i32.data());
  w.add_raw("f8", DType::F8_E4M3, {6}, f8.data(), f8.size());
  w.add("big", DType::BF16, {300, 1000}, big.data());
  w.add("scalar", DType::F32, {}, f32.data());
  w.add("empty", DType::F32, {0, 4}, f32.data());
  w.add("f64_from_double_as_f32", DType::F32, {6}, f64.data());
  const fs::path path = dir_ / "all.safetensors";
  w.write(path);

  TensorStore s(path);
  EXPECT_EQ(s.names().size(), 11u);
  std::vector<float> f(6);
  s.read_into("f32", {2, 3}, f.data());
  EXPECT_EQ(f, f32);
  std::vector<double> d(6);
  s.read_into("f64", {6}, d.data());
  EXPECT_EQ(d, f64);
  EXPECT_TRUE(std::signbit(d[5]));
  s.read_into("bf16", {3, 2}, f.data());
  EXPECT_EQ(f, bf16_exact);
  s.read_into("bf16", {3, 2}, d.data());
  for (size_t i = 0; i < 6; ++i) EXPECT_EQ(d[i], double(bf16_exact[i]));
  s.read_into("f16", {6}, f.data());
  EXPECT_EQ(f, f16_exact);
  std::vector<int64_t> ints(6);
  s.read_into("i64", {6}, ints.data());
  EXPECT_EQ(ints, i64);
  s.read_into("i32", {2, 3}, ints.data());
  EXPECT_EQ(ints, i32);
  s.read_into("i32", {2, 3}, f.data());  // integers also convert to float by value
  EXPECT_EQ(f[4], 7.0f);
  std::vector<float> got_big(big.size());
  s.read_into("big", {300, 1000}, got_big.data());
  EXPECT_EQ(got_big, big);
  float sc = -1;
  s.read_into("scalar", {}, &sc);
  EXPECT_EQ(sc, f32[0]);
  s.read_into("empty", {0, 4}, f.data());
  s.read_into("f64_from_double_as_f32", {6}, f.data());
  for (size_t i = 0; i < 6; ++i) EXPECT_EQ(f[i], float(f64[i]));

  // Raw access: fp8 bytes are stored as given.
  const TensorInfo& t = s.info("f8");
  EXPECT_EQ(t.dtype, DType::F8_E4M3);
  EXPECT_EQ(t.nbytes, 6u);
  EXPECT_EQ(std::memcmp(t.data, f8.data(), 6), 0);
  EXPECT_EQ(s.info("empty").numel, 0u);
  EXPECT_EQ(s.info("scalar").shape, std::vector<int64_t>{});
  EXPECT_TRUE(tmp_leftovers().empty());
}

TEST_F(SafetensorsTest, Bf16RoundsToNearestEven) {
  const float one = 1.0f, ulp = std::ldexp(1.0f, -7);  // bf16 spacing just above 1
  const std::vector<float> in = {
      one + ulp / 2,                          // tie, 1.0 has an even mantissa: stays 1.0
      one + 3 * ulp / 2,                      // tie, rounds up to the even neighbour 1 + 2ulp
      one + ulp / 2 + std::ldexp(1.0f, -20),  // just above the tie: rounds up
      one + ulp / 2 - std::ldexp(1.0f, -20),  // just below: rounds down
      -(one + 3 * ulp / 2),                   // sign symmetric
      std::numeric_limits<float>::infinity(),
      std::numeric_limits<float>::quiet_NaN(),
      std::numeric_limits<float>::max(),  // overflows to inf under round-to-nearest-even
  };
  const std::vector<float> want = {one,
                                   one + 2 * ulp,
                                   one + ulp,
                                   one,
                                   -(one + 2 * ulp),
                                   std::numeric_limits<float>::infinity(),
                                   0.0f,
                                   std::numeric_limits<float>::infinity()};
  SafetensorsWriter w;
  w.add("x", DType::BF16, {8}, in.data());
  std::vector<double> in_d(in.begin(), in.end());
  w.add("x_from_double", DType::BF16, {8}, in_d.data());
  w.write(dir_ / "b.safetensors");
  TensorStore s(dir_ / "b.safetensors");
  for (const char* name : {"x", "x_from_double"}) {
    std::vector<float> got(8);
    s.read_into(name, {8}, got.data());
    for (size_t i = 0; i < 8; ++i) {
      if (std::isnan(in[i])) {
        EXPECT_TRUE(std::isnan(got[i]));
      } else {
        EXPECT_EQ(got[i], want[i]) << name << " element " << i;
      }
    }
  }
}

TEST_F(SafetensorsTest, HeaderLayoutAndMetadata) {
  std::vector<float> a(3, 1.0f);
  std::vector<double> b(2, 2.0);
  std::vector<int64_t> c(1, 5);
  SafetensorsWriter w;
  w.add("z.bf16", DType::BF16, {3}, a.data());  // 6 bytes: would misalign what follows if placed first
  w.add("a.f64", DType::F64, {2}, b.data());
  w.add("m.i64", DType::I64, {1}, c.data());
  w.add("b.f32", DType::F32, {3}, a.data());
  w.set_metadata("step", "12");
  const fs::path path = dir_ / "h.safetensors";
  w.write(path);

  SafetensorsFile f(path);
  EXPECT_EQ(f.metadata().at("format"), "pt");
  EXPECT_EQ(f.metadata().at("step"), "12");
  EXPECT_EQ(f.names(), (std::vector<std::string>{"a.f64", "b.f32", "m.i64", "z.bf16"}));
  EXPECT_EQ(f.find("nope"), nullptr);
  // Data order: larger dtypes first, then by name; every tensor aligned to its element size.
  EXPECT_EQ(f.at("a.f64").begin, 0u);
  EXPECT_EQ(f.at("m.i64").begin, 16u);
  EXPECT_EQ(f.at("b.f32").begin, 24u);
  EXPECT_EQ(f.at("z.bf16").begin, 36u);

  std::ifstream in(path, std::ios::binary);
  uint64_t n = 0;
  in.read(reinterpret_cast<char*>(&n), 8);
  EXPECT_EQ(n % 8, 0u);
  std::string header(n, '\0');
  in.read(header.data(), std::streamsize(n));
  const size_t last = header.find_last_not_of(' ');
  EXPECT_EQ(header[last], '}');  // JSON, then only space padding
  json j = json::parse(header);
  EXPECT_EQ(j["__metadata__"]["format"], "pt");
  EXPECT_EQ(j["a.f64"]["dtype"], "F64");
  EXPECT_EQ(j["z.bf16"]["data_offsets"], json::array({36, 42}));
  EXPECT_EQ(fs::file_size(path), 8 + n + 42);
}

TEST_F(SafetensorsTest, ReadsUnalignedDataFromForeignWriters) {
  // 5-byte-off header length puts the F32 and F64 data at odd addresses; reads must still be exact.
  const double v[2] = {1.25, -3.5};
  std::string data(16, '\0');
  std::memcpy(data.data(), v, 16);
  auto p = write_raw("u.safetensors", R"({"x":{"dtype":"F64","shape":[2],"data_offsets":[0,16]}})", data);
  TensorStore s(p);
  double got[2];
  s.read_into("x", {2}, got);
  EXPECT_EQ(got[0], 1.25);
  EXPECT_EQ(got[1], -3.5);
  EXPECT_TRUE(s.file_of("x").metadata().empty());
}

// Builds a random e4m3 weight (no NaN codes) and positive scales, writes them, and checks dequantization
// against an element-by-element computation from the format description.
void check_fp8_dequant(const fs::path& dir, int64_t rows, int64_t cols) {
  const int64_t sr = (rows + 127) / 128, sc = (cols + 127) / 128;
  std::mt19937 gen(unsigned(rows * 1000 + cols));
  std::vector<uint8_t> wq(size_t(rows * cols));
  for (auto& b : wq) {
    do b = uint8_t(gen());
    while ((b & 0x7f) == 0x7f);
  }
  std::vector<float> scale(size_t(sr * sc));
  std::uniform_real_distribution<float> u(1e-4f, 3e-3f);
  for (auto& s : scale) s = u(gen);

  SafetensorsWriter w;
  w.add_raw("layer.weight", DType::F8_E4M3, {rows, cols}, wq.data(), wq.size());
  w.add("layer.weight_scale_inv", DType::F32, {sr, sc}, scale.data());
  const fs::path path = dir / "fp8.safetensors";
  w.write(path);
  TensorStore s(path);
  ASSERT_TRUE(s.is_fp8("layer.weight"));
  EXPECT_FALSE(s.is_fp8("layer.weight_scale_inv"));

  std::vector<float> got(wq.size()), got_bf16(wq.size());
  std::vector<double> got_d(wq.size());
  s.read_into("layer.weight", {rows, cols}, got.data());
  s.read_into("layer.weight", {rows, cols}, got_d.data());
  s.read_into("layer.weight", {rows, cols}, got_bf16.data(), ReadOptions{.fp8_round_to_bf16 = true});
  size_t bad = 0;
  for (int64_t i = 0; i < rows; ++i) {
    for (int64_t j = 0; j < cols; ++j) {
      const size_t k = size_t(i * cols + j);
      const float want = fp8_reference(wq[k]) * scale[size_t((i / 128) * sc + j / 128)];  // multiply, in fp32
      const float want_bf16 = bf16_to_f32(f32_to_bf16(want));
      bad += got[k] != want || got_d[k] != double(want) || got_bf16[k] != want_bf16;
    }
  }
  EXPECT_EQ(bad, 0u) << rows << "x" << cols;
}

TEST_F(SafetensorsTest, Fp8BlockDequantWithPartialEdgeBlocks) {
  check_fp8_dequant(dir_, 200, 300);  // scale [2, 3]: 72-row and 44-column edge blocks
  check_fp8_dequant(dir_, 576, 128);  // kv_a_proj_with_mqa-like rows: scale [5, 1]
  check_fp8_dequant(dir_, 1, 1);
  check_fp8_dequant(dir_, 512, 640);  // exact blocks, large enough for the OpenMP path
}

TEST_F(SafetensorsTest, Fp8Errors) {
  std::vector<uint8_t> wq(200 * 300, 0x38);
  std::vector<float> scale(12, 1.0f);
  SafetensorsWriter w;
  w.add_raw("bad_scale.weight", DType::F8_E4M3, {200, 300}, wq.data(), wq.size());
  w.add("bad_scale.weight_scale_inv", DType::F32, {3, 4}, scale.data());
  w.add_raw("no_scale.weight", DType::F8_E4M3, {200, 300}, wq.data(), wq.size());
  std::vector<float> f(200 * 300);
  w.add("not_fp8.weight", DType::F32, {200, 300}, f.data());
  w.add("not_fp8.weight_scale_inv", DType::F32, {2, 3}, scale.data());
  w.write(dir_ / "e.safetensors");
  TensorStore s(dir_ / "e.safetensors");
  expect_error(
      [&] {
        s.read_into("bad_scale.weight", {200, 300}, f.data());
      },
      {"bad_scale.weight_scale_inv", "expected shape [2, 3]", "got [3, 4]"});
  expect_error(
      [&] {
        s.read_into("no_scale.weight", {200, 300}, f.data());
      },
      {"no_scale.weight", "F8_E4M3", "no_scale.weight_scale_inv"});
  expect_error(
      [&] {
        s.read_into("not_fp8.weight", {200, 300}, f.data());
      },
      {"not_fp8.weight", "F32", "not F8_E4M3"});
  // A negative or non-finite scale was accepted: it flipped or poisoned its block without a word.
  for (const float bad : {-0.5f, std::nanf(""), std::numeric_limits<float>::infinity()}) {
    std::vector<float> scales(6, 1e-3f);
    scales[4] = bad;  // block [1, 1]
    SafetensorsWriter b;
    b.add_raw("w.weight", DType::F8_E4M3, {200, 300}, wq.data(), wq.size());
    b.add("w.weight_scale_inv", DType::F32, {2, 3}, scales.data());
    b.write(dir_ / "bad-scale.safetensors");
    TensorStore t(dir_ / "bad-scale.safetensors");
    expect_error(
        [&] {
          t.read_into("w.weight", {200, 300}, f.data());
        },
        {"'w.weight_scale_inv'", "the scale of block [1, 1] is", "FP8 block scales are finite and >= 0"});
  }
  std::vector<float> zeros(6, 0.0f);  // all-zero blocks have a scale of 0
  SafetensorsWriter z;
  z.add_raw("w.weight", DType::F8_E4M3, {200, 300}, wq.data(), wq.size());
  z.add("w.weight_scale_inv", DType::F32, {2, 3}, zeros.data());
  z.write(dir_ / "zero-scale.safetensors");
  TensorStore(dir_ / "zero-scale.safetensors").read_into("w.weight", {200, 300}, f.data());
  EXPECT_EQ(f[0], 0.0f);
}

TEST_F(SafetensorsTest, ShardedWriteReadAndStaleCleanup) {
  // 10 tensors of 4000 bytes each.
  SafetensorsWriter w;
  std::vector<std::vector<float>> values;
  for (int t = 0; t < 10; ++t) {
    values.emplace_back(1000);
    for (int i = 0; i < 1000; ++i) values.back()[size_t(i)] = float(t * 1000 + i);
    w.add("layers." + std::to_string(t) + ".weight", DType::F32, {10, 100}, values.back().data());
  }
  w.set_metadata("note", "sharded");
  const fs::path ck = dir_ / "ckpt";
  auto check_all = [&] {
    TensorStore s(ck);
    EXPECT_EQ(s.names().size(), 10u);
    std::vector<float> got(1000);
    for (int t = 0; t < 10; ++t) {
      s.read_into("layers." + std::to_string(t) + ".weight", {10, 100}, got.data());
      EXPECT_EQ(got, values[size_t(t)]);
    }
    return s.files().size();
  };

  auto written = w.write_sharded(ck, 12000);  // 3 tensors per shard -> 4 shards
  ASSERT_EQ(written.size(), 5u);
  EXPECT_EQ(written.back(), ck / "model.safetensors.index.json");
  for (int i = 1; i <= 4; ++i)
    EXPECT_TRUE(fs::exists(ck / fmt::format("model-{:05d}-of-00004.safetensors", i)));
  json index = json::parse(std::ifstream(ck / "model.safetensors.index.json"));
  EXPECT_EQ(index["metadata"]["total_size"], 40000);
  EXPECT_EQ(index["weight_map"].size(), 10u);
  EXPECT_EQ(index["weight_map"]["layers.0.weight"], "model-00001-of-00004.safetensors");
  EXPECT_EQ(check_all(), 4u);
  EXPECT_EQ(SafetensorsFile(written[0]).metadata().at("note"), "sharded");
  // The index can also be opened directly.
  EXPECT_EQ(TensorStore(ck / "model.safetensors.index.json").names().size(), 10u);

  // Re-save with fewer shards: the 4-shard files go, only after the new set is complete.
  w.write_sharded(ck, 20000);
  EXPECT_EQ(check_all(), 2u);
  for (int i = 1; i <= 4; ++i)
    EXPECT_FALSE(fs::exists(ck / fmt::format("model-{:05d}-of-00004.safetensors", i)));

  // One shard: a plain model.safetensors, and the index and shards disappear.
  written = w.write_sharded(ck, 1 << 30);
  ASSERT_EQ(written.size(), 1u);
  EXPECT_EQ(written[0], ck / "model.safetensors");
  EXPECT_EQ(check_all(), 1u);
  EXPECT_FALSE(fs::exists(ck / "model.safetensors.index.json"));
  EXPECT_EQ(std::distance(fs::directory_iterator(ck), fs::directory_iterator()), 1);

  // And back to shards: the single file is removed. A tensor bigger than the limit gets its own shard.
  w.write_sharded(ck, 100);
  EXPECT_EQ(check_all(), 10u);
  EXPECT_FALSE(fs::exists(ck / "model.safetensors"));
  EXPECT_EQ(std::distance(fs::directory_iterator(ck), fs::directory_iterator()), 11);
  EXPECT_TRUE(tmp_leftovers().empty());
}

TEST_F(SafetensorsTest, MissingTensorAndWrongShape) {
  std::vector<float> v(6, 1.0f);
  SafetensorsWriter w;
  w.add("a.weight", DType::F32, {2, 3}, v.data());
  const fs::path path = dir_ / "m.safetensors";
  w.write(path);
  TensorStore s(path);
  EXPECT_TRUE(s.contains("a.weight"));
  EXPECT_FALSE(s.contains("b.weight"));
  expect_error(
      [&] {
        s.read_into("b.weight", {2, 3}, v.data());
      },
      {"'b.weight'", "not found", path.string()});
  expect_error([&] { s.info("b.weight"); }, {"'b.weight'", "not found"});
  expect_error(
      [&] {
        s.read_into("a.weight", {3, 2}, v.data());
      },
      {"'a.weight'", path.string(), "expected shape [3, 2]", "got [2, 3]"});
  expect_error([&] { s.read_into("a.weight", {6}, v.data()); }, {"expected shape [6]", "got [2, 3]"});
  std::vector<int64_t> ints(6);
  expect_error([&] { s.read_into("a.weight", {2, 3}, ints.data()); }, {"'a.weight'", "F32", "int64"});
  SafetensorsFile f(path);
  expect_error([&] { f.at("zzz"); }, {"'zzz'", path.string()});
}

TEST_F(SafetensorsTest, RejectsBadHeaders) {
  const std::string d16(16, '\0');
  struct Case {
    std::string header, data;
    std::vector<std::string> parts;
  };
  const std::vector<Case> cases = {
      {R"({"w":{"dtype":"Q4_K","shape":[2],"data_offsets":[0,2]}})", d16, {"unknown dtype \"Q4_K\"", "'w'"}},
      {R"({"w":{"dtype":"F8_E5M2","shape":[2],"data_offsets":[0,2]}})", d16, {"unknown dtype \"F8_E5M2\""}},
      {R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
       d16,
       {"overlap", "'a'", "'b'"}},
      // An empty tensor inside another's bytes (Hugging Face: InvalidOffset); between two it is fine
      // (EmptyTensorsSitBetweenOthers).
      {R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"z":{"dtype":"F32","shape":[0],"data_offsets":[8,8]}})",
       d16,
       {"overlap", "'a' [0, 16)", "'z' [8, 8)"}},
      // Bytes between tensors or before the first: a header that lost an entry (Hugging Face: InvalidOffset).
      {R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})",
       d16,
       {"holds 4 bytes that no tensor describes", "bytes [4, 8)", "before tensor 'b'"}},
      {R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})",
       d16,
       {"holds 8 bytes that no tensor describes", "bytes [0, 8)", "before tensor 'w'"}},
      {R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[100,108]}})",
       d16,
       {"'w'", "beyond the end", "16 bytes"}},
      {R"({"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,12]}})",
       d16,
       {"'w'", "span 12 bytes", "needs 16 bytes"}},
      {R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", d16, {"'w'", "end before begin"}},
      {R"({"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", d16, {"'w'", "non-negative integers"}},
      {R"({"w":{"dtype":"F32","shape":[2.0],"data_offsets":[0,8]}})", d16, {"'w'", "shape"}},
      {R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0]}})", d16, {"'w'", "data_offsets"}},
      {R"({"w":{"dtype":"F32","data_offsets":[0,8]}})", d16, {"'w'", "missing \"shape\""}},
      {R"({"w":{"dtype":7,"shape":[2],"data_offsets":[0,8]}})", d16, {"'w'", "dtype must be a string"}},
      {R"({"w":[1,2]})", d16, {"'w'", "must be an object"}},
      {R"({"w":{"dtype":"F32","shape":[4294967296,4294967296,4294967296],"data_offsets":[0,8]}})",
       d16,
       {"'w'", "overflows"}},
      {R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"w":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})",
       d16,
       {"\"w\"", "more than once"}},
      {R"({"w":{"dtype":"F32","shape":[2],"dtype":"F64","data_offsets":[0,8]}})",
       d16,
       {"\"w.dtype\"", "more than once"}},
      {R"({"__metadata__":{"format":{"pt":1}}})",
       d16,
       {"__metadata__", "value of \"format\"", "must be a string"}},
      {R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})", d16, {"invalid JSON"}},
      {"not json at all", d16, {"invalid JSON"}},
      {"[1, 2, 3]", d16, {"expected a JSON object"}},
      {R"({"__metadata__":"pt"})", d16, {"__metadata__ must be an object"}},
      // A header within the size limit held a 49M-dimension shape (2.3 GB to read) or a name of megabytes,
      // which every message about the tensor printed whole.
      {R"({"w":{"dtype":"F32","shape":[1)" +
           [] {
             std::string ones;
             for (int i = 0; i < 64; ++i) ones += ",1";
             return ones;
           }() +
           R"(],"data_offsets":[0,4]}})",
       d16,
       {"'w'", "a shape of 65 dimensions; more than 64 is no tensor's"}},
      {R"({")" + std::string(1025, 'n') + R"(":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})",
       d16,
       {"a tensor name of 1025 bytes (\"nnnn", "longer than 1024 bytes"}},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE(cases[i].header);
    auto p = write_raw("bad" + std::to_string(i) + ".safetensors", cases[i].header, cases[i].data);
    try {
      SafetensorsFile f(p);
      ADD_FAILURE() << "accepted";
    } catch (const Error& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find(p.string()), std::string::npos) << what;
      for (const auto& part : cases[i].parts)
        EXPECT_NE(what.find(part), std::string::npos) << part << " | " << what;
    }
  }
}

TEST_F(SafetensorsTest, EmptyTensorsSitBetweenOthers) {
  const std::string d16(16, '\0');
  for (const char* at : {"[0,0]", "[8,8]", "[16,16]"}) {
    SCOPED_TRACE(at);
    const auto p = write_raw("empty-between.safetensors",
                             std::string(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)") +
                                 R"("z":{"dtype":"F32","shape":[0,3],"data_offsets":)" + at +
                                 R"(},"b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})",
                             d16);
    SafetensorsFile f(p);
    EXPECT_EQ(f.num_tensors(), 3u);
    EXPECT_EQ(f.at("z").numel, 0u);
  }
}

// "__metadata__": null is no metadata, as Hugging Face's safetensors reads it; it was refused.
TEST_F(SafetensorsTest, NullMetadataIsNoMetadata) {
  std::string data(8, '\0');
  auto p = write_raw("null-metadata.safetensors",
                     R"({"__metadata__":null,"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", data);
  SafetensorsFile f(p);
  EXPECT_TRUE(f.metadata().empty());
  EXPECT_EQ(f.num_tensors(), 1u);
}

TEST_F(SafetensorsTest, DeeplyNestedHeaderValuesAreErrorsNotCrashes) {
  // Messages used to print such values in full, which recursed once per level and overflowed the stack; now
  // the parse stops at the 65th level, before the value takes memory.
  const std::string deep = std::string(200000, '[') + std::string(200000, ']');
  const std::string d8(8, '\0');
  const std::string ok = R"("a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})";
  expect_error(
      [&] { SafetensorsFile f(write_raw("entry.safetensors", "{" + ok + R"(,"w":)" + deep + "}", d8)); },
      {"the value at w[][]", "nests arrays and objects more than 64 levels deep"});
  expect_error(
      [&] {
        SafetensorsFile f(write_raw(
            "dtype.safetensors", R"({"w":{"dtype":)" + deep + R"(,"shape":[2],"data_offsets":[0,8]}})", d8));
      },
      {"the value at w.dtype[][]", "more than 64 levels deep"});
  expect_error(
      [&] {
        SafetensorsFile f(
            write_raw("meta.safetensors", R"({"__metadata__":{"note":)" + deep + "}," + ok + "}", d8));
      },
      {"the value at __metadata__.note[][]", "more than 64 levels deep"});
}

TEST_F(SafetensorsTest, RejectsTruncatedFilesAndBadLengths) {
  std::vector<float> v(100, 2.0f);
  SafetensorsWriter w;
  w.add("w", DType::F32, {100}, v.data());
  const fs::path path = dir_ / "t.safetensors";
  w.write(path);
  const auto full = fs::file_size(path);

  // Bytes appended after the last tensor (Hugging Face refuses such a file as well).
  fs::resize_file(path, full + 100);
  expect_error([&] { SafetensorsFile f(path); },
               {path.string(), "holds 100 bytes after the last tensor's data", "end at byte 400 of 500"});
  fs::resize_file(path, full - 1);  // lost the last data byte
  expect_error([&] { SafetensorsFile f(path); }, {path.string(), "'w'", "truncated"});
  expect_error([&] { TensorStore s(path); }, {path.string(), "truncated"});
  fs::resize_file(path, 20);  // lost most of the header
  expect_error([&] { SafetensorsFile f(path); }, {path.string(), "header length", "larger than the file"});
  fs::resize_file(path, 5);
  expect_error([&] { SafetensorsFile f(path); }, {path.string(), "truncated"});
  fs::resize_file(path, 0);
  expect_error([&] { SafetensorsFile f(path); }, {path.string(), "truncated"});

  auto p = write_raw("len.safetensors", "{}", "", 1000);
  expect_error([&] { SafetensorsFile f(p); }, {p.string(), "header length 1000", "larger than the file"});
  p = write_raw("huge.safetensors", "{}", "", UINT64_MAX - 1);
  expect_error([&] { SafetensorsFile f(p); }, {p.string(), "header length", "larger than the file"});
  expect_error([&] { SafetensorsFile f(dir_ / "absent.safetensors"); },
               {"absent.safetensors", "No such file"});
  expect_error([&] { SafetensorsFile f(dir_); }, {dir_.string(), "not a regular file"});
}

TEST_F(SafetensorsTest, RejectsBrokenIndexes) {
  std::vector<float> v(4, 1.0f);
  SafetensorsWriter w;
  w.add("a", DType::F32, {4}, v.data());
  w.add("b", DType::F32, {4}, v.data());
  const fs::path ck = dir_ / "ck";
  w.write_sharded(ck, 16);  // two shards
  const fs::path index = ck / "model.safetensors.index.json";
  const std::string good = json::parse(std::ifstream(index)).dump();

  auto write_index = [&](const json& j) { std::ofstream(index) << j.dump(); };
  json j = json::parse(good);
  j["weight_map"]["c"] = "model-00007-of-00009.safetensors";
  write_index(j);
  expect_error([&] { TensorStore s(ck); },
               {index.string(), "model-00007-of-00009.safetensors", "does not exist", "'c'"});

  j = json::parse(good);
  j["weight_map"]["c"] = "model-00001-of-00002.safetensors";
  write_index(j);
  expect_error([&] { TensorStore s(ck); }, {"'c'", "model-00001-of-00002.safetensors", "does not contain"});

  // A shard that is no safetensors file: the index that named it, and for which tensor, come first.
  for (const std::string shard : {".", "model.safetensors.index.json"}) {
    j = json::parse(good);
    j["weight_map"]["a"] = shard;
    write_index(j);
    expect_error([&] { TensorStore s(ck); }, {index.string(), "'a'"});
  }
  expect_error([&] { TensorStore s(ck); }, {"lists the index itself as the shard of tensor 'a'"});
  j = json::parse(good);
  j["weight_map"]["a"] = ".";
  write_index(j);
  expect_error([&] { TensorStore s(ck); }, {index.string() + ": shard . (listed for tensor 'a'): "});

  j = json::parse(good);
  j["weight_map"]["a"] = "../elsewhere.safetensors";
  write_index(j);
  expect_error([&] { TensorStore s(ck); }, {"../elsewhere.safetensors", "relative path inside"});
  // A NUL in a name opened the file named by the part before it (and printed the byte raw in messages).
  j = json::parse(good);
  j["weight_map"]["a"] = std::string("model-00001-of-00002.safetensors\0junk", 37);
  write_index(j);
  expect_error([&] { TensorStore s(ck); },
               {"shard file name 'model-00001-of-00002.safetensors\\0...' holds a NUL byte"});

  write_index(json{{"metadata", json::object()}});
  expect_error([&] { TensorStore s(ck); }, {index.string(), "weight_map"});

  // Names of megabytes were printed whole in each message that named them.
  j = json::parse(good);
  j["weight_map"][std::string(2000, 't')] = "model-00001-of-00002.safetensors";
  write_index(j);
  expect_error([&] { TensorStore s(ck); }, {index.string(), "names a tensor of 2000 bytes (\"tttt"});
  j = json::parse(good);
  j["weight_map"]["a"] = std::string(5000, 's');
  write_index(j);
  expect_error([&] { TensorStore s(ck); }, {index.string(), "a shard file name of 5000 bytes (\"ssss"});

  std::ofstream(index) << "{\"weight_map\": {";
  expect_error([&] { TensorStore s(ck); }, {index.string(), "invalid JSON"});
  // Read up to a bound: a sparse index of gigabytes was read whole before it was refused.
  fs::resize_file(index, 4LL << 30);
  expect_error([&] { TensorStore s(ck); }, {index.string() + " holds 4.3 GB, more than 67.1 MB"});

  std::ofstream(index) << good;
  EXPECT_EQ(TensorStore(ck).names(), (std::vector<std::string>{"a", "b"}));
  w.write(ck / "model.safetensors");  // both layouts present: ambiguous
  expect_error([&] { TensorStore s(ck); }, {"model.safetensors", "model.safetensors.index.json", "both"});
  expect_error([&] { TensorStore s(dir_ / "nothing_here"); }, {"nothing_here"});
  fs::create_directories(dir_ / "empty");
  expect_error([&] { TensorStore s(dir_ / "empty"); }, {"empty", "no model.safetensors"});
  // What a folder holds instead is named: PyTorch's pickles, or shards without their index.
  std::ofstream(dir_ / "empty" / "model-00001-of-00002.safetensors") << "x";
  expect_error([&] { TensorStore s(dir_ / "empty"); },
               {"(model-00001-of-00002.safetensors is there: shards are read through "
                "model.safetensors.index.json"});
  fs::remove(dir_ / "empty" / "model-00001-of-00002.safetensors");
  // Other safetensors files (a checkpoint's optimizer state, an adapter) are not shards.
  std::ofstream(dir_ / "empty" / "optimizer.safetensors") << "x";
  std::ofstream(dir_ / "empty" / "adapter_model.safetensors") << "x";
  EXPECT_EQ(test::error_of([&] { TensorStore s(dir_ / "empty"); }).find("shards are read"),
            std::string::npos);
  std::ofstream(dir_ / "empty" / "pytorch_model.bin") << "x";
  expect_error([&] { TensorStore s(dir_ / "empty"); },
               {"(pytorch_model.bin is PyTorch's pickle format, which seek does not read"});
}

// A FIFO in place of a weights file or index waited for a writer forever, and a symlink loop in place of
// model.safetensors was an "internal error" from std::filesystem: both are errors naming the file.
TEST_F(SafetensorsTest, FifosAndSymlinkLoopsAreNamed) {
  ASSERT_EQ(::mkfifo((dir_ / "fifo.safetensors").c_str(), 0644), 0);
  expect_error([&] { SafetensorsFile f(dir_ / "fifo.safetensors"); },
               {(dir_ / "fifo.safetensors").string(), "not a regular file"});
  fs::create_directories(dir_ / "ck");
  fs::create_symlink("model.safetensors", dir_ / "ck" / "model.safetensors");
  expect_error(
      [&] { TensorStore s(dir_ / "ck"); },
      {"cannot open", (dir_ / "ck" / "model.safetensors").string(), "Too many levels of symbolic links"});
  fs::remove(dir_ / "ck" / "model.safetensors");
  fs::create_symlink("model.safetensors.index.json", dir_ / "ck" / "model.safetensors.index.json");
  expect_error([&] { TensorStore s(dir_ / "ck"); },
               {"cannot read", "model.safetensors.index.json", "Too many levels of symbolic links"});
  fs::remove(dir_ / "ck" / "model.safetensors.index.json");
  ASSERT_EQ(::mkfifo((dir_ / "ck" / "model.safetensors.index.json").c_str(), 0644), 0);
  expect_error([&] { TensorStore s(dir_ / "ck"); },
               {(dir_ / "ck" / "model.safetensors.index.json").string(), "not a regular file"});
}

// A shard's tensors must all be listed for it. A tensor the index left out, or listed for another shard
// that holds it too, was silently skipped; Hugging Face's loader, which reads whole shards, would load it.
TEST_F(SafetensorsTest, ShardsHoldOnlyWhatTheIndexListsForThem) {
  std::vector<float> v(4, 1.0f);
  auto write_shard = [&](const std::string& file, std::initializer_list<const char*> names) {
    SafetensorsWriter w;
    for (const char* name : names) w.add(name, DType::F32, {4}, v.data());
    w.write(dir_ / file);
  };
  const fs::path index = dir_ / "model.safetensors.index.json";
  auto load_with = [&](const json& weight_map) {
    std::ofstream(index) << json{{"weight_map", weight_map}}.dump();
    return TensorStore(dir_);
  };
  write_shard("s1.safetensors", {"a", "b"});
  write_shard("s2.safetensors", {"c"});
  EXPECT_EQ(load_with({{"a", "s1.safetensors"}, {"b", "s1.safetensors"}, {"c", "s2.safetensors"}}).names(),
            (std::vector<std::string>{"a", "b", "c"}));
  expect_error(
      [&] {
        load_with({{"a", "s1.safetensors"}, {"c", "s2.safetensors"}});
      },
      {index.string(), "s1.safetensors holds tensor 'b', which the index does not list"});
  // "./x" names the same shard as "x": it is opened once, not taken for a second shard holding 'a' and 'b'.
  EXPECT_EQ(
      load_with({{"a", "s1.safetensors"}, {"b", "./s1.safetensors"}, {"c", "s2.safetensors"}}).files().size(),
      2u);
  write_shard("s2.safetensors", {"b", "c"});
  expect_error(
      [&] {
        load_with({{"a", "s1.safetensors"}, {"b", "s1.safetensors"}, {"c", "s2.safetensors"}});
      },
      {index.string(), "tensor 'b' is in both", "s2.safetensors and",
       "s1.safetensors (the index lists it for the latter)"});
}

TEST_F(SafetensorsTest, WriterRejectsBadTensors) {
  std::vector<float> v(4, 1.0f);
  std::vector<int64_t> big = {int64_t(1) << 40};
  SafetensorsWriter w;
  w.add("a", DType::F32, {4}, v.data());
  expect_error([&] { w.add("a", DType::F32, {4}, v.data()); }, {"'a'", "added twice"});
  expect_error([&] { w.add("__metadata__", DType::F32, {4}, v.data()); }, {"__metadata__", "reserved"});
  expect_error([&] { w.add("", DType::F32, {4}, v.data()); }, {"empty"});
  expect_error([&] { w.add("i", DType::I64, {4}, v.data()); }, {"'i'", "I64"});
  expect_error([&] { w.add("j", DType::F32, {1}, big.data()); }, {"'j'", "F32"});
  expect_error([&] { w.add("k", DType::I32, {1}, big.data()); }, {"'k'", "does not fit in I32"});
  expect_error([&] { w.add("n", DType::F32, {-1}, v.data()); }, {"'n'", "invalid shape"});
  expect_error(
      [&] {
        w.add_raw("r", DType::F8_E4M3, {4, 4}, v.data(), 15);
      },
      {"'r'", "needs 16 bytes", "got 15"});
  EXPECT_EQ(w.num_tensors(), 1u);  // failed adds leave nothing behind
  expect_error([&] { w.write_sharded(dir_ / "s", 0); }, {"max shard size"});
}

TEST_F(SafetensorsTest, UnwritableOutputPath) {
  std::vector<float> v(4, 1.0f);
  SafetensorsWriter w;
  w.add("a", DType::F32, {4}, v.data());
  std::ofstream(dir_ / "plain_file") << "x";
  const fs::path bad = dir_ / "plain_file" / "model.safetensors";  // parent is a file: fails even for root
  expect_error([&] { w.write(bad); }, {bad.string(), "Not a directory"});
  expect_error([&] { w.write(dir_ / "no_such_dir" / "m.safetensors"); }, {"no_such_dir", "No such file"});
  expect_error([&] { w.write_sharded(dir_ / "plain_file" / "ck", 1000); },
               {"plain_file", "creating the folder"});
  if (::geteuid() != 0) {  // root ignores permission bits
    fs::create_directories(dir_ / "ro");
    fs::permissions(dir_ / "ro", fs::perms::owner_read | fs::perms::owner_exec);
    expect_error([&] { w.write(dir_ / "ro" / "m.safetensors"); }, {"ro/m.safetensors", "Permission denied"});
  }
  EXPECT_TRUE(tmp_leftovers().empty());
}

TEST_F(SafetensorsTest, FailedWriteLeavesPreviousFileIntact) {
  const fs::path path = dir_ / "keep.safetensors";
  std::vector<float> old_v = {1, 2, 3, 4};
  SafetensorsWriter old_w;
  old_w.add("a", DType::F32, {4}, old_v.data());
  old_w.write(path);

  std::vector<float> big(1 << 20, 7.0f);  // 4 MiB, far over the file size limit below
  SafetensorsWriter new_w;
  new_w.add("a", DType::F32, {1 << 20}, big.data());

  // A file size limit makes write() fail part-way with EFBIG, as a full disk would with ENOSPC.
  std::string message;
  {
    const test::FileSizeLimit limit(64 * 1024);
    try {
      new_w.write(path);
    } catch (const Error& e) {
      message = e.what();
    }
  }

  EXPECT_NE(message.find(path.string()), std::string::npos) << message;
  EXPECT_NE(message.find(std::strerror(EFBIG)), std::string::npos) << message;
  EXPECT_TRUE(tmp_leftovers().empty());
  TensorStore s(path);
  std::vector<float> got(4);
  s.read_into("a", {4}, got.data());
  EXPECT_EQ(got, old_v);
}

TEST_F(SafetensorsTest, AtomicFileCleansUpWhenAbandoned) {
  const fs::path target = dir_ / "x.json";
  {
    AtomicFile f(target);
    f.write("abc", 3);
  }  // no commit: as if an exception unwound past it
  EXPECT_FALSE(fs::exists(target));
  EXPECT_TRUE(tmp_leftovers().empty());
  write_file_atomically(target, "hello");
  std::string s;
  std::ifstream(target) >> s;
  EXPECT_EQ(s, "hello");
}

// A replaced file keeps its permissions: a private (0600) file does not come back readable by everyone.
TEST_F(SafetensorsTest, AtomicFileKeepsThePermissionsOfWhatItReplaces) {
  const fs::path target = dir_ / "private.json";
  write_file_atomically(target, "old");
  fs::permissions(target, fs::perms::owner_read | fs::perms::owner_write);
  write_file_atomically(target, "new");
  EXPECT_EQ(fs::status(target).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
  std::string s;
  std::ifstream(target) >> s;
  EXPECT_EQ(s, "new");
}

std::string read_text(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(f)), {});
}

// What a rename would turn into a plain file, or lose, is refused before anything is written; the thing at
// the target is left as it was.
TEST_F(SafetensorsTest, AtomicFileRefusesWhatItMustNotReplace) {
  auto refused = [&](const fs::path& target, const std::string& needle) {
    std::string message;
    try {
      write_file_atomically(target, "new");
    } catch (const Error& e) {
      message = e.what();
    }
    EXPECT_NE(message.find("cannot write " + target.string() + ": " + needle), std::string::npos)
        << target << ": " << message;
    EXPECT_TRUE(tmp_leftovers().empty()) << target;
  };
  const fs::path fifo = dir_ / "fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0644), 0);
  refused(fifo, "it is a named pipe (FIFO), not a regular file");
  EXPECT_TRUE(fs::is_fifo(fs::symlink_status(fifo)));

  fs::create_directories(dir_ / "folder");
  refused(dir_ / "folder", "it is a folder, not a file");
  EXPECT_TRUE(fs::is_directory(dir_ / "folder"));

  // A link: neither replaced by a file nor written through (its target may be shared).
  write_file_atomically(dir_ / "real.json", "old");
  fs::create_symlink("real.json", dir_ / "link.json");
  refused(dir_ / "link.json", "it is a symbolic link to real.json");
  EXPECT_TRUE(fs::is_symlink(dir_ / "link.json"));
  EXPECT_EQ(read_text(dir_ / "real.json"), "old");
  fs::create_symlink("missing.json", dir_ / "dangling.json");
  refused(dir_ / "dangling.json", "it is a symbolic link to missing.json");
  EXPECT_FALSE(fs::exists(dir_ / "missing.json"));
  // A link to a pipe or to an open descriptor (/dev/stdout, a process substitution's /dev/fd/63) says that a
  // file's path is needed: "remove the link" was the advice for /dev/stdout.
  fs::create_symlink(fifo, dir_ / "to-fifo");
  refused(dir_ / "to-fifo", "it is a symbolic link (" + fifo.string() + ") to a pipe, not a file of its own");
  fs::create_symlink("/proc/self/fd/0", dir_ / "to-fd");
  refused(dir_ / "to-fd", "it is a symbolic link (/proc/self/fd/0) to ");  // whatever standard input is

  // Mode 444 in a writable folder: refused also for root, whom access(W_OK) would let through.
  write_file_atomically(dir_ / "ro.json", "old");
  fs::permissions(dir_ / "ro.json", fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read);
  refused(dir_ / "ro.json", "it is read-only (mode 0444)");
  EXPECT_EQ(read_text(dir_ / "ro.json"), "old");

  // A character device: check_replaceable only looks (lstat), so naming /dev/null here writes nothing.
  std::string message;
  try {
    check_replaceable("/dev/null");
  } catch (const Error& e) {
    message = e.what();
  }
  EXPECT_NE(message.find("cannot write /dev/null: it is a character device, not a regular file"),
            std::string::npos)
      << message;

  // A writable regular file or a new name is fine.
  write_file_atomically(dir_ / "real.json", "new");
  EXPECT_EQ(read_text(dir_ / "real.json"), "new");
}

// Something that appears at the target while the data is written (a FIFO here) is still not replaced: the
// check runs again just before the rename.
TEST_F(SafetensorsTest, AtomicFileChecksTheTargetAgainBeforeTheRename) {
  const fs::path target = dir_ / "x.npy";
  std::string message;
  try {
    AtomicFile f(target);
    f.write("abc", 3);
    ASSERT_EQ(::mkfifo(target.c_str(), 0644), 0);
    f.commit();
  } catch (const Error& e) {
    message = e.what();
  }
  EXPECT_NE(message.find("it is a named pipe (FIFO)"), std::string::npos) << message;
  EXPECT_TRUE(fs::is_fifo(fs::symlink_status(target)));
  EXPECT_TRUE(tmp_leftovers().empty());
}

}  // namespace
}  // namespace seek
