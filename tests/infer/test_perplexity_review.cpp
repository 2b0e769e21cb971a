// `seek perplexity` and `seek logits` checked from outside, against the training model's float64 forward
// pass: the perplexity is Hugging Face's "perplexity of fixed-length models" (windows of ctx tokens moved by
// stride, each token predicted once, the window's first token never a target), computed here window by window
// from Transformer<double>::forward_logits; the .npy that `seek logits` writes is parsed byte by byte (format
// 1.0, '<f4', C order, header padded to 64 bytes) and equals that forward pass over more than one 512-token
// chunk. Also: a KV cache that cannot fit is refused before the run (it ended in std::bad_alloc, an internal
// error, or the OOM killer after minutes of work).
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/read_file.hpp"
#include "model/model_dir.hpp"
#include "model/transformer.hpp"
#include "support/run_seek.hpp"
#include "support/scoped_env.hpp"
#include "support/temp_dir.hpp"

namespace seek {
namespace {

namespace fs = std::filesystem;
using test::CmdResult;
using test::run;
using test::ScopedEnv;
using test::TempDir;

constexpr int32_t kBos = 256;  // the byte-level tokenizer's BOS (the models here have no tokenizer.json)

// tiny-v3 with the byte tokenizer's vocabulary, a context of `context` tokens and no MTP module; `edit`
// changes the config first. The 2-D weights are scaled up from the initialiser's 0.02 so that the logits
// vary by several nats and depend on the context: with near-uniform predictions any windowing would give
// the same figure.
template <typename Edit>
fs::path make_model(const fs::path& dir, int64_t context, Edit edit, double scale = 6.0) {
  auto j = ModelConfig::load(std::string(SEEK_SOURCE_DIR) + "/configs/tiny-v3.json").to_json();
  j["vocab_size"] = 272;
  j["max_position_embeddings"] = context;
  j["num_nextn_predict_layers"] = 0;
  edit(j);
  Transformer<float> m(ModelConfig::from_json(j, "test config"));
  m.init_weights(11);
  auto& ps = m.params();
  for (const ParamInfo& info : ps.layout.all())
    if (info.trainable && info.shape.size() == 2)
      for (int64_t i = 0; i < info.numel; ++i) ps.value[size_t(info.offset + i)] *= float(scale);
  save_model_dir(m, dir);
  return dir;
}

fs::path make_model(const fs::path& dir, int64_t context) {
  return make_model(dir, context, [](nlohmann::json&) {});
}

// Deterministic text of lowercase letters and spaces, one byte token each.
std::string some_text(size_t n) {
  std::string s;
  uint64_t x = 88172645463325252ull;
  for (size_t i = 0; i < n; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    const int r = int(x % 32);
    s += r < 26 ? char('a' + r) : ' ';
  }
  return s;
}

struct Nll {
  double sum = 0;
  int64_t n = 0;
  int64_t ran = 0;  // positions the windows forward, overlaps counted
  double mean() const { return sum / double(n); }
};

// Hugging Face's sliding-window perplexity, transcribed from its loop:
//   for begin_loc in range(0, seq_len, stride):
//       end_loc = min(begin_loc + max_length, seq_len); trg_len = end_loc - prev_end_loc
//       labels = input_ids[begin_loc:end_loc] with all but the last trg_len set to -100
//       (the model shifts: window position j predicts label j + 1, so label 0 is never scored)
//       prev_end_loc = end_loc; if end_loc == seq_len: break
// summing the token NLLs (not averaging per window, which weights windows unevenly).
Nll hf_sliding_window(Transformer<double>& m, const std::vector<int32_t>& ids, int64_t ctx, int64_t stride) {
  const int64_t N = int64_t(ids.size()), V = m.config().vocab_size;
  Nll out;
  int64_t prev_end = 0;
  for (int64_t begin = 0; begin < N; begin += stride) {
    const int64_t end = std::min(begin + ctx, N), L = end - begin, trg_len = end - prev_end;
    std::vector<double> logits(size_t(L * V));
    m.forward_logits(ids.data() + begin, 1, L, logits.data());
    out.ran += L;
    for (int64_t j = std::max<int64_t>(1, L - trg_len); j < L; ++j) {
      const double* l = logits.data() + (j - 1) * V;
      double mx = l[0], z = 0;
      for (int64_t v = 1; v < V; ++v) mx = std::max(mx, l[v]);
      for (int64_t v = 0; v < V; ++v) z += std::exp(l[v] - mx);
      out.sum -= l[ids[size_t(begin + j)]] - mx - std::log(z);
      ++out.n;
    }
    prev_end = end;
    if (end == N) break;
  }
  return out;
}

// "perplexity P (mean NLL X nats over N tokens; ...": P, X and N.
struct Printed {
  double ppl = 0, nll = 0;
  int64_t n = -1;
};
Printed parse(const std::string& output) {
  // (Not std::regex: with GCC 12 and AddressSanitizer its inlined code trips -Wmaybe-uninitialized.)
  Printed p;
  long long n = -1;
  for (size_t at = output.find("perplexity "); at != std::string::npos;
       at = output.find("perplexity ", at + 1))
    if (std::sscanf(output.c_str() + at, "perplexity %lf (mean NLL %lf nats over %lld token", &p.ppl, &p.nll,
                    &n) == 3) {
      p.n = n;
      return p;
    }
  return Printed{};
}

TEST(PerplexityReview, EqualsHuggingFaceSlidingWindowOverTheTrainingForward) {
  TempDir tmp("ppl-review-hf");
  const fs::path model = make_model(tmp.path / "m", 1024);
  const std::string text = some_text(700);
  const fs::path file = tmp.path / "t.txt";
  std::ofstream(file) << text;
  auto ref_model = load_model_dir<double>(model);
  std::vector<int32_t> with_bos = {kBos}, without(text.begin(), text.end());
  with_bos.insert(with_bos.end(), text.begin(), text.end());

  std::vector<double> means;
  // (ctx, stride): one window over more than one 512-token chunk (and the default window); windows without
  // overlap (each one's first token unscored, also the last, shorter one); overlaps that divide the text
  // evenly or not; stride 1; the smallest window.
  for (auto [ctx, stride] : {std::pair<int64_t, int64_t>{1024, 0},
                             {1024, 1024},
                             {701, 701},
                             {64, 64},
                             {100, 100},
                             {64, 16},
                             {100, 33},
                             {600, 1},
                             {2, 1},
                             {3, 2}}) {
    for (bool bos : {true, false}) {
      std::string args = "perplexity --model " + model.string() + " --file " + file.string();
      if (ctx != 1024 || stride != 0) args += " --ctx " + std::to_string(ctx);
      if (stride != 0) args += " --stride " + std::to_string(stride);
      if (!bos) args += " --no-bos";
      const CmdResult r = run(args, "2>&1");
      ASSERT_EQ(r.code, 0) << args << "\n" << r.output;
      const Nll want = hf_sliding_window(*ref_model, bos ? with_bos : without, ctx, stride ? stride : ctx);
      const Printed got = parse(r.output);
      EXPECT_EQ(got.n, want.n) << args << "\n" << r.output;
      // The rate's count: positions run, which overlapping windows make more than the tokens scored.
      EXPECT_NE(r.output.find(fmt::format("; ran {} positions at ", want.ran)), std::string::npos)
          << args << "\n"
          << r.output;
      // Printed to 4 decimals; float inference against the float64 reference adds ~1e-6.
      EXPECT_NEAR(got.nll, want.mean(), 6e-5) << args << "\n" << r.output;
      EXPECT_NEAR(got.ppl, std::exp(want.mean()), 6e-5 + 1e-5 * std::exp(want.mean())) << args;
      // Overlap that runs each token 4 times or more on average is said up front (stride 1 runs a window
      // per token), and only then.
      const bool costly = want.ran >= 4 * int64_t(with_bos.size() - !bos);
      EXPECT_EQ(r.output.find(fmt::format("note: windows of {} tokens moved by {} run {} positions", ctx,
                                          stride ? stride : ctx, want.ran)) != std::string::npos,
                costly)
          << args << "\n"
          << r.output;
      means.push_back(want.mean());
    }
  }
  // The figures tell the windowings apart (else the comparison above would prove little).
  const auto [lo, hi] = std::minmax_element(means.begin(), means.end());
  EXPECT_GT(*hi - *lo, 0.05);
}

// One byte of text: BOS then the byte, one scored token (and the line says "1 token", not "1 tokens").
TEST(PerplexityReview, OneTokenTextIsScoredAfterBos) {
  TempDir tmp("ppl-review-one");
  const fs::path model = make_model(tmp.path / "m", 64);
  const fs::path file = tmp.path / "t.txt";
  std::ofstream(file) << "q";
  const CmdResult r = run("perplexity --model " + model.string() + " --file " + file.string(), "2>&1");
  ASSERT_EQ(r.code, 0) << r.output;
  auto ref_model = load_model_dir<double>(model);
  const Nll want = hf_sliding_window(*ref_model, {kBos, 'q'}, 64, 64);
  EXPECT_EQ(want.n, 1);
  EXPECT_NEAR(parse(r.output).nll, want.mean(), 6e-5) << r.output;
  EXPECT_NE(r.output.find("over 1 token;"), std::string::npos) << r.output;
  const CmdResult nobos =
      run("perplexity --no-bos --model " + model.string() + " --file " + file.string(), "2>&1");
  EXPECT_EQ(nobos.code, 1) << nobos.output;
  EXPECT_NE(nobos.output.find("fewer than 2 tokens (1); nothing to score"), std::string::npos)
      << nobos.output;
}

// Special-token strings are plain text (as `seek train` reads pretraining text) unless --parse-special, which
// reads them as the tokens (as Hugging Face's tokenizers do by default).
TEST(PerplexityReview, SpecialTokenStringsArePlainTextUnlessParsed) {
  TempDir tmp("ppl-review-special");
  const fs::path model = make_model(tmp.path / "m", 64);
  const fs::path file = tmp.path / "t.txt";
  const std::string eos = "<｜end▁of▁sentence｜>";
  std::ofstream(file) << "ab" << eos << "c";
  const std::string args = "perplexity --model " + model.string() + " --file " + file.string();
  auto ref_model = load_model_dir<double>(model);
  std::vector<int32_t> plain = {kBos, 'a', 'b'};
  for (unsigned char ch : eos) plain.push_back(ch);
  plain.push_back('c');
  const CmdResult as_text = run(args, "2>&1");
  ASSERT_EQ(as_text.code, 0) << as_text.output;
  const Nll want_text = hf_sliding_window(*ref_model, plain, 64, 64);
  EXPECT_EQ(parse(as_text.output).n, want_text.n) << as_text.output;
  EXPECT_NEAR(parse(as_text.output).nll, want_text.mean(), 6e-5) << as_text.output;
  const CmdResult parsed = run(args + " --parse-special", "2>&1");
  ASSERT_EQ(parsed.code, 0) << parsed.output;
  const Nll want_parsed = hf_sliding_window(*ref_model, {kBos, 'a', 'b', kBos + 1, 'c'}, 64, 64);
  EXPECT_EQ(parse(parsed.output).n, 4) << parsed.output;
  EXPECT_NEAR(parse(parsed.output).nll, want_parsed.mean(), 6e-5) << parsed.output;
}

// `--file -` scores standard input exactly as the same text in a file, final newline included.
TEST(PerplexityReview, StandardInputScoresAsTheSameFile) {
  TempDir tmp("ppl-review-stdin");
  const fs::path model = make_model(tmp.path / "m", 64);
  const fs::path file = tmp.path / "t.txt";
  std::ofstream(file) << some_text(40) << "\n";
  const std::string m = " --model " + model.string();
  const CmdResult from_file = run("perplexity" + m + " --file " + file.string(), "2>&1");
  const CmdResult from_stdin = run("perplexity" + m + " -f -", "< " + file.string() + " 2>&1");
  ASSERT_EQ(from_file.code, 0) << from_file.output;
  ASSERT_EQ(from_stdin.code, 0) << from_stdin.output;
  EXPECT_GT(parse(from_file.output).n, 40) << from_file.output;
  EXPECT_EQ(parse(from_stdin.output).nll, parse(from_file.output).nll) << from_stdin.output;
  const CmdResult empty = run("perplexity" + m + " --file -", "< /dev/null 2>&1");
  EXPECT_EQ(empty.code, 1) << empty.output;
  EXPECT_NE(empty.output.find("standard input is empty"), std::string::npos) << empty.output;
}

// The .npy of `seek logits`, read as NumPy's format description says (not through our own reader), holds
// the float64 training forward's logits, here over 1,100 positions (three 512-token chunks of the cache).
TEST(PerplexityReview, LogitsNpyIsNumpyFormatAndEqualsTheTrainingForward) {
  TempDir tmp("ppl-review-npy");
  const fs::path model = make_model(tmp.path / "m", 1200);
  const std::string text = some_text(1099);
  std::vector<int32_t> ids = {kBos};
  ids.insert(ids.end(), text.begin(), text.end());
  std::string list;
  for (int32_t id : ids) {
    if (!list.empty()) list += ',';
    list += std::to_string(id);
  }
  const fs::path out = tmp.path / "l.npy";
  const CmdResult r = run("logits --model " + model.string() + " --ids " + list + " --out " + out.string());
  ASSERT_EQ(r.code, 0) << r.output;

  const int64_t T = int64_t(ids.size()), V = 272;
  const std::string bytes = read_file(out);
  ASSERT_GE(bytes.size(), 10u);
  EXPECT_EQ(bytes.substr(0, 8), std::string("\x93NUMPY\x01\x00", 8));
  const size_t hlen = size_t(uint8_t(bytes[8])) | size_t(uint8_t(bytes[9])) << 8;
  EXPECT_EQ((10 + hlen) % 64, 0u);  // the data starts 64-byte aligned
  ASSERT_EQ(bytes.size(), 10 + hlen + size_t(T * V) * 4);
  const std::string header = bytes.substr(10, hlen);
  EXPECT_EQ(header.back(), '\n');
  EXPECT_EQ(header.substr(0, header.find('}') + 1),
            "{'descr': '<f4', 'fortran_order': False, 'shape': (1100, 272), }");
  EXPECT_EQ(header.find_first_not_of(' ', header.find('}') + 1), hlen - 1);  // spaces, then '\n'

  std::vector<float> got(size_t(T * V));
  for (size_t i = 0; i < got.size(); ++i) {
    const auto* p = reinterpret_cast<const unsigned char*>(bytes.data() + 10 + hlen + 4 * i);
    const uint32_t u = uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
    std::memcpy(&got[i], &u, 4);  // little-endian, whatever this machine is
  }
  auto ref_model = load_model_dir<double>(model);
  std::vector<double> want(size_t(T * V));
  ref_model->forward_logits(ids.data(), 1, T, want.data());
  double diff = 0, range = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    diff = std::max(diff, std::abs(double(got[i]) - want[i]));
    range = std::max(range, std::abs(want[i]));
  }
  EXPECT_LT(diff, 1e-4 * std::max(1.0, range)) << "logits up to " << range;
  EXPECT_GT(range, 1.0);
}

// A KV cache that cannot fit in the memory available is refused before the model runs, with the figures and
// what to change. The cache grows a block at a time during the run, so such a run ended in std::bad_alloc
// ("internal error", exit 2) or the OOM killer after minutes of work. Here the cache is 131 kB per token (8
// layers of a 4,096-value latent), so 2,001 tokens need 262 MB; the weights are 2 MB.
TEST(PerplexityReview, KvCacheThatCannotFitIsRefusedBeforeTheRun) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "the budget is sized for a plain build's resident memory, not AddressSanitizer's";
#endif
  TempDir tmp("ppl-review-cache");
  const fs::path model = make_model(
      tmp.path / "m", 4096,
      [](nlohmann::json& j) {
        j["hidden_size"] = 8;
        j["intermediate_size"] = 8;
        j["num_hidden_layers"] = 8;
        j["first_k_dense_replace"] = 8;
        j["num_attention_heads"] = 1;
        j["num_key_value_heads"] = 1;
        j["q_lora_rank"] = 4;
        j["kv_lora_rank"] = 4096;
        j["qk_nope_head_dim"] = 4;
        j["qk_rope_head_dim"] = 4;
        j["v_head_dim"] = 4;
      },
      1.0);
  const fs::path file = tmp.path / "t.txt";
  std::ofstream(file) << some_text(2000);
  ScopedEnv budget("SEEK_MEMORY_AVAILABLE", "120M");
  const std::string ppl = "perplexity --model " + model.string() + " --file " + file.string();
  CmdResult r = run(ppl + " --ctx 2001");
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("seek: error: the KV cache of a window of 2001 tokens (131.2 kB per token: f32, "
                          "absorbed) and the logits need 269.3 MB of memory"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("; give a smaller --ctx, or use --kv-cache bf16 or fp8"), std::string::npos)
      << r.output;
  EXPECT_EQ(r.output.find("perplexity "), std::string::npos) << r.output;
  r = run(ppl + " --ctx 256");  // 34 MB
  EXPECT_EQ(r.code, 0) << r.output;

  std::string ids = "1";
  for (int i = 1; i < 2000; ++i) ids += ",1";
  const fs::path out = tmp.path / "l.npy";
  r = run("logits --model " + model.string() + " --ids " + ids + " --out " + out.string());
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("seek: error: the KV cache of 2000 ids (131.2 kB per token: f32, absorbed) and the "
                          "logits need "),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("; give a shorter input, or use --kv-cache bf16 or fp8"), std::string::npos)
      << r.output;
  EXPECT_FALSE(fs::exists(out));
}

}  // namespace
}  // namespace seek
