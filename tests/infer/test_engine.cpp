// The engine: a sequence decoded inside a batch equals the same sequence decoded alone; G samples of one
// prompt share its prefill and cached prefix and equal separately run samples; a fixed seed repeats; stop
// tokens, stop strings and max_new_tokens end generation; bad requests are clear errors.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <tuple>

#include "core/error.hpp"
#include "infer/engine.hpp"
#include "infer/npy.hpp"
#include "infer_test_util.hpp"
#include "model/model_dir.hpp"
#include "model/transformer.hpp"
#include "support/error_of.hpp"
#include "tokenizer/bpe_tokenizer.hpp"
#include "tokenizer/byte_level.hpp"
#include "tokenizer/tokenizer.hpp"

namespace seek {
namespace {

using test::fixture_dir;
using test::free_sampling;
using test::random_tokens;

// With the fixture's matrices row-major (their size, by default) and packed for oneDNN. The batch grows past
// the row counts where kernels change strategy (16 rows for the linear layers and the absorbed per-head
// products, 64 for side-by-side experts): 5 single-sample requests and 20 of 4 samples, 85 rows at most. Also
// over bf16 weights, whose products take bf16 inputs on every path (infer/linear.hpp), so that the result of
// a row does not depend on how many rows share a product.
TEST(Engine, SequenceInBatchEqualsAlone) {
  for (auto [pack, format] :
       {std::pair{PackPolicy::Large, WeightFormat::F32}, std::pair{PackPolicy::All, WeightFormat::F32},
        std::pair{PackPolicy::Large, WeightFormat::BF16}}) {
    SCOPED_TRACE(format == WeightFormat::BF16 ? "bf16 weights"
                 : pack == PackPolicy::All    ? "packed"
                                              : "row-major");
    auto model = test::load_fixture("tiny-v3", pack, format);
    const int64_t V = model->config().vocab_size;
    // Different prompt lengths, so the batch mixes prefill chunks and decode steps at different positions.
    std::vector<GenRequest> reqs;
    for (int i = 0; i < 5; ++i)
      reqs.push_back({random_tokens(3 + 4 * i, V, 100 + i), free_sampling(7 + i, 12), 1});
    for (int i = 0; i < 20; ++i)
      reqs.push_back({random_tokens(2 + i % 5, V, 200 + i), free_sampling(30 + i, 10), 4});
    EngineOptions opt;
    opt.prefill_chunk = 8;  // prompts are prefilled over several steps while others decode
    opt.block_tokens = 4;
    opt.max_batch = 96;
    Engine batched(*model, nullptr, opt);
    for (auto& r : reqs) batched.submit(r);
    batched.run();
    for (size_t i = 0; i < reqs.size(); ++i) {
      Engine alone(*model, nullptr, opt);
      alone.submit(reqs[i]);
      alone.run();
      for (int s = 0; s < reqs[i].n; ++s) {
        const Completion& a = alone.completions(0)[size_t(s)];
        const Completion& b = batched.completions(int(i))[size_t(s)];
        EXPECT_EQ(a.tokens, b.tokens) << "request " << i << " sample " << s;
        ASSERT_EQ(a.logprobs.size(), b.logprobs.size());
        for (size_t t = 0; t < a.logprobs.size(); ++t) EXPECT_NEAR(a.logprobs[t], b.logprobs[t], 1e-4);
      }
    }
  }
}

TEST(Engine, SamplesSharePrefillAndPrefix) {
  auto model = InferModel::load(fixture_dir("tiny-v2lite"));
  const int64_t V = model->config().vocab_size;
  GenRequest g{random_tokens(21, V, 5), free_sampling(99, 6), 4};
  EngineOptions opt;
  opt.block_tokens = 8;
  Engine shared(*model, nullptr, opt);
  shared.submit(g);
  shared.step();  // prefill + first tokens
  // 21 prompt tokens = 2 full blocks shared by all 4 samples + 1 partial block; after the first decode step,
  // each sample owns a copy of the partial block: 2 + 4 blocks, not 4 · 3.
  shared.step();
  EXPECT_EQ(shared.cache().blocks_in_use(), 2 + 4);
  shared.run();
  EXPECT_EQ(shared.stats().prompt_tokens, 21);
  // Each sample equals the same sample index run on its own (same seed stream).
  for (int s = 0; s < 4; ++s) {
    const Completion& c = shared.completions(0)[size_t(s)];
    EXPECT_EQ(c.tokens.size(), 6u);
    // Sample s uses Rng stream (seed, s): reproduce it with a request of s + 1 samples and take the last.
    Engine one(*model, nullptr, opt);
    GenRequest gs = g;
    gs.n = s + 1;
    one.submit(gs);
    one.run();
    EXPECT_EQ(one.completions(0)[size_t(s)].tokens, c.tokens) << "sample " << s;
  }
  // Different samples of one prompt differ (with temperature 1 over 64 tokens, 6 tokens each).
  EXPECT_NE(shared.completions(0)[0].tokens, shared.completions(0)[1].tokens);
}

// A tokenizer whose ids leave a gap below the model's vocabulary: the id was sampled and then failed to
// print in the middle of a generation ("token id 297 is not in the vocabulary (size 299)"). Refused when
// the engine is made.
TEST(Engine, ATokenizerWithAGapInItsIdsIsRefused) {
  auto model = InferModel::load(fixture_dir("tiny-v2"));
  nlohmann::json vocab = nlohmann::json::object();
  for (int b = 0; b < 256; ++b) vocab[tok::bytes_to_byte_level(std::string(1, char(b)))] = b < 10 ? b : b + 1;
  const nlohmann::json j = {
      {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", nlohmann::json::array()}}},
      {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}}},
      {"decoder", {{"type", "ByteLevel"}}}};
  const tok::BpeTokenizer gapped(j, nullptr, "t/tokenizer.json");
  EXPECT_EQ(gapped.first_missing_id(), 10);
  const std::string msg = test::error_of([&] { Engine e(*model, &gapped); });
  EXPECT_NE(msg.find("the tokenizer has no token for id 10, below its largest id 256"), std::string::npos)
      << msg;
  vocab[tok::bytes_to_byte_level(std::string(1, char(255)))] = 10;  // no gap: accepted
  const tok::BpeTokenizer whole(
      {{"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", nlohmann::json::array()}}},
       {"pre_tokenizer", j["pre_tokenizer"]},
       {"decoder", j["decoder"]}},
      nullptr, "t/tokenizer.json");
  EXPECT_EQ(whole.first_missing_id(), -1);
  Engine ok(*model, &whole);
}

