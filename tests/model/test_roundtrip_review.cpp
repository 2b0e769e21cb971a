// Review tests pinning the save/load round trips: fp32 <-> bf16 / f16 conversions against independent
// references (exhaustive where the domain is 16 bits), config.json keys, and model directories saved as F32
// or BF16 giving the logits of the model before saving.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <random>
#include <vector>

#include "core/dtype.hpp"
#include "io/safetensors.hpp"
#include "model/model_dir.hpp"
#include "model_test_util.hpp"

namespace seek {
namespace {

namespace fs = std::filesystem;

uint32_t bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}
float from_bits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// fp32 -> bf16 from first principles: the two bf16 neighbours of x, compared in double (exact for these).
uint16_t bf16_reference(float x) {
  const uint32_t u = bits(x);
  if (std::isnan(x)) return uint16_t((u >> 16) | 0x40);
  const uint32_t lo = u & 0xffff0000u;  // truncation toward zero
  if (lo == u) return uint16_t(u >> 16);
  const uint32_t hi = lo + 0x10000u;  // next magnitude up (may be inf)
  const double dx = std::fabs(double(x)), dlo = std::fabs(double(from_bits(lo)));
  // The magnitude above the largest finite bf16 is 2^128 for rounding purposes.
  const double dhi =
      (hi & 0x7fffffffu) == 0x7f800000u ? std::ldexp(1.0, 128) : std::fabs(double(from_bits(hi)));
  if (dx - dlo < dhi - dx) return uint16_t(lo >> 16);
  if (dx - dlo > dhi - dx) return uint16_t(hi >> 16);
  return ((lo >> 16) & 1) ? uint16_t(hi >> 16) : uint16_t(lo >> 16);
}

TEST(RoundTripReview, Bf16MatchesNearestEvenReference) {
  // Edge values with the bits torch's c10::BFloat16 round_to_nearest_even gives.
  const std::pair<uint32_t, uint16_t> known[] = {
      {0x7f7fffffu, 0x7f80},  // FLT_MAX overflows to +inf
      {0x7f7f8000u, 0x7f80},  // tie above the largest bf16 (odd): to inf
      {0x7f7f7fffu, 0x7f7f},  // just below that tie
      {0xff7fffffu, 0xff80},  // -FLT_MAX to -inf
      {0x7f800000u, 0x7f80},  // inf
      {0xff800000u, 0xff80},  // -inf
      {0x00000001u, 0x0000},  // smallest subnormal to +0
      {0x00008000u, 0x0000},  // subnormal tie to even 0
      {0x00018000u, 0x0002},  // subnormal tie to even 2
      {0x0000c000u, 0x0001},
      {0x807fffffu, 0x8080},  // largest negative subnormal rounds to the smallest normal
      {0x80000000u, 0x8000},  // -0
      {0x3f808000u, 0x3f80},  // 1 + ulp/2: tie to even
      {0x3f818000u, 0x3f82},
      {0x3f808001u, 0x3f81},
  };
  for (auto [in, want] : known) EXPECT_EQ(f32_to_bf16(from_bits(in)), want) << std::hex << in;
  for (uint32_t nan : {0x7fc00000u, 0x7f800001u, 0xffc00000u, 0x7fffffffu, 0x7f80ffffu}) {
    const uint16_t h = f32_to_bf16(from_bits(nan));
    EXPECT_TRUE(std::isnan(bf16_to_f32(h))) << std::hex << nan;
    EXPECT_TRUE(h & 0x40) << "quiet NaN expected for " << std::hex << nan;
  }
  std::mt19937 rng(7);
  for (int i = 0; i < 2000000; ++i) {
    const float x = from_bits(uint32_t(rng()));
    if (std::isnan(x)) continue;
    ASSERT_EQ(f32_to_bf16(x), bf16_reference(x)) << std::hex << bits(x);
  }
  // Every bf16 widens exactly and narrows back to itself.
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const float f = bf16_to_f32(uint16_t(h));
    ASSERT_EQ(bits(f), h << 16);
    if (!std::isnan(f)) {
      ASSERT_EQ(f32_to_bf16(f), h);
    }
  }
}

