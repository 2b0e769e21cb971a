// Review tests for EngineOptions::keep_last_sequence and Engine::cancel: prompts equal to, shorter than and
// diverging from the kept tokens, several samples sharing a kept prefix (copy on write of a partly filled
// block), cancelling in each phase (waiting, admitted with nothing prefilled yet, prefilling, decoding, done,
// from inside on_token), a kept sequence that a waiting request cannot use, and randomised mixes that check
// the samples against engines that keep nothing, the budget, and that no block or reservation leaks.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>
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

std::vector<int32_t> concat(std::vector<int32_t> a, const std::vector<int32_t>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// The completions of `req` from an engine with the same options that keeps nothing.
std::vector<Completion> alone(const InferModel& model, EngineOptions opt, const GenRequest& req) {
  opt.keep_last_sequence = false;
  Engine e(model, nullptr, opt);
  e.submit(req);
  e.run();
  return e.completions(0);
}

// A prompt shorter than the kept tokens (a prefix of them), and one that is a single token: the shorter
// prompt shares all but its last token; a one-token prompt shares nothing (its only token runs for the
// logits). Both give what a fresh engine gives, and the kept blocks follow the newest request.
TEST(EngineKeepReview, ShorterAndOneTokenPrompts) {
  auto model = InferModel::load(fixture_dir("tiny-v2lite"));
  const int64_t V = model->config().vocab_size;
  EngineOptions opt;
  opt.block_tokens = 4;
  opt.keep_last_sequence = true;
  Engine e(*model, nullptr, opt);
  const std::vector<int32_t> first = random_tokens(11, V, 31);
  e.submit({first, free_sampling(1, 6), 1});
  e.run();
  EXPECT_EQ(e.cache().blocks_in_use(), blocks_for(11 + 5, 4));

  const GenRequest shorter{std::vector<int32_t>(first.begin(), first.begin() + 6), free_sampling(2, 3), 1};
  e.reset_stats();
  const int a = e.submit(shorter);
  e.run();
  EXPECT_EQ(e.stats().reused_prompt_tokens, 5);
  EXPECT_EQ(e.stats().prompt_tokens, 1);
  EXPECT_EQ(e.completions(a)[0].tokens, alone(*model, opt, shorter)[0].tokens);
  // Now only the shorter request's 6 + 2 rows are kept: the first one's blocks were dropped.
  EXPECT_EQ(e.cache().blocks_in_use(), blocks_for(6 + 2, 4));

  const GenRequest one{{first[0]}, free_sampling(3, 4), 1};
  e.reset_stats();
  const int b = e.submit(one);
  e.run();
  EXPECT_EQ(e.stats().reused_prompt_tokens, 0);
  EXPECT_EQ(e.stats().prompt_tokens, 1);
  EXPECT_EQ(e.completions(b)[0].tokens, alone(*model, opt, one)[0].tokens);
  EXPECT_EQ(e.cache().blocks_in_use(), blocks_for(1 + 3, 4));
}

// A request of several samples whose prompt shares a kept prefix that ends inside a block: the prompt's
// fork of that partly filled block is written by the rest of the prefill and then shared by the samples,
// each copying it when it first writes. The samples equal a fresh engine's, and nothing is kept after it.
TEST(EngineKeepReview, SeveralSamplesShareAKeptPrefixEndingInsideABlock) {
  for (const char* name : {"tiny-v3", "tiny-v2lite"}) {
    SCOPED_TRACE(name);
    auto model = InferModel::load(fixture_dir(name));
    const int64_t V = model->config().vocab_size;
    EngineOptions opt;
    opt.block_tokens = 4;
    opt.keep_last_sequence = true;
    Engine e(*model, nullptr, opt);
    const std::vector<int32_t> first = random_tokens(9, V, 41);
    const int a = e.submit({first, free_sampling(1, 4), 1});
    e.run();
    // Kept: 9 + 3 rows. The next prompt shares the 9 prompt rows and 1 generated (10: inside block 2), then
    // differs.
    std::vector<int32_t> next = first;
    next.push_back(e.completions(a)[0].tokens[0]);
    next.push_back(int32_t((e.completions(a)[0].tokens[1] + 1) % V));
    next = concat(next, random_tokens(3, V, 42));
    const GenRequest req{next, free_sampling(7, 5), 3};
    e.reset_stats();
    const int b = e.submit(req);
    e.run();
    EXPECT_EQ(e.stats().reused_prompt_tokens, 10);
    const std::vector<Completion> want = alone(*model, opt, req);
    for (int s = 0; s < 3; ++s) EXPECT_EQ(e.completions(b)[size_t(s)].tokens, want[size_t(s)].tokens) << s;
    EXPECT_EQ(e.cache().blocks_in_use(), 0);
  }
}

// Cancelled after admission but before any of its prompt ran (the step's prefill chunk went to the request
// ahead of it): a request that took rows from a kept sequence keeps those rows, and the next one uses them.
TEST(EngineKeepReview, CancelAdmittedBeforeItsPrefillKeepsTheSharedRows) {
  auto model = InferModel::load(fixture_dir("tiny-v2lite"));
  const int64_t V = model->config().vocab_size;
  EngineOptions opt;
  opt.block_tokens = 4;
  opt.prefill_chunk = 6;
  opt.keep_last_sequence = true;
  Engine e(*model, nullptr, opt);
  // R (3 prompt tokens, 2 new) and X (18 prompt tokens, 2 samples) start together; R finishes at step 2 and
  // is kept (3 + 1 rows) while X is still prefilling, 6 tokens a step.
  const std::vector<int32_t> r_prompt = random_tokens(3, V, 51);
  const int r = e.submit({r_prompt, free_sampling(1, 2), 1});
  const int x = e.submit({random_tokens(18, V, 52), free_sampling(2, 20), 2});
  e.step();
  e.step();
  ASSERT_EQ(e.completions(r)[0].finish, FinishReason::Length);
  // Y continues R: at step 3 X takes the whole chunk, and Y is admitted (taking R's 4 rows) with nothing run.
  std::vector<int32_t> y_prompt = r_prompt;
  y_prompt.push_back(e.completions(r)[0].tokens[0]);
  y_prompt = concat(y_prompt, random_tokens(5, V, 53));
  e.reset_stats();
  const int y = e.submit({y_prompt, free_sampling(3, 4), 1});
  e.step();
  EXPECT_EQ(e.stats().reused_prompt_tokens, 4);
  EXPECT_EQ(e.stats().prompt_tokens, 6);
  e.cancel(y);
  EXPECT_TRUE(e.completions(y)[0].tokens.empty());
  EXPECT_EQ(e.completions(y)[0].finish, FinishReason::Cancelled);
  e.run();
  EXPECT_EQ(e.completions(x)[0].tokens.size(), 20u);
  // X has two samples: the 4 rows Y held are still what is kept.
  EXPECT_EQ(e.cache().blocks_in_use(), blocks_for(4, 4));
  e.reset_stats();
  const GenRequest z{y_prompt, free_sampling(4, 3), 1};
  const int zi = e.submit(z);
  e.run();
  EXPECT_EQ(e.stats().reused_prompt_tokens, 4);
  EXPECT_EQ(e.completions(zi)[0].tokens, alone(*model, opt, z)[0].tokens);
}

// Cancelled while prefilling (a chunk in): the prefilled rows are kept, so a resubmission prefills only the
// rest, and gives what a fresh engine gives.
TEST(EngineKeepReview, CancelWhilePrefillingKeepsThePrefilledRows) {
  auto model = InferModel::load(fixture_dir("tiny-v3"));
  const int64_t V = model->config().vocab_size;
  EngineOptions opt;
  opt.block_tokens = 4;
  opt.prefill_chunk = 5;
  opt.keep_last_sequence = true;
  Engine e(*model, nullptr, opt);
  const GenRequest req{random_tokens(13, V, 61), free_sampling(5, 4), 1};
  const int a = e.submit(req);
  e.step();
  e.step();  // 10 of 13 prefilled
  e.cancel(a);
  EXPECT_TRUE(e.idle());
  EXPECT_EQ(e.cache().blocks_in_use(), blocks_for(10, 4));
  e.reset_stats();
  const int b = e.submit(req);
  e.run();
  EXPECT_EQ(e.stats().reused_prompt_tokens, 10);
  EXPECT_EQ(e.stats().prompt_tokens, 3);
  EXPECT_EQ(e.completions(b)[0].tokens, alone(*model, opt, req)[0].tokens);
}

// A sample cancelled from inside on_token (a consumer that has seen enough) gets no token and no event
// after the cancel, even when its own token of that step is still to be handed over; the engine goes on.
TEST(EngineKeepReview, CancelFromOnTokenEndsTheRequestAtOnce) {
  auto model = InferModel::load(fixture_dir("tiny-v2lite"));
  const int64_t V = model->config().vocab_size;
  for (bool keep : {false, true}) {
    SCOPED_TRACE(keep ? "keeping" : "not keeping");
    EngineOptions opt;
    opt.block_tokens = 4;
    opt.keep_last_sequence = keep;
    Engine e(*model, nullptr, opt);
    // At sample 0 of request 0's second token, both requests are cancelled: samples 1 and 2 of request 0
    // and request 1's only sample have their tokens of that step still to come.
    const int a = e.submit({random_tokens(6, V, 71), free_sampling(1, 50), 3});
    const int b = e.submit({random_tokens(5, V, 72), free_sampling(2, 50), 1});
    std::map<std::pair<int, int>, int> after_cancel;
    std::map<std::pair<int, int>, bool> cancelled;
    e.on_token = [&](const TokenEvent& ev) {
      if (cancelled[{ev.request, ev.sample}]) ++after_cancel[{ev.request, ev.sample}];
      if (ev.request == a && ev.sample == 0 && e.completions(a)[0].tokens.size() == 2) {
        e.cancel(a);
        e.cancel(b);
        for (int s = 0; s < 3; ++s) cancelled[{a, s}] = true;
        cancelled[{b, 0}] = true;
      }
    };
    e.run();
    for (const auto& [key, n] : after_cancel)
      EXPECT_EQ(n, 0) << "request " << key.first << " sample " << key.second;
    const auto& ca = e.completions(a);
    EXPECT_EQ(ca[0].tokens.size(), 2u);
    EXPECT_EQ(ca[1].tokens.size(), 1u);
    EXPECT_EQ(ca[2].tokens.size(), 1u);
    for (const Completion& c : ca) {
      EXPECT_EQ(c.finish, FinishReason::Cancelled);
      EXPECT_EQ(c.logprobs.size(), c.tokens.size());
    }
    EXPECT_EQ(e.completions(b)[0].tokens.size(), 1u);
    EXPECT_EQ(e.completions(b)[0].finish, FinishReason::Cancelled);
    EXPECT_TRUE(e.idle());
    // Kept: request 1's 5 prompt rows (its one token was drawn, never run).
    EXPECT_EQ(e.cache().blocks_in_use(), keep ? blocks_for(5, 4) : 0);
    // Tokens counted for the decode rate: request 0's 3 second tokens... of which 1 was taken (sample 0's),
    // and none of request 1's; the first tokens come from the prefill step.
    EXPECT_EQ(e.stats().decode_step_tokens, 1);
    EXPECT_EQ(e.stats().generated_tokens, 2 + 1 + 1 + 1);
    // The engine goes on.
    const int c = e.submit({random_tokens(4, V, 73), free_sampling(3, 3), 2});
    e.on_token = nullptr;
    e.run();
    EXPECT_EQ(e.completions(c)[0].tokens.size(), 3u);
    EXPECT_EQ(e.cache().blocks_in_use(), 0);
  }
}

// With max_new_tokens 0 every sample ends at once with an event; one that an earlier sample's event
// cancelled gets none, and keeps its "cancelled".
TEST(EngineKeepReview, CancelFromAZeroTokenEventEndsTheOtherSamples) {
  auto model = InferModel::load(fixture_dir("tiny-v2lite"));
  const int64_t V = model->config().vocab_size;
  Engine e(*model, nullptr);
  const int a = e.submit({random_tokens(5, V, 81), free_sampling(1, 0), 3});
  std::vector<TokenEvent> events;
  e.on_token = [&](const TokenEvent& ev) {
    events.push_back(ev);
    e.cancel(a);
  };
  e.run();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].finish, FinishReason::Length);
  EXPECT_EQ(e.completions(a)[0].finish, FinishReason::Length);
  EXPECT_EQ(e.completions(a)[1].finish, FinishReason::Cancelled);
  EXPECT_EQ(e.completions(a)[2].finish, FinishReason::Cancelled);
  EXPECT_EQ(e.cache().blocks_in_use(), 0);
}