TEST(Engine, FixedSeedGivesIdenticalSamples) {
  auto model = InferModel::load(fixture_dir("tiny-v2"));
  const int64_t V = model->config().vocab_size;
  auto run = [&](uint64_t seed) {
    Engine e(*model, nullptr);
    SamplingParams p = free_sampling(seed, 10);
    p.top_k = 20;
    p.top_p = 0.9f;
    e.submit({random_tokens(7, V, 1), p, 2});
    e.run();
    return e.completions(0);
  };
  auto a = run(3), b = run(3), c = run(4);
  for (int s = 0; s < 2; ++s) {
    EXPECT_EQ(a[size_t(s)].tokens, b[size_t(s)].tokens);
    EXPECT_EQ(a[size_t(s)].logprobs, b[size_t(s)].logprobs);
  }
  EXPECT_NE(a[0].tokens, c[0].tokens);
}

TEST(Engine, DecodedLogprobsMatchFullForward) {
  // Greedy continuation: the chosen tokens are the argmax of a full forward over prompt + generated.
  auto model = InferModel::load(fixture_dir("tiny-v3"));
  const int64_t V = model->config().vocab_size;
  SamplingParams p = free_sampling(1, 8);
  p.temperature = 0;
  p.top_logprobs = 3;
  Engine e(*model, nullptr);
  auto prompt = random_tokens(5, V, 77);
  e.submit({prompt, p, 1});
  e.run();
  const Completion& c = e.completions(0)[0];
  std::vector<int32_t> all = prompt;
  all.insert(all.end(), c.tokens.begin(), c.tokens.end());
  Runner run(*model, AttnForm::Absorbed);
  auto full = test::prefill_logits(run, all.data(), int64_t(all.size()));
  for (size_t i = 0; i < c.tokens.size(); ++i) {
    const float* row = full.data() + int64_t(prompt.size() - 1 + i) * V;
    EXPECT_EQ(int64_t(std::max_element(row, row + V) - row), c.tokens[i]);
    EXPECT_EQ(c.top[i].size(), 1u);  // greedy: a point mass
  }
}

