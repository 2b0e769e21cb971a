// The engine: a sequence decoded inside a batch equals the same sequence decoded alone; G samples of one
// prompt share its prefill and cached prefix and equal separately run samples; a fixed seed repeats; stop
// tokens, stop strings and max_new_tokens end generation; bad requests are clear errors.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/error.hpp"
#include "infer/engine.hpp"
#include "infer/npy.hpp"
#include "infer_test_util.hpp"
#include "model/model_dir.hpp"
#include "model/transformer.hpp"
#include "tokenizer/tokenizer.hpp"

namespace seek {
namespace {

using test::fixture_dir;

std::vector<int32_t> prompt_of(int64_t n, int64_t V, uint64_t seed) {
  Rng rng(seed);
  std::vector<int32_t> p(static_cast<size_t>(n));
  for (auto& t : p) t = int32_t(rng.below(uint64_t(V)));
  return p;
}

SamplingParams sampling(uint64_t seed, int max_new) {
  SamplingParams p;
  p.temperature = 1.0f;
  p.seed = seed;
  p.max_new_tokens = max_new;
  p.ignore_eos = true;
  return p;
}

// With the fixture's matrices row-major (their size, by default) and packed for oneDNN.
TEST(Engine, SequenceInBatchEqualsAlone) {
  for (PackPolicy pack : {PackPolicy::Large, PackPolicy::All}) {
    auto model = test::load_fixture("tiny-v3", pack);
    const int64_t V = model->config().vocab_size;
    // Different prompt lengths, so the batch mixes prefill chunks and decode steps at different positions.
    std::vector<GenRequest> reqs;
    for (int i = 0; i < 5; ++i) reqs.push_back({prompt_of(3 + 4 * i, V, 100 + i), sampling(7 + i, 12), 1});
    for (int top = 0; top < 1; ++top) {
      EngineOptions opt;
      opt.prefill_chunk = 8;  // prompts are prefilled over several steps while others decode
      opt.block_tokens = 4;
      Engine batched(*model, nullptr, opt);
      for (auto& r : reqs) batched.submit(r);
      batched.run();
      for (size_t i = 0; i < reqs.size(); ++i) {
        Engine alone(*model, nullptr, opt);
        alone.submit(reqs[i]);
        alone.run();
        const Completion& a = alone.completions(0)[0];
        const Completion& b = batched.completions(int(i))[0];
        EXPECT_EQ(a.tokens, b.tokens) << "request " << i;
        ASSERT_EQ(a.logprobs.size(), b.logprobs.size());
        for (size_t t = 0; t < a.logprobs.size(); ++t) EXPECT_NEAR(a.logprobs[t], b.logprobs[t], 1e-4);
      }
    }
  }
}

TEST(Engine, SamplesSharePrefillAndPrefix) {
  auto model = InferModel::load(fixture_dir("tiny-v2lite"));
  const int64_t V = model->config().vocab_size;
  GenRequest g{prompt_of(21, V, 5), sampling(99, 6), 4};
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

TEST(Engine, FixedSeedGivesIdenticalSamples) {
  auto model = InferModel::load(fixture_dir("tiny-v2"));
  const int64_t V = model->config().vocab_size;
  auto run = [&](uint64_t seed) {
    Engine e(*model, nullptr);
    SamplingParams p = sampling(seed, 10);
    p.top_k = 20;
    p.top_p = 0.9f;
    e.submit({prompt_of(7, V, 1), p, 2});
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
  SamplingParams p = sampling(1, 8);
  p.temperature = 0;
  p.top_logprobs = 3;
  Engine e(*model, nullptr);
  auto prompt = prompt_of(5, V, 77);
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

TEST(Engine, StopTokensStringsAndLength) {
  auto model = InferModel::load(fixture_dir("tiny-v3"));
  auto tok = make_byte_tokenizer();  // 64-token model: ids < 64 are bytes
  const int64_t V = model->config().vocab_size;
  SamplingParams p = sampling(5, 40);
  Engine e(*model, tok.get());
  e.submit({prompt_of(4, V, 3), p, 1});
  e.run();
  const Completion& c = e.completions(0)[0];
  ASSERT_EQ(c.tokens.size(), 40u);
  EXPECT_EQ(c.finish, FinishReason::Length);
  // Stop at the first occurrence of the token generated at index 5.
  SamplingParams q = p;
  q.stop_tokens = {c.tokens[5]};
  Engine e2(*model, tok.get());
  e2.submit({prompt_of(4, V, 3), q, 1});
  std::string streamed;
  e2.on_token = [&](const TokenEvent& ev) { streamed += ev.text; };
  e2.run();
  const Completion& c2 = e2.completions(0)[0];
  EXPECT_EQ(c2.finish, FinishReason::StopToken);
  EXPECT_EQ(c2.tokens.back(), c.tokens[5]);
  EXPECT_LE(c2.tokens.size(), 6u);
  EXPECT_EQ(streamed, c2.text);
  // Stop string made of tokens 3..4: text ends before it.
  SamplingParams r = p;
  std::string stop = tok->token_bytes(c.tokens[3]) + tok->token_bytes(c.tokens[4]);
  r.stop = {stop};
  Engine e3(*model, tok.get());
  std::string streamed3;
  e3.on_token = [&](const TokenEvent& ev) { streamed3 += ev.text; };
  e3.submit({prompt_of(4, V, 3), r, 1});
  e3.run();
  const Completion& c3 = e3.completions(0)[0];
  EXPECT_EQ(c3.finish, FinishReason::StopString);
  EXPECT_EQ(c3.text.find(stop), std::string::npos);
  EXPECT_EQ(streamed3, c3.text);
  EXPECT_LE(c3.tokens.size(), 5u);
}

TEST(Engine, ContinuousBatchingAdmitsWhenSlotsFree) {
  auto model = InferModel::load(fixture_dir("tiny-v2lite"));
  const int64_t V = model->config().vocab_size;
  EngineOptions opt;
  opt.max_batch = 2;
  Engine e(*model, nullptr, opt);
  for (int i = 0; i < 5; ++i) e.submit({prompt_of(4, V, uint64_t(i)), sampling(uint64_t(i), 3 + i), 1});
  e.run();
  for (int i = 0; i < 5; ++i) EXPECT_EQ(e.completions(i)[0].tokens.size(), size_t(3 + i));
  EXPECT_EQ(e.cache().blocks_in_use(), 0);
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
  expect_error(
      [&] {
        e.submit({std::vector<int32_t>(size_t(ctx + 1), 1), sampling(1, 1), 1});
      },
      "longer than the context");
  expect_error([&] { e.submit({{1, 2, 999}, sampling(1, 1), 1}); }, "unknown token id 999");
  expect_error([&] { e.submit({{}, sampling(1, 1), 1}); }, "empty");
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
  expect_error([&] { InferModel::load(tmp); }, "missing tensor model.layers.4");
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

}  // namespace
}  // namespace seek