// Another request cancelled from an event, in the step its prefill ends, is not started afterwards: it had
// no cache sequence left, and starting it released sequence -1 (n = 1) or forked it (n > 1).
TEST(EngineKeepReview, CancellingAnotherRequestInItsPrefillStepDoesNotStartIt) {
  auto model = InferModel::load(fixture_dir("tiny-v2lite"));
  const int64_t V = model->config().vocab_size;
  for (int n : {1, 2}) {
    Engine e(*model, nullptr);
    const int a = e.submit({random_tokens(5, V, 82), free_sampling(0, 0), 1});
    const int b = e.submit({random_tokens(5, V, 83), free_sampling(1, 1), n});
    std::vector<TokenEvent> events;
    e.on_token = [&](const TokenEvent& ev) {
      events.push_back(ev);
      if (ev.request == a) e.cancel(b);
    };
    e.run();
    ASSERT_EQ(events.size(), 1u) << n;  // a's; none for b after its cancel
    EXPECT_EQ(events[0].request, a);
    for (const Completion& c : e.completions(b)) {
      EXPECT_EQ(c.finish, FinishReason::Cancelled) << n;
      EXPECT_TRUE(c.tokens.empty()) << n;
    }
    EXPECT_EQ(e.cache().blocks_in_use(), 0) << n;
    // The engine's books are square: a new request runs.
    const int c = e.submit({random_tokens(5, V, 84), free_sampling(2, 2), 2});
    e.run();
    EXPECT_EQ(e.completions(c)[0].tokens.size(), 2u) << n;
    EXPECT_EQ(e.cache().blocks_in_use(), 0) << n;
  }
}