// Sampled (temperature, top-k, top-p): each returned log-prob is that of the token under log-softmax of
// (full-forward logits / T) restricted to the kept set, computed here from the definitions.
TEST(Engine, SampledLogprobsMatchFullForwardUnderTruncation) {
  auto model = InferModel::load(fixture_dir("tiny-v2"));
  const int64_t V = model->config().vocab_size;
  SamplingParams p = free_sampling(4, 10);
  p.temperature = 0.7f;
  p.top_k = 12;
  p.top_p = 0.8f;
  Engine e(*model, nullptr);
  const auto prompt = random_tokens(6, V, 78);
  e.submit({prompt, p, 3});
  e.run();
  Runner run(*model, AttnForm::Absorbed);
  for (const Completion& c : e.completions(0)) {
    std::vector<int32_t> all = prompt;
    all.insert(all.end(), c.tokens.begin(), c.tokens.end());
    const auto full = test::prefill_logits(run, all.data(), int64_t(all.size()));
    for (size_t i = 0; i < c.tokens.size(); ++i) {
      const float* row = full.data() + int64_t(prompt.size() - 1 + i) * V;
      std::vector<double> lp(static_cast<size_t>(V));
      double mx = -1e300, z = 0;
      for (int64_t v = 0; v < V; ++v) mx = std::max(mx, double(row[v]) / p.temperature);
      for (int64_t v = 0; v < V; ++v) z += std::exp(double(row[v]) / p.temperature - mx);
      for (int64_t v = 0; v < V; ++v) lp[size_t(v)] = double(row[v]) / p.temperature - mx - std::log(z);
      std::vector<int32_t> order(static_cast<size_t>(V));
      for (int32_t v = 0; v < V; ++v) order[size_t(v)] = v;
      std::sort(order.begin(), order.end(),
                [&](int32_t a, int32_t b) { return lp[size_t(a)] > lp[size_t(b)]; });
      double topk_mass = 0;
      for (int k = 0; k < p.top_k; ++k) topk_mass += std::exp(lp[size_t(order[size_t(k)])]);
      double kept = 0, cum = 0;
      bool in_kept = false;
      for (int k = 0; k < p.top_k; ++k) {
        const double q = std::exp(lp[size_t(order[size_t(k)])]);
        kept += q;
        cum += q / topk_mass;
        in_kept |= order[size_t(k)] == c.tokens[i];
        if (cum >= double(p.top_p)) break;
      }
      ASSERT_TRUE(in_kept) << "token " << i << " is outside the kept set";
      EXPECT_NEAR(c.logprobs[i], lp[size_t(c.tokens[i])] - std::log(kept), 1e-4) << "token " << i;
    }
  }
}

// The completion of one request, and the text its token events streamed.
struct Streamed {
  Completion c;
  std::string text;
};
Streamed run_streamed(const InferModel& model, const Tokenizer& tok, const GenRequest& req) {
  Engine e(model, &tok);
  Streamed out;
  e.on_token = [&](const TokenEvent& ev) { out.text += ev.text; };
  e.submit(req);
  e.run();
  out.c = e.completions(0)[0];
  return out;
}

TEST(Engine, StopTokensStringsAndLength) {
  auto model = InferModel::load(fixture_dir("tiny-v3"));
  auto tok = make_byte_tokenizer();  // 64-token model: ids < 64 are bytes
  const int64_t V = model->config().vocab_size;
  const std::vector<int32_t> prompt = random_tokens(4, V, 3);
  SamplingParams p = free_sampling(5, 40);
  const Completion c = run_streamed(*model, *tok, {prompt, p, 1}).c;
  ASSERT_EQ(c.tokens.size(), 40u);
  EXPECT_EQ(c.finish, FinishReason::Length);
  // Stop at the first occurrence of the token generated at index 5.
  SamplingParams q = p;
  q.stop_tokens = {c.tokens[5]};
  const Streamed s2 = run_streamed(*model, *tok, {prompt, q, 1});
  EXPECT_EQ(s2.c.finish, FinishReason::StopToken);
  EXPECT_EQ(s2.c.tokens.back(), c.tokens[5]);
  EXPECT_LE(s2.c.tokens.size(), 6u);
  EXPECT_EQ(s2.text, s2.c.text);
  // Stop string made of tokens 3..4: text ends before it.
  SamplingParams r = p;
  const std::string stop = tok->token_bytes(c.tokens[3]) + tok->token_bytes(c.tokens[4]);
  r.stop = {stop};
  const Streamed s3 = run_streamed(*model, *tok, {prompt, r, 1});
  EXPECT_EQ(s3.c.finish, FinishReason::StopString);
  EXPECT_EQ(s3.c.text, c.text.substr(0, c.text.find(stop)));  // the same tokens, cut before the stop string
  EXPECT_EQ(s3.text, s3.c.text);
  EXPECT_LE(s3.c.tokens.size(), 5u);
  // A stop string completed by the very first token: nothing is printed.
  SamplingParams first = p;
  first.stop = {tok->token_bytes(c.tokens[0])};
  const Streamed s4 = run_streamed(*model, *tok, {prompt, first, 1});
  EXPECT_EQ(s4.c.finish, FinishReason::StopString);
  EXPECT_EQ(s4.c.tokens.size(), 1u);
  EXPECT_EQ(s4.c.text, "");
  EXPECT_EQ(s4.text, "");
}