// f16 -> double from the format description.
double f16_reference(uint16_t h) {
  const int sign = h >> 15, exp = (h >> 10) & 31, man = h & 1023;
  double v;
  if (exp == 31)
    return man ? std::numeric_limits<double>::quiet_NaN()
               : (sign ? -1.0 : 1.0) * std::numeric_limits<double>::infinity();
  v = exp == 0 ? std::ldexp(double(man), -24) : std::ldexp(1024.0 + man, exp - 25);
  return sign ? -v : v;
}

TEST(RoundTripReview, F16WidensExactlyAndNarrowsToNearestEven) {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const float f = f16_to_f32(uint16_t(h));
    const double want = f16_reference(uint16_t(h));
    if (std::isnan(want)) {
      ASSERT_TRUE(std::isnan(f)) << std::hex << h;
      ASSERT_EQ(std::signbit(f), bool(h & 0x8000)) << std::hex << h;
      continue;
    }
    ASSERT_EQ(double(f), want) << std::hex << h;
    ASSERT_EQ(std::signbit(f), bool(h & 0x8000)) << std::hex << h;
    ASSERT_EQ(f32_to_f16(f), h) << std::hex << h;  // exact values come back to their own code
  }
  // Narrowing: the nearest f16 (ties to even) for random floats, checked against the neighbours' midpoint.
  std::mt19937 rng(11);
  for (int i = 0; i < 1000000; ++i) {
    const float x =
        from_bits((uint32_t(rng()) & 0xbfffffffu) | (uint32_t(rng()) & 0x38000000u));  // near the f16 range
    if (std::isnan(x)) continue;
    const uint16_t h = f32_to_f16(x);
    const double got = f16_reference(h), dx = double(x);
    ASSERT_EQ(std::signbit(got), std::signbit(x)) << x;
    if (std::isinf(got)) {
      ASSERT_GE(std::fabs(dx), 65520.0) << x;
      continue;
    }
    // Neighbours of got: no f16 value is closer to x.
    const uint16_t mag = h & 0x7fff;
    const double up = mag == 0x7bff ? 65536.0 : std::fabs(f16_reference(uint16_t(mag + 1)));
    const double down = mag == 0 ? -std::fabs(f16_reference(1)) : std::fabs(f16_reference(uint16_t(mag - 1)));
    const double a = std::fabs(dx), g = std::fabs(got);
    ASSERT_LE(std::fabs(a - g), std::fabs(a - up)) << x;
    ASSERT_LE(std::fabs(a - g), std::fabs(a - down)) << x;
    if (std::fabs(a - g) == std::fabs(a - up) || std::fabs(a - g) == std::fabs(a - down)) {
      ASSERT_EQ(mag & 1, 0) << "tie not to even for " << x;
    }
  }
  EXPECT_EQ(f32_to_f16(65519.996f), 0x7bff);
  EXPECT_EQ(f32_to_f16(65520.0f), 0x7c00);
  EXPECT_EQ(f32_to_f16(std::ldexp(1.0f, -25)), 0x0000);  // tie between 0 and the smallest subnormal
  EXPECT_EQ(f32_to_f16(std::nextafter(std::ldexp(1.0f, -25), 1.0f)), 0x0001);
  EXPECT_EQ(f32_to_f16(-std::numeric_limits<float>::infinity()), 0xfc00);
}

fs::path temp_dir(const std::string& name) {
  fs::path p = fs::temp_directory_path() / ("seek-rtreview-" + name + "-" + std::to_string(::getpid()));
  fs::remove_all(p);
  return p;
}

std::vector<float> logits(Transformer<float>& m, const test::Batch& b, int64_t T) {
  std::vector<float> out(size_t(T * m.config().vocab_size));
  m.forward_logits(b.tokens.data(), 1, T, out.data());
  return out;
}