// A kept sequence stays while the request waiting behind the running ones could not start without it
// either (here the batch is full): dropping it would not let that request in, only lose the rows its prompt
// starts with. When the batch frees up, the request shares them.
TEST(EngineKeepReview, KeptSequenceSurvivesAWaitItsRoomCannotEnd) {
  auto model = InferModel::load(fixture_dir("tiny-v2lite"));
  const int64_t V = model->config().vocab_size;
  EngineOptions opt;
  opt.block_tokens = 4;
  opt.max_batch = 3;
  opt.keep_last_sequence = true;
  Engine e(*model, nullptr, opt);
  // A: 2 samples of 12 tokens; B: 1 sample of 2 tokens; both run at once (3 samples). C (2 samples) waits
  // for A's; its prompt starts with B's prompt.
  const std::vector<int32_t> b_prompt = random_tokens(9, V, 82);
  e.submit({random_tokens(6, V, 81), free_sampling(1, 12), 2});
  e.submit({b_prompt, free_sampling(2, 2), 1});
  const GenRequest c{concat(b_prompt, random_tokens(4, V, 83)), free_sampling(3, 3), 2};
  const int ci = e.submit(c);
  e.run();
  EXPECT_EQ(e.stats().reused_prompt_tokens, 9);
  const std::vector<Completion> want = alone(*model, opt, c);
  for (int s = 0; s < 2; ++s) EXPECT_EQ(e.completions(ci)[size_t(s)].tokens, want[size_t(s)].tokens);
}