// A sample ends at the config's eos_token_id (any id of its list) or at the tokenizer's end-of-sequence
// token, whichever comes first: the same tokens as with ignore_eos, cut after the first of them.
TEST(Engine, EndsAtTheConfigsOrTheTokenizersEos) {
  ModelConfig cfg = ModelConfig::load(std::string(SEEK_SOURCE_DIR) + "/configs/tiny-v3.json");
  auto tok = make_byte_tokenizer();
  cfg.vocab_size = int64_t(tok->vocab_size());
  cfg.eos_token_id = 5;
  cfg.extra_eos_token_ids = {6};  // config.json's "eos_token_id": [5, 6]
  cfg.max_position_embeddings = 512;
  ASSERT_NE(tok->eos_id(), 5);
  ASSERT_NE(tok->eos_id(), 6);
  auto model = InferModel::random(cfg, 3, WeightFormat::F32, 0.5);
  SamplingParams p = free_sampling(11, 200);
  Engine free_run(*model, tok.get());
  free_run.submit({{1, 2, 3}, p, 16});
  free_run.run();
  p.ignore_eos = false;
  Engine e(*model, tok.get());
  e.submit({{1, 2, 3}, p, 16});
  e.run();
  std::set<int32_t> ended_by;
  for (int s = 0; s < 16; ++s) {
    const std::vector<int32_t>& all = free_run.completions(0)[size_t(s)].tokens;
    const Completion& c = e.completions(0)[size_t(s)];
    const auto first = std::find_if(all.begin(), all.end(),
                                    [&](int32_t t) { return t == 5 || t == 6 || t == tok->eos_id(); });
    if (first == all.end()) {
      EXPECT_EQ(c.finish, FinishReason::Length) << "sample " << s;
      continue;
    }
    EXPECT_EQ(c.finish, FinishReason::Eos) << "sample " << s;
    EXPECT_EQ(c.tokens, std::vector<int32_t>(all.begin(), first + 1)) << "sample " << s;
    ended_by.insert(*first);
  }
  EXPECT_EQ(ended_by.size(), 3u) << "every id should end some sample; pick another seed";
}

TEST(Engine, ContinuousBatchingAdmitsWhenSlotsFree) {
  auto model = InferModel::load(fixture_dir("tiny-v2lite"));
  const int64_t V = model->config().vocab_size;
  EngineOptions opt;
  opt.max_batch = 2;
  Engine e(*model, nullptr, opt);
  for (int i = 0; i < 5; ++i)
    e.submit({random_tokens(4, V, uint64_t(i)), free_sampling(uint64_t(i), 3 + i), 1});
  e.run();
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(e.completions(i)[0].tokens.size(), size_t(3 + i));
    // Cache blocks freed by finished sequences and reused by later ones hold nothing of the old ones.
    Engine alone(*model, nullptr, opt);
    alone.submit({random_tokens(4, V, uint64_t(i)), free_sampling(uint64_t(i), 3 + i), 1});
    alone.run();
    EXPECT_EQ(alone.completions(0)[0].tokens, e.completions(i)[0].tokens) << "request " << i;
  }
  EXPECT_EQ(e.cache().blocks_in_use(), 0);
}

