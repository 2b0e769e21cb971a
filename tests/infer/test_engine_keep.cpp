// A kept sequence (EngineOptions::keep_last_sequence, what `seek chat` runs on): the next prompt that starts
// with its tokens shares its cache rows instead of prefilling them, and the completion equals one from a
// fresh engine; its blocks are the only ones left between requests and give their room up under a tight
// budget. Cancel ends a request in either phase, keeping what it generated, and leaks no block.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <tuple>
#include <vector>

#include "core/error.hpp"
#include "core/rng.hpp"
#include "infer/engine.hpp"
#include "infer_test_util.hpp"

namespace seek {
namespace {

using test::blocks_for;
using test::fixture_dir;
using test::free_sampling;
using test::random_tokens;

TEST(EngineKeep, NextPromptSharesTheKeptRows) {
  // Both attention forms (the naive cache holds per-head keys and values), and a bf16 cache.
  for (auto [name, form, cache] : {std::tuple{"tiny-v3", AttnForm::Absorbed, CacheType::F32},
                                   std::tuple{"tiny-v2lite", AttnForm::Absorbed, CacheType::F32},
                                   std::tuple{"tiny-v2lite", AttnForm::Naive, CacheType::F32},
                                   std::tuple{"tiny-v3", AttnForm::Absorbed, CacheType::BF16}}) {
    SCOPED_TRACE(fmt::format("{} {} {}", name, form == AttnForm::Naive ? "naive" : "absorbed",
                             cache_type_name(cache)));
    auto model = InferModel::load(fixture_dir(name));
    const int64_t V = model->config().vocab_size;
    EngineOptions opt;
    opt.block_tokens = 8;
    opt.form = form;
    opt.cache_type = cache;
    opt.keep_last_sequence = true;
    Engine chat(*model, nullptr, opt);
    const std::vector<int32_t> first = random_tokens(13, V, 1);
    const int a = chat.submit({first, free_sampling(5, 6), 1});
    chat.run();
    // 13 prompt rows and 5 of the 6 new tokens (the last was drawn, never run) stay in the cache.
    EXPECT_EQ(chat.cache().blocks_in_use(), blocks_for(13 + 5, 8));
    // The next turn: the whole first exchange, then new tokens.
    std::vector<int32_t> second = first;
    for (int32_t t : chat.completions(a)[0].tokens) second.push_back(t);
    for (int32_t t : random_tokens(7, V, 2)) second.push_back(t);
    const int64_t first_peak = chat.stats().peak_cache_bytes;
    chat.reset_stats();
    // A turn's peak starts from what the cache holds now, not from the peak of the turns before.
    EXPECT_EQ(chat.stats().peak_cache_bytes, chat.cache().bytes_in_use());
    EXPECT_EQ(chat.stats().generated_tokens, 0);
    const int b = chat.submit({second, free_sampling(6, 5), 1});
    chat.run();
    EXPECT_EQ(chat.stats().reused_prompt_tokens, 13 + 5);
    EXPECT_GT(chat.stats().peak_cache_bytes, first_peak);
    EXPECT_EQ(chat.stats().prompt_tokens, int64_t(second.size()) - (13 + 5));
    Engine fresh(*model, nullptr, opt);
    fresh.submit({second, free_sampling(6, 5), 1});
    fresh.run();
    const Completion &got = chat.completions(b)[0], &want = fresh.completions(0)[0];
    EXPECT_EQ(got.tokens, want.tokens);
    ASSERT_EQ(got.logprobs.size(), want.logprobs.size());
    for (size_t t = 0; t < got.logprobs.size(); ++t) EXPECT_NEAR(got.logprobs[t], want.logprobs[t], 1e-4);

    // A prompt that leaves the kept tokens early shares only the rows before the difference, and one that
    // is the kept tokens exactly still runs its last token (for the logits the sample starts from).
    std::vector<int32_t> diverged = second;
    diverged[4] = (diverged[4] + 1) % int32_t(V);
    chat.reset_stats();
    chat.submit({diverged, free_sampling(7, 2), 1});
    chat.run();
    EXPECT_EQ(chat.stats().reused_prompt_tokens, 4);
    const std::vector<int32_t> again = diverged;  // the kept tokens are `diverged` and its first new token
    chat.reset_stats();
    chat.submit({again, free_sampling(8, 2), 1});
    chat.run();
    EXPECT_EQ(chat.stats().reused_prompt_tokens, int64_t(again.size()) - 1);
    EXPECT_EQ(chat.stats().prompt_tokens, 1);
  }
}

// Without the option nothing stays; with it, only the last sample's blocks, whatever ran before; and a
// request of several samples keeps none.
TEST(EngineKeep, OnlyTheLastSingleSampleIsKept) {
  auto model = InferModel::load(fixture_dir("tiny-v2lite"));
  const int64_t V = model->config().vocab_size;
  for (bool keep : {false, true}) {
    EngineOptions opt;
    opt.block_tokens = 4;
    opt.keep_last_sequence = keep;
    Engine e(*model, nullptr, opt);
    for (int i = 0; i < 3; ++i)
      e.submit({random_tokens(5 + i, V, uint64_t(i)), free_sampling(uint64_t(i), 4), 1});
    e.run();
    EXPECT_EQ(e.cache().blocks_in_use(), keep ? blocks_for(7 + 3, 4) : 0);
    e.submit({random_tokens(9, V, 9), free_sampling(1, 4), 3});
    e.run();
    EXPECT_EQ(e.cache().blocks_in_use(), 0);
    // The peak of the next turn starts from the empty cache.
    EXPECT_GT(e.stats().peak_cache_bytes, 0);
    e.reset_stats();
    EXPECT_EQ(e.stats().peak_cache_bytes, 0);
  }
}

// Under a tight budget a kept sequence gives its room up: A (3 blocks) and B (5) run together in a budget of
// 10 blocks, C (5) waits; when A finishes, its kept 3 blocks would make C wait for B too, so they go, and C
// starts at the same step as in an engine that keeps nothing, with the same results.
TEST(EngineKeep, KeptBlocksGiveWayUnderATightBudget) {
  auto model = InferModel::load(fixture_dir("tiny-v2lite"));
  const int64_t V = model->config().vocab_size;
  EngineOptions opt;
  opt.block_tokens = 4;
  Engine probe(*model, nullptr, opt);
  opt.max_cache_bytes = 10 * 4 * probe.stats().cache_bytes_per_token;
  // Blocks reserved: the prompt's 2, then up to 8 + max_new tokens.
  const std::vector<GenRequest> reqs = {{random_tokens(8, V, 20), free_sampling(0, 4), 1},    // A: 3
                                        {random_tokens(8, V, 21), free_sampling(1, 12), 1},   // B: 5
                                        {random_tokens(8, V, 22), free_sampling(2, 12), 1}};  // C: 5
  Engine plain(*model, nullptr, opt);
  opt.keep_last_sequence = true;
  Engine keeping(*model, nullptr, opt);
  for (const auto& r : reqs) {
    plain.submit(r);
    keeping.submit(r);
  }
  plain.run();
  keeping.run();
  EXPECT_EQ(keeping.stats().steps, plain.stats().steps);
  EXPECT_LE(keeping.stats().peak_cache_bytes, opt.max_cache_bytes);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(keeping.completions(i)[0].tokens, plain.completions(i)[0].tokens);
}

TEST(EngineKeep, CancelEndsARequestInEitherPhase) {
  auto model = InferModel::load(fixture_dir("tiny-v2lite"));
  const int64_t V = model->config().vocab_size;
  for (bool keep : {false, true}) {
    SCOPED_TRACE(keep ? "keeping" : "not keeping");
    EngineOptions opt;
    opt.block_tokens = 4;
    opt.prefill_chunk = 8;
    opt.keep_last_sequence = keep;
    Engine e(*model, nullptr, opt);
    // Decoding: 3 steps give 3 tokens, then cancel.
    const int a = e.submit({random_tokens(6, V, 1), free_sampling(1, 50), 1});
    for (int i = 0; i < 3; ++i) e.step();
    e.cancel(a);
    EXPECT_EQ(e.completions(a)[0].tokens.size(), 3u);
    EXPECT_EQ(e.completions(a)[0].finish, FinishReason::Cancelled);
    EXPECT_EQ(e.cache().blocks_in_use(), keep ? blocks_for(6 + 2, 4) : 0);
    // Prefilling: 20 prompt tokens at 8 a step, cancelled after the first chunk.
    const int b = e.submit({random_tokens(20, V, 2), free_sampling(2, 5), 2});
    e.step();
    e.cancel(b);
    EXPECT_TRUE(e.idle());
    for (const Completion& c : e.completions(b)) {
      EXPECT_TRUE(c.tokens.empty());
      EXPECT_EQ(c.finish, FinishReason::Cancelled);
    }
    EXPECT_EQ(e.cache().blocks_in_use(), 0);  // two samples: nothing to keep
    // Waiting: never admitted.
    const int c = e.submit({random_tokens(5, V, 3), free_sampling(3, 5), 1});
    e.cancel(c);
    EXPECT_FALSE(e.step());
    EXPECT_EQ(e.completions(c)[0].finish, FinishReason::Cancelled);
    // The engine goes on, and a cancelled request may be cancelled again.
    const int d = e.submit({random_tokens(5, V, 4), free_sampling(4, 3), 1});
    e.run();
    e.cancel(d);
    e.cancel(a);
    EXPECT_EQ(e.completions(d)[0].tokens.size(), 3u);
    EXPECT_EQ(e.completions(d)[0].finish, FinishReason::Length);
    EXPECT_THROW(e.cancel(99), Error);
  }
}

}  // namespace
}  // namespace seek