// The same when the budget is what holds the request back and dropping the kept blocks would not make room.
TEST(EngineKeepReview, KeptSequenceSurvivesABudgetWaitItCannotEnd) {
  auto model = InferModel::load(fixture_dir("tiny-v2lite"));
  const int64_t V = model->config().vocab_size;
  EngineOptions opt;
  opt.block_tokens = 4;
  opt.keep_last_sequence = true;
  const int64_t block = 4 * Engine(*model, nullptr, opt).stats().cache_bytes_per_token;
  opt.max_cache_bytes = 16 * block;
  Engine e(*model, nullptr, opt);
  // Blocks reserved: A (2 samples of 4 + 20) 1 + 2 * 5 = 11; B (4 + 4) 2, kept when it finishes as 2 (4 + 3
  // rows); C (8 + 16) 6: 11 + 2 + 6 > 16, and 11 + 6 > 16 too, so C waits for A whether B's rows stay or not.
  const std::vector<int32_t> b_prompt = random_tokens(4, V, 92);
  e.submit({random_tokens(4, V, 91), free_sampling(1, 20), 2});
  e.submit({b_prompt, free_sampling(2, 4), 1});
  const GenRequest c{concat(b_prompt, random_tokens(4, V, 93)), free_sampling(3, 16), 1};
  const int ci = e.submit(c);
  e.run();
  EXPECT_LE(e.stats().peak_cache_bytes, opt.max_cache_bytes);
  EXPECT_EQ(e.stats().reused_prompt_tokens, 4);
  EXPECT_EQ(e.completions(ci)[0].tokens, alone(*model, opt, c)[0].tokens);
}