// The KV cache budget: requests wait for room instead of overrunning it, results do not change, and a
// request that could never fit is refused up front.
TEST(Engine, CacheBudgetBoundsTheCacheAndDelaysRequests) {
  auto model = InferModel::load(fixture_dir("tiny-v2lite"));
  const int64_t V = model->config().vocab_size;
  std::vector<GenRequest> reqs;
  for (int i = 0; i < 6; ++i)
    reqs.push_back({random_tokens(5 + i, V, uint64_t(40 + i)), free_sampling(uint64_t(i), 20), 2});
  EngineOptions opt;
  opt.block_tokens = 4;
  Engine free_run(*model, nullptr, opt);
  for (auto& r : reqs) free_run.submit(r);
  free_run.run();
  const int64_t per_token = free_run.stats().cache_bytes_per_token;
  // Room for about three requests at a time (each: up to 2 × 30 tokens and the prompt's blocks).
  opt.max_cache_bytes = 2 * (8 + 2 * 8) * 4 * per_token;
  ASSERT_GT(free_run.stats().peak_cache_bytes, opt.max_cache_bytes);  // else this would test nothing
  Engine budgeted(*model, nullptr, opt);
  EXPECT_EQ(budgeted.stats().cache_budget_bytes, opt.max_cache_bytes);
  for (auto& r : reqs) budgeted.submit(r);
  budgeted.run();
  EXPECT_LE(budgeted.stats().peak_cache_bytes, opt.max_cache_bytes);
  EXPECT_GT(budgeted.stats().steps, free_run.stats().steps);
  // Held back by the budget while the batch had room: counted, and said (which rows decode together, and
  // the last bits of their logits, then depend on the budget).
  EXPECT_EQ(free_run.stats().steps_held_by_budget, 0);
  EXPECT_EQ(cache_budget_note(free_run.stats(), opt.max_batch), "");
  EXPECT_GT(budgeted.stats().steps_held_by_budget, 0);
  EXPECT_NE(cache_budget_note(budgeted.stats(), opt.max_batch)
                .find("runs are bit-identical only under the same budget"),
            std::string::npos);
  // A full batch holds requests back by itself: not the budget's doing.
  EngineOptions one_at_a_time = opt;
  one_at_a_time.max_batch = 2;
  Engine batched(*model, nullptr, one_at_a_time);
  for (auto& r : reqs) batched.submit(r);
  batched.run();
  EXPECT_EQ(batched.stats().steps_held_by_budget, 0);
  for (int i = 0; i < int(reqs.size()); ++i)
    for (int s = 0; s < 2; ++s)
      EXPECT_EQ(budgeted.completions(i)[size_t(s)].tokens, free_run.completions(i)[size_t(s)].tokens);
  GenRequest huge = reqs[0];
  huge.n = 20;
  try {
    budgeted.submit(huge);
    ADD_FAILURE() << "a request larger than the whole budget was accepted";
  } catch (const Error& err) {
    EXPECT_NE(std::string(err.what()).find("more than the budget"), std::string::npos) << err.what();
    // What would make it fit, as docs/inference.md lists it.
    for (const char* way : {"fewer samples or new tokens", "--ctx", "--kv-cache", "--cache-mem"})
      EXPECT_NE(std::string(err.what()).find(way), std::string::npos) << way << " | " << err.what();
  }
}

// A request reserves the blocks its samples can reach and no more: the prompt's full blocks, shared, and per
// sample the blocks past them (the last sample takes over the prompt's partly filled block). It reserved one
// block too many (the partly filled one counted for the prompt and for every sample), so a budget that fits
// was refused. Each request here reaches its reservation exactly, and runs within it.
TEST(Engine, CacheReservationIsWhatTheSamplesReach) {
  auto model = InferModel::load(fixture_dir("tiny-v2lite"));
  const int64_t V = model->config().vocab_size;
  EngineOptions opt;
  opt.block_tokens = 4;
  const int64_t per_token = Engine(*model, nullptr, opt).cache().bytes_per_token();
  const int64_t block = opt.block_tokens * per_token;
  struct Case {
    int64_t prompt;
    int n, max_new;
    int64_t blocks;
  };
  // 5 tokens: 1 full block + 1 partial; 11 tokens per sample reach 3 blocks, 2 past the full one each.
  // 2 tokens: no full block; 12 tokens reach 3. 8 tokens: 2 full blocks, 12 tokens reach 3, 1 past them each.
  // No new tokens: the prompt's 2 blocks (no sample writes, so none copies the partial one). A sample's last
  // token is never run: 4 + 5 tokens write 8 rows, 2 blocks (it reserved 3, and refused a budget of 2).
  // One new token is drawn from the prompt's logits and never run: the prompt's 2 blocks (it reserved 1 +
  // 3 × 1, charging each sample a copy of the partial block it never makes).
  for (const Case c : {Case{5, 3, 6, 1 + 3 * 2}, Case{2, 1, 10, 3}, Case{8, 4, 4, 2 + 4 * 1},
                       Case{5, 3, 0, 2}, Case{4, 1, 5, 2}, Case{4, 2, 5, 1 + 2 * 1}, Case{5, 3, 1, 2}}) {
    const GenRequest req{random_tokens(c.prompt, V, 7), free_sampling(3, c.max_new), c.n};
    opt.max_cache_bytes = c.blocks * block;
    Engine fits(*model, nullptr, opt);
    fits.submit(req);
    fits.run();
    EXPECT_EQ(fits.stats().peak_cache_bytes, opt.max_cache_bytes) << c.prompt << " " << c.n;
    opt.max_cache_bytes -= 1;
    Engine short_by_one(*model, nullptr, opt);
    const std::string e = test::error_of([&] { short_by_one.submit(req); });
    EXPECT_NE(
        e.find(fmt::format("held in blocks of 4 tokens at {} bytes per token: {} blocks), more than the "
                           "budget",
                           per_token, c.blocks)),
        std::string::npos)
        << e;
  }
  // A prompt one token short of the context draws one token whatever max_new_tokens says: its blocks too.
  opt.max_context = 6;
  opt.max_cache_bytes = 2 * block;
  Engine at_limit(*model, nullptr, opt);
  at_limit.submit(GenRequest{random_tokens(5, V, 7), free_sampling(3, 100), 3});
  at_limit.run();
  EXPECT_EQ(at_limit.stats().peak_cache_bytes, 2 * block);
}