TEST(RoundTripReview, ConfigJsonRoundTripsEveryKey) {
  for (const char* name : {"tiny-v3", "tiny-v2lite", "tiny-v2"}) {
    ModelConfig c = test::shipped_config(name);
    c.tie_word_embeddings = true;
    c.aux_loss_alpha = 0.0123456789;
    c.seq_aux = false;
    c.initializer_range = 0.017;
    c.rms_norm_eps = 1e-5;
    c.rope_theta = 12345.678;
    c.max_position_embeddings = 77;
    const ModelConfig back = ModelConfig::from_json(c.to_json(), name);
    EXPECT_EQ(back.to_json(), c.to_json()) << name;
    EXPECT_EQ(back.tie_word_embeddings, true);
    EXPECT_EQ(back.q_lora_rank, c.q_lora_rank);
    EXPECT_EQ(back.num_nextn_predict_layers, c.num_nextn_predict_layers);
    EXPECT_EQ(back.topk_method, c.topk_method);
    EXPECT_EQ(back.scoring_func, c.scoring_func);
    EXPECT_EQ(back.rope.yarn, c.rope.yarn);
    EXPECT_EQ(back.rope.factor, c.rope.factor);
    EXPECT_EQ(back.rope.mscale_all_dim, c.rope.mscale_all_dim);
    EXPECT_EQ(back.rope.original_max_pos, c.rope.original_max_pos);
    EXPECT_EQ(back.softmax_scale(), c.softmax_scale());
    EXPECT_EQ(back.aux_loss_alpha, c.aux_loss_alpha);
    EXPECT_EQ(back.rope.theta, c.rope_theta);  // derived from rope_theta on load
    EXPECT_EQ(back.rope.theta, c.rope_theta);  // derived from rope_theta on load
    EXPECT_EQ(back.bos_token_id, c.bos_token_id);
    EXPECT_EQ(back.eos_token_id, c.eos_token_id);
  }
}

void expect_same_params(const Transformer<float>& a, const Transformer<float>& b) {
  ASSERT_EQ(a.params().value.size(), b.params().value.size());
  for (size_t i = 0; i < a.params().value.size(); ++i)
    ASSERT_EQ(bits(a.params().value[i]), bits(b.params().value[i])) << i;
}

TEST(RoundTripReview, F32SaveLoadGivesBitIdenticalLogits) {
  for (const char* name : {"tiny-v3", "tiny-v2lite"}) {
    Transformer<float> m(test::shipped_config(name));
    m.init_weights(21);
    test::randomise_router_bias(m, 22);
    const auto dir = temp_dir(std::string("f32-") + name);
    save_model_dir(m, dir);
    auto loaded = load_model_dir<float>(dir);
    EXPECT_EQ(loaded->config().to_json(), m.config().to_json());
    expect_same_params(m, *loaded);
    const auto batch = test::random_batch(m.config(), 1, 7, 3);
    EXPECT_EQ(logits(m, batch, 7), logits(*loaded, batch, 7)) << name;
    fs::remove_all(dir);
  }
}

TEST(RoundTripReview, Bf16SaveKeepsRouterBiasExactAndRoundsTheRest) {
  Transformer<float> m(test::shipped_config("tiny-v3"));
  m.init_weights(31);
  test::randomise_router_bias(m, 32);
  const auto dir = temp_dir("bf16-v3");
  SaveOptions o;
  o.dtype = DType::BF16;
  save_model_dir(m, dir, o);
  TensorStore store(dir);
  auto& ps = m.params();
  for (const ParamInfo& info : ps.layout.all()) {
    EXPECT_EQ(store.info(info.name).dtype, info.trainable ? DType::BF16 : DType::F32) << info.name;
    if (info.trainable) {
      float* v = ps.value.data() + info.offset;
      for (int64_t i = 0; i < info.numel; ++i) v[i] = bf16_to_f32(f32_to_bf16(v[i]));
    }
  }
  auto loaded = load_model_dir<float>(dir);
  expect_same_params(m, *loaded);
  const auto batch = test::random_batch(m.config(), 1, 7, 4);
  EXPECT_EQ(logits(m, batch, 7), logits(*loaded, batch, 7));
  // Saving the loaded model again reproduces the same bytes.
  const auto dir2 = temp_dir("bf16-v3-again");
  save_model_dir(*loaded, dir2, o);
  TensorStore again(dir2);
  for (const std::string& name : store.names()) {
    const TensorInfo &x = store.info(name), &y = again.info(name);
    ASSERT_EQ(x.nbytes, y.nbytes) << name;
    EXPECT_EQ(std::memcmp(x.data, y.data, x.nbytes), 0) << name;
  }
  fs::remove_all(dir);
  fs::remove_all(dir2);
}

}  // namespace
}  // namespace seek