// Randomised: requests whose prompts continue, cut or change the last request's tokens (what a chat does),
// of one or two samples, with random steps and cancels (also of waiting and done requests) in between. A
// request not cancelled gives what it gives alone in an engine that keeps nothing; a cancelled one a prefix
// of that; the cache stays within the budget; when the engine is idle at most one sequence's blocks remain;
// and the reservations come back: two requests of half the budget each then take no more steps than in a
// fresh engine.
TEST(EngineKeepReview, RandomChatsMatchAnEngineThatKeepsNothing) {
  auto model = test::load_fixture("tiny-v2lite", PackPolicy::Large);
  const int64_t V = model->config().vocab_size;
  Rng rng(2024);
  int64_t reused_total = 0;
  for (int round = 0; round < 24; ++round) {
    EngineOptions opt;
    const int64_t bts[] = {1, 3, 4, 8};
    const int64_t chunks[] = {2, 5, 64};
    const int batches[] = {1, 2, 3, 64};
    opt.block_tokens = bts[rng.below(4)];
    opt.prefill_chunk = chunks[rng.below(3)];
    opt.max_batch = batches[rng.below(4)];
    opt.max_context = 40;
    opt.keep_last_sequence = true;
    const int64_t block = opt.block_tokens * Engine(*model, nullptr, opt).stats().cache_bytes_per_token;
    const int64_t budget_blocks = 2 * blocks_for(40, opt.block_tokens) + int64_t(rng.below(20));
    if (rng.below(3)) opt.max_cache_bytes = budget_blocks * block;
    SCOPED_TRACE("round " + std::to_string(round) + " block " + std::to_string(opt.block_tokens) + " chunk " +
                 std::to_string(opt.prefill_chunk) + " batch " + std::to_string(opt.max_batch) + " budget " +
                 std::to_string(opt.max_cache_bytes / block));
    Engine e(*model, nullptr, opt);
    std::vector<GenRequest> reqs;
    std::vector<bool> cancelled;
    std::vector<int32_t> last;  // the newest request's prompt and tokens so far
    for (int i = 0; i < 10; ++i) {
      GenRequest g;
      const uint64_t kind = rng.below(4);
      if (last.empty() || kind == 0) {
        g.prompt = random_tokens(1 + int64_t(rng.below(15)), V, rng.next_u64());
      } else {
        g.prompt = last;
        if (kind == 1) g.prompt.resize(1 + rng.below(g.prompt.size()));
        if (kind == 2) g.prompt[rng.below(g.prompt.size())] = int32_t(rng.below(uint64_t(V)));
        g.prompt = concat(g.prompt, random_tokens(int64_t(rng.below(6)), V, rng.next_u64()));
        if (int64_t(g.prompt.size()) > 30) g.prompt.resize(30);
      }
      g.params = free_sampling(rng.next_u64(), int(rng.below(8)));
      g.n = rng.below(4) == 0 ? 2 : 1;
      const int id = e.submit(g);
      reqs.push_back(g);
      cancelled.push_back(false);
      for (uint64_t s = rng.below(4); s > 0; --s) e.step();
      if (rng.below(4) == 0) {
        const int victim = int(rng.below(uint64_t(id + 1)));
        e.cancel(victim);
        cancelled[size_t(victim)] = true;
      }
      if (rng.below(2)) {
        e.run();
        reused_total += e.stats().reused_prompt_tokens;
        e.reset_stats();
      }
      last = g.prompt;
      for (int32_t t : e.completions(id)[0].tokens) last.push_back(t);
    }
    e.run();
    reused_total += e.stats().reused_prompt_tokens;
    if (opt.max_cache_bytes > 0) {
      EXPECT_LE(e.stats().peak_cache_bytes, opt.max_cache_bytes);
    }
    EXPECT_LE(e.cache().blocks_in_use(), blocks_for(40, opt.block_tokens));
    for (size_t i = 0; i < reqs.size(); ++i) {
      const std::vector<Completion> want = alone(*model, opt, reqs[i]);
      for (int s = 0; s < reqs[i].n; ++s) {
        const Completion& got = e.completions(int(i))[size_t(s)];
        const Completion& w = want[size_t(s)];
        if (got.finish == FinishReason::Cancelled) {
          EXPECT_TRUE(cancelled[i]);
          ASSERT_LE(got.tokens.size(), w.tokens.size()) << "request " << i << " sample " << s;
          EXPECT_TRUE(std::equal(got.tokens.begin(), got.tokens.end(), w.tokens.begin()))
              << "request " << i << " sample " << s;
        } else {
          EXPECT_EQ(got.tokens, w.tokens) << "request " << i << " sample " << s;
          EXPECT_EQ(got.finish, w.finish) << "request " << i << " sample " << s;
        }
      }
    }
    // Reservations: with nothing running, two requests of up to half the budget each run together.
    if (opt.max_batch >= 2) {
      // The most new tokens after a 4-token prompt whose blocks (engine.cpp's cache_need) fit in half.
      const int64_t half = opt.max_cache_bytes > 0 ? budget_blocks / 2 : 1000, bt = opt.block_tokens;
      int64_t max_new = 36;
      while (max_new > 1 && blocks_for(4, bt) + blocks_for(4 + max_new, bt) - 4 / bt > half) --max_new;
      const GenRequest p{random_tokens(4, V, 1), free_sampling(1, int(max_new)), 1};
      const GenRequest q{random_tokens(4, V, 2), free_sampling(2, int(max_new)), 1};
      opt.keep_last_sequence = false;
      Engine fresh(*model, nullptr, opt);
      fresh.submit(p);
      fresh.submit(q);
      fresh.run();
      e.reset_stats();
      e.submit(p);
      e.submit(q);
      e.run();
      EXPECT_TRUE(e.idle());
      // Rows shared with a kept sequence can only save steps.
      EXPECT_LE(e.stats().steps, fresh.stats().steps) << "the second request waited: a reservation leaked";
      if (opt.max_cache_bytes > 0) {
        EXPECT_LE(e.stats().peak_cache_bytes, opt.max_cache_bytes);
      }
    }
  }
  EXPECT_GT(reused_total, 0) << "no request shared kept rows: the test does not test sharing";
}

}  // namespace
}  // namespace seek