// A model whose logits are NaN: the sampler's error leaves the parallel sampling loop as an exception, not a
// crash and not a made-up token, and the engine then refuses more work.
TEST(EngineErrors, NonFiniteLogitsStopTheEngineWithAClearError) {
  Transformer<float> m(ModelConfig::load(std::string(SEEK_SOURCE_DIR) + "/configs/tiny-v2lite.json"));
  m.init_weights(1);
  const int norm = m.params().layout.find("model.norm.weight");
  ASSERT_GE(norm, 0);
  m.params().p(norm)[0] = std::nanf("");
  // From memory: a model folder holding a NaN is refused as it loads.
  auto model = InferModel::from_model(m);
  Engine e(*model, nullptr);
  for (int i = 0; i < 3; ++i)
    e.submit({random_tokens(4, model->config().vocab_size, uint64_t(i)), free_sampling(1, 5), 2});
  try {
    e.run();
    ADD_FAILURE() << "NaN logits were sampled";
  } catch (const Error& err) {
    EXPECT_NE(std::string(err.what()).find("non-finite logit"), std::string::npos) << err.what();
  }
  EXPECT_THROW(e.step(), Error);
}

// An error inside step() (here a callback that throws) leaves the engine refusing work, naming the error.
TEST(EngineErrors, AnErrorInAStepStopsTheEngine) {
  auto model = InferModel::load(fixture_dir("tiny-v2lite"));
  const int64_t V = model->config().vocab_size;
  Engine e(*model, nullptr);
  e.submit({random_tokens(4, V, 1), free_sampling(1, 5), 1});
  e.on_token = [](const TokenEvent&) { throw Error("the listener broke"); };
  EXPECT_THROW(e.step(), Error);
  for (auto fn : {std::function<void()>([&] { e.step(); }), std::function<void()>([&] {
                    e.submit({random_tokens(4, V, 2), free_sampling(1, 5), 1});
                  })}) {
    try {
      fn();
      ADD_FAILURE() << "the engine took more work after an error";
    } catch (const Error& err) {
      EXPECT_NE(std::string(err.what()).find("the listener broke"), std::string::npos) << err.what();
    }
  }
}

// The context bounds the whole sequence: a prompt one token short of it gets exactly one new token. Where
// that token also reaches max_new_tokens it finishes as "length": the user's limit, not the model's (seek
// eval notes only completions the context cut short of max_new_tokens).
TEST(Engine, TheContextHoldsPromptAndNewTokens) {
  auto model = InferModel::load(fixture_dir("tiny-v3"));
  EngineOptions opt;
  opt.max_context = 12;
  Engine e(*model, nullptr, opt);
  for (const auto& [max_new, finish] :
       {std::pair{50, FinishReason::Context}, std::pair{1, FinishReason::Length}}) {
    SamplingParams p = free_sampling(1, max_new);
    p.ignore_eos = true;
    const int id = e.submit({random_tokens(11, model->config().vocab_size, 4), p, 3});
    e.run();
    for (const Completion& c : e.completions(id)) {
      EXPECT_EQ(c.tokens.size(), 1u);
      EXPECT_EQ(c.finish, finish) << max_new;
    }
  }
}

