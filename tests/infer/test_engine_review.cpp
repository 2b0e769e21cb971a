// Review tests for the engine's scheduling, the paged KV cache and the sampler: randomised mixes of requests
// (prompt lengths around block and chunk boundaries, several samples, early stops, the context limit) give
// the same samples as each request run alone, every sample ends with exactly one finishing event, and every
// cache block goes back to the pool.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "infer/engine.hpp"
#include "infer_test_util.hpp"
#include "tokenizer/tokenizer.hpp"
#include "tokenizer/utf8.hpp"

namespace seek {
namespace {

std::vector<int32_t> random_prompt(int64_t n, int64_t V, Rng& rng) {
  std::vector<int32_t> p(static_cast<size_t>(n));
  for (auto& t : p) t = int32_t(rng.below(uint64_t(V)));
  return p;
}

GenRequest random_request(int64_t V, int64_t ctx, Rng& rng) {
  GenRequest g;
  const int64_t P = 1 + int64_t(rng.below(uint64_t(std::min<int64_t>(ctx - 1, 20))));
  g.prompt = random_prompt(P, V, rng);
  g.n = 1 + int(rng.below(4));
  SamplingParams& p = g.params;
  p.seed = rng.below(1000);
  p.max_new_tokens = int(rng.below(10));
  p.temperature = rng.below(4) == 0 ? 0.0f : 0.5f + float(rng.uniform());
  if (rng.below(2)) p.top_k = 1 + int(rng.below(20));
  if (rng.below(2)) p.top_p = 0.5f + 0.5f * float(rng.uniform());
  if (rng.below(3) == 0) p.min_p = 0.05f;
  if (rng.below(3) == 0) p.repetition_penalty = 1.3f;
  if (rng.below(3) == 0) p.presence_penalty = 0.5f;
  if (rng.below(3) == 0) p.frequency_penalty = 0.3f;
  if (rng.below(3) == 0) p.stop_tokens = {int32_t(rng.below(uint64_t(V)))};
  p.ignore_eos = rng.below(2) == 0;
  if (rng.below(3) == 0) p.top_logprobs = 1 + int(rng.below(5));
  return g;
}

// Randomised mixes over block sizes, prefill chunks and batch limits: results equal each request run alone,
// each sample gets exactly one finishing event and as many events as tokens, and no cache block is leaked.
void random_mixes(const InferModel& m, AttnForm form, CacheType cache_type, int rounds, uint64_t seed) {
  const InferModel* model = &m;
  const int64_t V = model->config().vocab_size;
  Rng rng(seed);
  for (int round = 0; round < rounds; ++round) {
    EngineOptions opt;
    opt.form = form;
    opt.cache_type = cache_type;
    const int64_t bts[] = {1, 2, 3, 4, 8};
    const int64_t chunks[] = {1, 2, 3, 5, 8, 64};
    const int batches[] = {1, 2, 3, 5, 64};
    opt.block_tokens = bts[rng.below(5)];
    opt.prefill_chunk = chunks[rng.below(6)];
    opt.max_batch = batches[rng.below(5)];
    opt.max_context = rng.below(2) ? 0 : 12 + int64_t(rng.below(10));
    SCOPED_TRACE("round " + std::to_string(round) + " block " + std::to_string(opt.block_tokens) + " chunk " +
                 std::to_string(opt.prefill_chunk) + " batch " + std::to_string(opt.max_batch) + " ctx " +
                 std::to_string(opt.max_context));
    if (rng.below(2)) {
      // A budget of a few requests' worth: they wait for room.
      const int64_t per_token = Engine(*model, nullptr, opt).stats().cache_bytes_per_token;
      opt.max_cache_bytes = per_token * opt.block_tokens * int64_t(30 + rng.below(40));
    }
    Engine e(*model, nullptr, opt);
    Runner run(*model, opt.form, opt.cache_type);
    std::vector<GenRequest> reqs;
    while (reqs.size() < 10) {
      GenRequest g = random_request(V, e.max_context(), rng);
      try {
        Engine(*model, nullptr, opt).submit(g);
      } catch (const Error&) {
        continue;  // larger than the whole budget
      }
      reqs.push_back(g);
    }
    std::map<std::pair<int, int>, int> events, finished;
    e.on_token = [&](const TokenEvent& ev) {
      if (ev.token.token >= 0) ++events[{ev.request, ev.sample}];
      if (ev.finished) ++finished[{ev.request, ev.sample}];
    };
    // Half submitted up front, the rest while the first ones run.
    for (int i = 0; i < 5; ++i) e.submit(reqs[size_t(i)]);
    for (int i = 5; i < 10; ++i) {
      e.step();
      e.submit(reqs[size_t(i)]);
    }
    e.run();
    EXPECT_EQ(e.cache().blocks_in_use(), 0);
    if (opt.max_cache_bytes > 0) {
      EXPECT_LE(e.stats().peak_cache_bytes, opt.max_cache_bytes);
    }
    for (int i = 0; i < 10; ++i) {
      const GenRequest& g = reqs[size_t(i)];
      Engine alone(*model, nullptr, opt);
      alone.submit(g);
      alone.run();
      for (int s = 0; s < g.n; ++s) {
        const Completion& a = alone.completions(0)[size_t(s)];
        const Completion& b = e.completions(i)[size_t(s)];
        EXPECT_EQ(a.tokens, b.tokens) << "request " << i << " sample " << s;
        EXPECT_EQ(a.finish, b.finish) << "request " << i << " sample " << s;
        EXPECT_NE(b.finish, FinishReason::None);
        EXPECT_LE(int64_t(b.tokens.size()), int64_t(g.params.max_new_tokens));
        EXPECT_LE(int64_t(g.prompt.size() + b.tokens.size()), e.max_context());
        EXPECT_EQ(b.logprobs.size(), b.tokens.size());
        EXPECT_EQ((finished[{i, s}]), 1) << "request " << i << " sample " << s;
        EXPECT_EQ((events[{i, s}]), int(b.tokens.size())) << "request " << i << " sample " << s;
        // Each log-prob is that of the token under the sampler's distribution over a full forward of the
        // prompt and the tokens before it (no cache, no forks, no batching).
        if (b.tokens.empty()) continue;
        std::vector<int32_t> all = g.prompt;
        all.insert(all.end(), b.tokens.begin(), b.tokens.end() - 1);
        const auto full = test::prefill_logits(run, all.data(), int64_t(all.size()));
        Sampler sampler;
        Rng unused(0);
        for (size_t t = 0; t < b.tokens.size(); ++t) {
          const std::span<const int32_t> ctx(all.data(), g.prompt.size() + t);
          sampler.sample(full.data() + int64_t(g.prompt.size() - 1 + t) * V, V, g.params, ctx,
                         ctx.subspan(g.prompt.size()), unused);
          const float want = sampler.last_logprobs()[size_t(b.tokens[t])];
          ASSERT_TRUE(std::isfinite(want)) << "request " << i << " sample " << s << " token " << t;
          EXPECT_NEAR(b.logprobs[t], want, 1e-3) << "request " << i << " sample " << s << " token " << t;
        }
      }
    }
  }
}

// Over row-major and packed weights, the naive attention form and an fp8 cache.
TEST(EngineReview, RandomMixesEqualAloneAndFreeEveryBlock) {
  struct Variant {
    const char* fixture;
    PackPolicy pack;
    AttnForm form;
    CacheType cache;
    int rounds;
  };
  for (const Variant& var :
       {Variant{"tiny-v2lite", PackPolicy::Large, AttnForm::Absorbed, CacheType::F32, 40},
        Variant{"tiny-v3", PackPolicy::All, AttnForm::Absorbed, CacheType::F32, 10},
        Variant{"tiny-v2", PackPolicy::Large, AttnForm::Naive, CacheType::BF16, 10},
        Variant{"tiny-v3-fp8", PackPolicy::Large, AttnForm::Absorbed, CacheType::FP8, 10}})
    random_mixes(*test::load_fixture(var.fixture, var.pack), var.form, var.cache, var.rounds,
                 uint64_t(var.rounds) * 31 + uint64_t(var.cache));
}

// Stop strings against a reference computed from a run without them (same seeds, so the same tokens up to the
// stop): the sample ends at the first token whose text completes any stop string, its text is cut before the
// earliest occurrence, and the streamed text equals it, holding back no more than it must. Over a random
// model with the byte tokenizer's 265 tokens, so texts hold multi-byte characters and stray bytes.
TEST(EngineReview, StopStringsMatchAReference) {
  ModelConfig cfg = ModelConfig::load(std::string(SEEK_SOURCE_DIR) + "/configs/tiny-v3.json");
  auto tok = make_byte_tokenizer();
  cfg.vocab_size = int64_t(tok->vocab_size());
  cfg.max_position_embeddings = 256;
  auto model = InferModel::random(cfg, 7, WeightFormat::F32, 0.5);
  Rng rng(99);
  int stopped = 0, ran_out = 0;
  for (int round = 0; round < 40; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    GenRequest g;
    g.prompt = random_prompt(1 + int64_t(rng.below(6)), cfg.vocab_size, rng);
    // The prompt ends in two letters that are also a stop string: text in the prompt never stops a sample.
    const std::string letters = {char('a' + rng.below(3)), char('a' + rng.below(3))};
    for (char ch : letters) g.prompt.push_back(int32_t(ch));
    g.n = 3;
    g.params.seed = uint64_t(round);
    g.params.max_new_tokens = 30;
    g.params.ignore_eos = true;
    g.params.temperature = 0.8f;
    Engine free_run(*model, tok.get());
    free_run.submit(g);
    free_run.run();
    // Stop strings: pieces of the free run's texts (valid UTF-8 only), sometimes one a prefix of another.
    std::vector<std::string> stops = {letters};
    for (int k = 0; k < 3; ++k) {
      const std::string& t = free_run.completions(0)[rng.below(3)].text;
      if (t.empty()) continue;
      const size_t at = rng.below(t.size()), len = 1 + rng.below(std::min<size_t>(6, t.size() - at));
      const std::string s = t.substr(at, len);
      if (tok::utf8_is_valid(s)) stops.push_back(s);
      if (s.size() > 1 && rng.below(2) && tok::utf8_is_valid(s.substr(0, s.size() - 1)))
        stops.push_back(s.substr(0, s.size() - 1) + "\x01");
    }
    g.params.stop = stops;
    Engine e(*model, tok.get());
    std::vector<std::string> streamed(3), raw(3);
    e.on_token = [&](const TokenEvent& ev) {
      std::string& shown = streamed[size_t(ev.sample)];
      shown += ev.text;
      if (ev.finished) return;
      // Only what could still become a stop string is held back (it was a fixed longest-stop - 1 bytes, a
      // lag in every stream), and an unfinished character.
      std::string& text = raw[size_t(ev.sample)];
      text += tok->token_bytes(ev.token.token);
      size_t could = 0;
      for (const auto& st : stops)
        for (size_t k = 1; k < st.size() && k <= text.size(); ++k)
          if (text.compare(text.size() - k, k, st, 0, k) == 0) could = std::max(could, k);
      EXPECT_EQ(shown.size(), tok::utf8_cut_before(text, text.size() - could)) << "sample " << ev.sample;
    };
    e.submit(g);
    e.run();
    for (int s = 0; s < 3; ++s) {
      const Completion& all = free_run.completions(0)[size_t(s)];
      const Completion& c = e.completions(0)[size_t(s)];
      std::string text;
      size_t n = 0, cut = std::string::npos;
      while (n < all.tokens.size() && cut == std::string::npos) {
        text += tok->token_bytes(all.tokens[n++]);
        for (const auto& st : stops) cut = std::min(cut, text.find(st));
      }
      EXPECT_EQ(c.tokens, std::vector<int32_t>(all.tokens.begin(), all.tokens.begin() + int64_t(n)))
          << "sample " << s;
      EXPECT_EQ(c.finish, cut == std::string::npos ? FinishReason::Length : FinishReason::StopString);
      ++(cut == std::string::npos ? ran_out : stopped);
      EXPECT_EQ(c.text, cut == std::string::npos ? text : text.substr(0, cut)) << "sample " << s;
      EXPECT_EQ(streamed[size_t(s)], c.text) << "sample " << s;
    }
  }
  EXPECT_GT(stopped, 20);
  EXPECT_GT(ran_out, 5);
}

// The sampler against a reference written from sampler.hpp's definitions, over logits with many ties (ties go
// to the lower id), masked tokens, every truncation rule and top-n alternatives longer than the kept set.
TEST(SamplerReview, TiesMasksAndAlternativesMatchAReference) {
  Rng rng(7);
  for (int round = 0; round < 3000; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    const int64_t V = 2 + int64_t(rng.below(rng.below(4) == 0 ? 600 : 12));
    std::vector<float> l(static_cast<size_t>(V));
    for (auto& v : l)
      v = rng.below(8) == 0 ? -std::numeric_limits<float>::infinity() : float(int(rng.below(5))) * 0.5f;
    if (rng.below(2)) l[rng.below(uint64_t(V))] = 1.0f;  // at least one finite logit
    if (std::all_of(l.begin(), l.end(), [](float v) { return std::isinf(v); })) l[0] = 0.0f;
    SamplingParams p;
    p.temperature = 0.3f + 1.5f * float(rng.uniform());
    if (rng.below(2)) p.top_k = 1 + int(rng.below(uint64_t(V) + 2));
    if (rng.below(2)) p.top_p = 0.05f + 0.95f * float(rng.uniform());
    if (rng.below(2)) p.min_p = float(rng.uniform());
    p.top_logprobs = int(rng.below(uint64_t(V) + 3));
    // Reference: tempered softmax, order by probability then id, top-k, top-p (over the top-k mass), min-p.
    std::vector<double> prob(static_cast<size_t>(V));
    double mx = -1e300, z = 0;
    for (float v : l) mx = std::max(mx, double(v));
    for (int64_t i = 0; i < V; ++i)
      z += prob[size_t(i)] = std::exp((double(l[size_t(i)]) - mx) / p.temperature);
    for (auto& q : prob) q /= z;
    std::vector<int32_t> order(static_cast<size_t>(V));
    for (int32_t i = 0; i < V; ++i) order[size_t(i)] = i;
    std::stable_sort(order.begin(), order.end(),
                     [&](int32_t a, int32_t b) { return prob[size_t(a)] > prob[size_t(b)]; });
    const int64_t k = p.top_k > 0 ? std::min<int64_t>(p.top_k, V) : V;
    double mass = 0;
    for (int64_t i = 0; i < k; ++i) mass += prob[size_t(order[size_t(i)])];
    int64_t keep = 0;
    double cum = 0;
    for (int64_t i = 0; i < k; ++i) {
      const double q = prob[size_t(order[size_t(i)])];
      if (p.min_p > 0 && q < double(p.min_p) * prob[size_t(order[0])]) break;
      ++keep;
      cum += q / mass;
      if (p.top_p < 1.0f && cum >= double(p.top_p)) break;
    }
    keep = std::max<int64_t>(keep, 1);
    double kept = 0;
    for (int64_t i = 0; i < keep; ++i) kept += prob[size_t(order[size_t(i)])];
    std::vector<double> want(size_t(V), -std::numeric_limits<double>::infinity());
    for (int64_t i = 0; i < keep; ++i) {
      const int32_t t = order[size_t(i)];
      if (prob[size_t(t)] > 0) want[size_t(t)] = std::log(prob[size_t(t)] / kept);
    }
    Sampler s;
    Rng draw(static_cast<uint64_t>(round));
    const SampledToken t = s.sample(l.data(), V, p, {}, {}, draw);
    ASSERT_TRUE(std::isfinite(want[size_t(t.token)])) << "token " << t.token << " is outside the kept set";
    EXPECT_NEAR(t.logprob, want[size_t(t.token)], 1e-6);
    const std::vector<float> got = s.last_logprobs();
    for (int64_t i = 0; i < V; ++i) {
      if (std::isinf(want[size_t(i)])) {
        ASSERT_TRUE(std::isinf(got[size_t(i)])) << "token " << i;
      } else {
        ASSERT_NEAR(got[size_t(i)], want[size_t(i)], 1e-6) << "token " << i;
      }
    }
    int64_t listed = 0;
    for (int64_t i = 0; i < keep && listed < p.top_logprobs; ++i) {
      const int32_t tk = order[size_t(i)];
      if (std::isinf(want[size_t(tk)])) break;
      ASSERT_LT(size_t(listed), t.top.size());
      EXPECT_EQ(t.top[size_t(listed)].token, tk) << "alternative " << listed;
      EXPECT_NEAR(t.top[size_t(listed)].logprob, want[size_t(tk)], 1e-6);
      ++listed;
    }
    EXPECT_EQ(int64_t(t.top.size()), listed);
  }
}

// The paged cache against a shadow copy: random creates, forks (at any length, mid-block or at a boundary),
// appends, rewrites of the tail and releases. Every sequence reads back what it wrote (never a sibling's
// rows), and the blocks in use are exactly those some live sequence holds.
TEST(KvCacheReview, RandomForksWritesAndReleasesMatchAShadow) {
  for (int64_t bt : {1, 2, 3, 4}) {
    KvCache cache(2, 4, CacheType::F32, bt);
    std::map<int, std::vector<float>> shadow;  // seq -> [len, layers, width]
    Rng rng(static_cast<uint64_t>(bt));
    float next = 1;
    for (int op = 0; op < 4000; ++op) {
      const int what = int(rng.below(10));
      std::vector<int> live;
      for (auto& [s, v] : shadow) live.push_back(s);
      if (live.empty() || what == 0) {
        shadow[cache.create()] = {};
        continue;
      }
      const int s = live[rng.below(live.size())];
      std::vector<float>& rows = shadow[s];
      const int64_t len = int64_t(rows.size() / 8);
      if (what == 1) {
        const int64_t n = int64_t(rng.below(uint64_t(len) + 1));
        const int f = cache.fork(s, n);
        shadow[f] = std::vector<float>(rows.begin(), rows.begin() + n * 8);
      } else if (what == 2 && live.size() > 3) {
        cache.release(s);
        shadow.erase(s);
      } else {
        // Append 1-3 rows, or rewrite the last row (from = len - 1).
        const int64_t from = len > 0 && rng.below(4) == 0 ? len - 1 : len;
        const int64_t to = std::max(from + 1 + int64_t(rng.below(3)), len);
        cache.prepare(s, from, to);
        rows.resize(size_t(to * 8));
        for (int64_t p = from; p < to; ++p)
          for (int64_t l = 0; l < 2; ++l) {
            float row[4];
            for (float& x : row) x = next++;
            cache.write_row(s, l, p, row);
            std::copy(row, row + 4, rows.begin() + (p * 2 + l) * 4);
          }
      }
      if (op % 50 == 0 || op > 3900) {
        double distinct = 0;
        for (auto& [q, v] : shadow) {
          const int64_t n = int64_t(v.size() / 8);
          ASSERT_EQ(cache.length(q), n);
          for (int64_t p = 0; p < n; ++p)
            for (int64_t l = 0; l < 2; ++l) {
              float scratch[4];
              const float* got = cache.read_row(q, l, p, scratch);
              for (int i = 0; i < 4; ++i) ASSERT_EQ(got[i], v[size_t((p * 2 + l) * 4 + i)]) << "seq " << q;
            }
          for (int64_t b = 0; b < (n + bt - 1) / bt; ++b) distinct += 1.0 / cache.block_refcount(q, b);
        }
        ASSERT_NEAR(double(cache.blocks_in_use()), distinct, 1e-6) << "op " << op;
      }
    }
    for (auto& [s, v] : shadow) cache.release(s);
    EXPECT_EQ(cache.blocks_in_use(), 0);
  }
}

}  // namespace
}  // namespace seek