// max_new_tokens 0: every sample still ends with an event (no token), so a consumer counting them finishes.
TEST(Engine, ZeroNewTokensStillEndEachSampleWithAnEvent) {
  auto model = InferModel::load(fixture_dir("tiny-v3"));
  Engine e(*model, nullptr);
  std::vector<TokenEvent> events;
  e.on_token = [&](const TokenEvent& ev) { events.push_back(ev); };
  const int id = e.submit({random_tokens(5, model->config().vocab_size, 2), free_sampling(1, 0), 3});
  e.run();
  ASSERT_EQ(events.size(), 3u);
  for (int s = 0; s < 3; ++s) {
    EXPECT_EQ(events[size_t(s)].sample, s);
    EXPECT_EQ(events[size_t(s)].token.token, -1);
    EXPECT_TRUE(events[size_t(s)].finished);
    EXPECT_EQ(events[size_t(s)].finish, FinishReason::Length);
    EXPECT_TRUE(e.completions(id)[size_t(s)].tokens.empty());
  }
}

// A sample's end used to look at every sample of its request, so n samples took time in n²: 160,000 of them
// took a minute and a million looked like a hang (`seek generate --samples`). Now each end is counted.
TEST(Engine, ManySamplesOfOneRequestEndInTimeLinearInTheirNumber) {
  auto model = InferModel::load(fixture_dir("tiny-v3"));
  Engine e(*model, nullptr);
  int64_t ended = 0;
  e.on_token = [&](const TokenEvent& ev) { ended += ev.finished; };
  const int n = 300000;
  const auto t0 = std::chrono::steady_clock::now();
  const int id = e.submit({random_tokens(5, model->config().vocab_size, 2), free_sampling(1, 1), n});
  e.run();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(ended, n);
  EXPECT_EQ(e.completions(id).size(), size_t(n));
  // About 1 s; the quadratic version took 28 s for 200,000 samples on the machine this was written on.
  EXPECT_LT(seconds, 15.0);
}

TEST(EngineErrors, BadInputIsAClearError) {
  auto model = InferModel::load(fixture_dir("tiny-v3"));
  Engine e(*model, nullptr);
  const int64_t ctx = model->config().max_position_embeddings;
  auto expect_error = [](auto fn, const std::string& needle) {
    try {
      fn();
      ADD_FAILURE() << "no error; wanted one mentioning '" << needle << "'";
    } catch (const Error& err) {
      EXPECT_NE(std::string(err.what()).find(needle), std::string::npos) << err.what();
    }
  };
  for (int64_t len : {ctx + 1, ctx})  // the context holds prompt and new tokens: a full one leaves no room
    expect_error(
        [&] {
          e.submit({std::vector<int32_t>(size_t(len), 1), free_sampling(1, 1), 1});
        },
        "no room to generate");
  expect_error([&] { e.submit({{1, 2, 999}, free_sampling(1, 1), 1}); }, "unknown token id 999");
  expect_error([&] { e.submit({{}, free_sampling(1, 1), 1}); }, "empty");
  SamplingParams with_stop = free_sampling(1, 1);
  with_stop.stop = {"x"};
  expect_error([&] { e.submit({{1, 2}, with_stop, 1}); }, "stop strings need a tokenizer");
  // Model folders: no config.json; weights that do not match the config.
  namespace fs = std::filesystem;
  fs::path tmp = fs::temp_directory_path() / ("seek_infer_test_" + std::to_string(::getpid()));
  fs::create_directories(tmp);
  expect_error([&] { InferModel::load(tmp); }, "no config.json");
  fs::copy_file(fixture_dir("tiny-v3") + "/model.safetensors", tmp / "model.safetensors");
  std::ifstream in(fixture_dir("tiny-v3") + "/config.json");
  auto cfg = nlohmann::json::parse(in);
  cfg["hidden_size"] = 40;
  std::ofstream(tmp / "config.json") << cfg.dump(2);
  expect_error([&] { InferModel::load(tmp); }, "expected shape [64, 40], got [64, 32]");
  cfg["hidden_size"] = 32;
  cfg["num_hidden_layers"] = 5;
  std::ofstream(tmp / "config.json") << cfg.dump(2);
  expect_error([&] { InferModel::load(tmp); }, "num_hidden_layers is 5 but");
  // Sizes off by orders of magnitude are refused from the headers, before anything is allocated (these
  // would otherwise ask for terabytes, or build a layout of thousands of layers).
  for (const auto& [key, value, needle] :
       {std::tuple{"vocab_size", int64_t(1) << 40, "expected shape [1099511627776, 32], got [64, 32]"},
        std::tuple{"hidden_size", int64_t(1) << 40, "expected shape [64, 1099511627776], got [64, 32]"},
        std::tuple{"num_hidden_layers", int64_t(4000), "num_hidden_layers is 4000 but"},
        std::tuple{"n_routed_experts", int64_t(1) << 16, "n_routed_experts is 65536 but"}}) {
    auto big = cfg;
    big["num_hidden_layers"] = 3;
    big[key] = value;
    std::ofstream(tmp / "config.json") << big.dump(2);
    expect_error([&] { InferModel::load(tmp); }, needle);
  }
  // Fewer layers than the weights: layer 2 has no eh_proj, so it is not taken for the MTP layer.
  cfg["num_hidden_layers"] = 2;
  std::ofstream(tmp / "config.json") << cfg.dump(2);
  expect_error([&] { InferModel::load(tmp); }, "does not describe, e.g. \"model.layers.2.");
  cfg["num_hidden_layers"] = 3;
  cfg["n_shared_experts"] = 0;
  std::ofstream(tmp / "config.json") << cfg.dump(2);
  expect_error([&] { InferModel::load(tmp); }, "shared_experts");
  // A weight stored as integers would be read by value: refused by its dtype.
  cfg["n_shared_experts"] = 1;
  std::ofstream(tmp / "config.json") << cfg.dump(2);
  {
    std::ifstream f(tmp / "model.safetensors", std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(f)), {});
    const size_t at = bytes.find("\"F32\"");  // in the header: same size, so the offsets stay valid
    ASSERT_NE(at, std::string::npos);
    bytes.replace(at, 5, "\"I32\"");
    std::ofstream(tmp / "model.safetensors", std::ios::binary | std::ios::trunc) << bytes;
  }
  expect_error([&] { InferModel::load(tmp); }, "is I32; weights must be F32, BF16, F16, F64 or F8_E4M3");
  fs::remove_all(tmp);
}

TEST(Npy, RoundTrip) {
  namespace fs = std::filesystem;
  fs::path p = fs::temp_directory_path() / ("seek_npy_" + std::to_string(::getpid()) + ".npy");
  std::vector<float> v = {1.5f, -2.0f, 3.25f, 0.0f, 7.0f, 8.0f};
  write_npy(p, v.data(), {2, 3});
  std::vector<int64_t> shape;
  EXPECT_EQ(read_npy(p, &shape), v);
  EXPECT_EQ(shape, (std::vector<int64_t>{2, 3}));
  std::ifstream f(p, std::ios::binary);
  std::string all((std::istreambuf_iterator<char>(f)), {});
  EXPECT_EQ((all.size() - v.size() * 4) % 64, 0u);
  fs::remove(p);
}

// write_npy goes through the atomic writer: a FIFO at the path is refused, not replaced by a file; read_npy
// says why it cannot read (not a bare "cannot open", nor an ifstream exception on a folder).
TEST(Npy, ErrorsNameTheProblem) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("seek_npy_err_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  auto error_of = [](auto fn) {
    try {
      fn();
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  const fs::path fifo = dir / "fifo.npy";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0644), 0);
  const float v[2] = {1, 2};
  std::string m = error_of([&] { write_npy(fifo, v, {2}); });
  EXPECT_NE(m.find("it is a named pipe (FIFO), not a regular file"), std::string::npos) << m;
  EXPECT_TRUE(fs::is_fifo(fs::symlink_status(fifo)));
  std::vector<int64_t> shape;
  m = error_of([&] { read_npy(dir / "missing.npy", &shape); });
  EXPECT_NE(m.find("missing.npy: No such file or directory"), std::string::npos) << m;
  m = error_of([&] { read_npy(dir, &shape); });
  EXPECT_NE(m.find("is a folder, not a file"), std::string::npos) << m;
  std::ofstream(dir / "short.npy", std::ios::binary) << std::string("\x93NUMPY\x01\x00", 8);
  m = error_of([&] { read_npy(dir / "short.npy", &shape); });
  EXPECT_NE(m.find("is not a version 1 .npy file"), std::string::npos) << m;
  fs::remove_all(dir);
}

}  // namespace
}  // namespace seek
