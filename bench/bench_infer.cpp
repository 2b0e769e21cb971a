// Inference engine benchmarks (results in BENCHMARKS.md): prefill tokens/s, decode tokens/s at batch 1/16/64,
// decode GB/s of weights + KV cache read against the machine's measured read bandwidth, and absorbed vs naive
// MLA (cache bytes per token, decode tokens/s at 128 / 1K / 4K context).
// Models (random weights; speed does not depend on the values):
//   small  = configs/small.json
//   v2lite = bench/infer/v2lite-2layer.json: DeepSeek-V2-Lite's layer shapes (d 2048, 16 heads, kv_lora 512,
//            64 experts of 1408, 2 shared, vocab 102400) with 2 layers (one dense, one MoE).
//   moe-layer = bench/infer/v2lite-moe-layer.json: one MoE layer of those shapes and a 2048-token vocabulary,
//            so a decode step is that layer's cost (the embedding and output head are 1.4% of its weights):
//            V2-Lite itself is 26 such layers, one dense layer and the head.
// A decode benchmark fills `ctx` cache rows of every sequence with random values (a long prefill would only
// cost setup time), then times one step: B tokens at position ctx through the whole model, logits and a
// greedy pick. Counters: tok_s (tokens per second), GB_s (bytes of weights touched + cache rows read, per
// second; routed experts counted as the expected number of distinct experts the B tokens pick),
// cache_B_tok (KV cache bytes per token). Also: drawing one token from a 102400-token vocabulary under the
// sampler's truncation rules.
#include <benchmark/benchmark.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

#include "core/aligned.hpp"
#include "core/openmp_wait.hpp"
#include "core/rng.hpp"
#include "infer/cache_attention.hpp"
#include "infer/engine.hpp"
#include "infer/expert_batch.hpp"
#include "infer/model.hpp"
#include "infer/runner.hpp"
#include "infer/sampler.hpp"

namespace seek {
namespace {

std::string config_path(const std::string& name) {
  if (name == "small") return std::string(SEEK_SOURCE_DIR) + "/configs/small.json";
  if (name == "moe-layer") return std::string(SEEK_SOURCE_DIR) + "/bench/infer/v2lite-moe-layer.json";
  return std::string(SEEK_SOURCE_DIR) + "/bench/infer/v2lite-2layer.json";
}

// One model in memory at a time (the V2-Lite-shaped one is 4.4 GB in fp32). pack = false keeps every
// projection row-major (the layout before packing, as the peer of the packed rows).
const InferModel& get_model(const std::string& name, WeightFormat fmt, bool pack = true) {
  static std::string key;
  static std::unique_ptr<InferModel> model;
  const std::string want = name + (fmt == WeightFormat::BF16 ? "/bf16" : "/f32") + (pack ? "" : "/rowmajor");
  if (key != want) {
    model.reset();
    model = InferModel::random(ModelConfig::load(config_path(name)), 1234, fmt, 0.02,
                               pack ? PackPolicy::Large : PackPolicy::None);
    key = want;
  }
  return *model;
}

std::vector<int32_t> random_tokens(int64_t n, int64_t V, uint64_t seed) {
  Rng rng(seed);
  std::vector<int32_t> t(static_cast<size_t>(n));
  for (auto& v : t) v = int32_t(rng.below(uint64_t(V)));
  return t;
}

// Cache rows cycle through a pool of this many random rows: filling gigabytes of cache one random number at a
// time would take longer than the benchmark.
constexpr int64_t kPoolRows = 61;

std::vector<float> random_rows(int64_t rows, int64_t width, Rng& rng) {
  std::vector<float> v(static_cast<size_t>(rows * width));
  for (float& x : v) x = float(rng.uniform() - 0.5);
  return v;
}

void BM_MemoryBandwidth(benchmark::State& state) {
  // Read bandwidth with all threads: sum of a 1 GiB array (far larger than the caches).
  const size_t n = size_t(1) << 28;
  AlignedBuffer<float> a(n);
#pragma omp parallel for schedule(static)
  for (size_t i = 0; i < n; ++i) a[i] = float(i & 7);
  double sink = 0;
  for (auto _ : state) {
    double total = 0;
    // 64 independent partial sums per thread (4 AVX-512 registers, 4 chains of dependent adds), so the loop
    // is bound by memory, not by add latency.
#pragma omp parallel reduction(+ : total)
    {
      float acc[64] = {};
#pragma omp for schedule(static)
      for (size_t i = 0; i < n; i += 64)
#pragma GCC unroll 64
        for (size_t k = 0; k < 64; ++k) acc[k] += a[i + k];
      for (float v : acc) total += v;
    }
    sink += total;
    benchmark::DoNotOptimize(sink);
  }
  state.counters["GB_s"] = benchmark::Counter(double(n * sizeof(float)) * double(state.iterations()) / 1e9,
                                              benchmark::Counter::kIsRate);
}

void BM_Prefill(benchmark::State& state, std::string name, WeightFormat fmt, bool pack) {
  const int64_t T = state.range(0);
  const InferModel& m = get_model(name, fmt, pack);
  Runner run(m, AttnForm::Absorbed);
  auto tokens = random_tokens(T, m.config().vocab_size, 7);
  std::vector<float> logits(static_cast<size_t>(m.config().vocab_size));
  bool warm = false;  // the first pass creates the oneDNN primitives of every shape: not timed
  for (auto _ : state) {
    if (!warm) {
      state.PauseTiming();
      KvCache cache = run.make_cache();
      int s = cache.create();
      cache.prepare(s, 0, T);
      RunnerBatch b;
      for (int64_t t = 0; t < T; ++t) b.add(tokens[size_t(t)], int32_t(t), s, t == T - 1);
      run.forward(b, cache, logits.data());
      warm = true;
      state.ResumeTiming();
    }
    KvCache cache = run.make_cache();
    int s = cache.create();
    cache.prepare(s, 0, T);
    RunnerBatch b;
    for (int64_t t = 0; t < T; ++t) b.add(tokens[size_t(t)], int32_t(t), s, t == T - 1);
    run.forward(b, cache, logits.data());
    benchmark::DoNotOptimize(logits.data());
  }
  state.counters["tok_s"] =
      benchmark::Counter(double(T) * double(state.iterations()), benchmark::Counter::kIsRate);
}

void BM_Decode(benchmark::State& state, std::string name, AttnForm form, WeightFormat fmt, CacheType ct,
               bool pack) {
  const int64_t B = state.range(0), ctx = state.range(1);
  const InferModel& m = get_model(name, fmt, pack);
  const ModelConfig& c = m.config();
  Runner run(m, form, ct);
  KvCache cache = run.make_cache();
  RunnerBatch batch;
  Rng rng(3);
  // Rows cycle through a pool of random latent rows [c | k_pe] (filling gigabytes of cache one random number
  // at a time would take longer than the benchmark). The naive form stores the same rows decompressed with
  // the layer's kv_b_proj, as the model would have: both forms then hold the same state and compute the same
  // attention, so the same tokens go to the same experts and the timings compare like with like.
  const int64_t pool_rows = kPoolRows, H = c.num_attention_heads, r = c.kv_lora_rank, dr = c.qk_rope_head_dim;
  const int64_t dn = c.qk_nope_head_dim, dv = c.v_head_dim, dq = dn + dr, W = cache.width();
  const std::vector<float> latent = random_rows(pool_rows, r + dr, rng);
  std::vector<std::vector<float>> pool(size_t(c.num_hidden_layers));
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    if (form == AttnForm::Absorbed) {
      pool[size_t(l)] = latent;
      continue;
    }
    const float* wkvb = m.f32(m.ids().layers[size_t(l)].attn.kv_b);  // [H, dn + dv, r]
    pool[size_t(l)].assign(size_t(pool_rows * W), 0.0f);
    for (int64_t i = 0; i < pool_rows; ++i) {
      const float* lat = latent.data() + i * (r + dr);
      float* row = pool[size_t(l)].data() + i * W;
      for (int64_t h = 0; h < H; ++h)
        for (int64_t k = 0; k < dn + dv; ++k) {
          const float* w = wkvb + (h * (dn + dv) + k) * r;
          float acc = 0;
          for (int64_t j = 0; j < r; ++j) acc += w[j] * lat[j];
          (k < dn ? row[h * dq + k] : row[H * dq + h * dv + (k - dn)]) = acc;
        }
      for (int64_t h = 0; h < H; ++h) std::copy(lat + r, lat + r + dr, row + h * dq + dn);
    }
  }
  int64_t next_row = 0;
  for (int64_t b = 0; b < B; ++b) {
    int s = cache.create();
    cache.prepare(s, 0, ctx + 1);
    for (int64_t p = 0; p < ctx; ++p, ++next_row)
      for (int64_t l = 0; l < c.num_hidden_layers; ++l)
        cache.write_row(s, l, p, pool[size_t(l)].data() + (next_row % pool_rows) * W);
    batch.add(int32_t(rng.below(uint64_t(c.vocab_size))), int32_t(ctx), s, true);
  }
  const int64_t V = c.vocab_size;
  std::vector<float> logits(static_cast<size_t>(B * V));
  std::vector<int32_t> next(static_cast<size_t>(B));
  run.forward(batch, cache, logits.data());  // warm-up: primitive creation is not timed
  for (auto _ : state) {
    run.forward(batch, cache, logits.data());
    for (int64_t b = 0; b < B; ++b) {
      const float* r = logits.data() + b * V;
      next[size_t(b)] = int32_t(std::max_element(r, r + V) - r);
    }
    benchmark::DoNotOptimize(next.data());
  }
  // Bytes per step: dense weights once, routed experts by the expected number of distinct picks, and every
  // sequence's cache rows (ctx + 1 of them, all layers).
  double experts = 0;
  if (c.n_routed_experts > 0) {
    const double E = double(c.n_routed_experts), K = double(c.num_experts_per_tok);
    int64_t moe_layers = 0;
    for (int64_t l = 0; l < c.num_hidden_layers; ++l) moe_layers += c.is_moe_layer(l);
    experts = double(moe_layers) * E * (1.0 - std::pow(1.0 - K / E, double(B)));
  }
  const double bytes = double(m.dense_bytes()) + experts * double(m.expert_bytes()) +
                       double(B * (ctx + 1) * cache.bytes_per_token());
  const double iters = double(state.iterations());
  state.counters["tok_s"] = benchmark::Counter(double(B) * iters, benchmark::Counter::kIsRate);
  state.counters["GB_s"] = benchmark::Counter(bytes * iters / 1e9, benchmark::Counter::kIsRate);
  state.counters["cache_B_tok"] = double(cache.bytes_per_token());
}

// The attention of one decode step alone (one layer, V2-Lite shapes: 16 heads, latent 512 + rope 64, or the
// naive per-head keys of 192 and values of 128): B tokens, each over its own `ctx` cached rows. Counters:
// GFLOP_s (2 flops per multiply-add of q·k and p·v) and GB_s (cache bytes read).
void BM_CacheAttention(benchmark::State& state, AttnForm form, CacheType ct) {
  const int64_t B = state.range(0), ctx = state.range(1);
  const int64_t H = 16, r = 512, dr = 64, dn = 128, dv = 128, dq = dn + dr;
  const bool absorbed = form == AttnForm::Absorbed;
  const int64_t width = absorbed ? r + dr : H * (dq + dv);
  KvCache cache(1, width, ct, 64, 64, absorbed ? dr : 0);  // as Runner::make_cache lays it out
  Rng rng(5);
  const std::vector<float> pool = random_rows(kPoolRows, width, rng);
  std::vector<int32_t> seq, pos;
  int64_t next_row = 0;
  for (int64_t b = 0; b < B; ++b) {
    const int s = cache.create();
    cache.prepare(s, 0, ctx);
    for (int64_t p = 0; p < ctx; ++p)
      cache.write_row(s, 0, p, pool.data() + (next_row++ % kPoolRows) * width);
    seq.push_back(s);
    pos.push_back(int32_t(ctx - 1));
  }
  const CacheAttnShape shape = absorbed ? CacheAttnShape{H, r + dr, r, 0, 0, 0, 0, 0.07f}
                                        : CacheAttnShape{H, dq, dv, 0, dq, H * dq, dv, 0.07f};
  const std::vector<float> q = random_rows(B * H, shape.Dk, rng);
  std::vector<float> out(size_t(B * H * shape.Dv));
  for (auto _ : state) {
    cache_attention(cache, 0, q.data(), seq.data(), pos.data(), B, shape, out.data());
    benchmark::DoNotOptimize(out.data());
  }
  const double iters = double(state.iterations());
  const double flops = 2.0 * double(B * ctx * H * (shape.Dk + shape.Dv));
  state.counters["GFLOP_s"] = benchmark::Counter(flops * iters / 1e9, benchmark::Counter::kIsRate);
  state.counters["GB_s"] =
      benchmark::Counter(double(B * ctx * cache.row_bytes()) * iters / 1e9, benchmark::Counter::kIsRate);
}

// The routed and shared experts of the V2-Lite-shaped model's MoE layer for one decode step of B tokens
// (top-6 of 64 drawn at random, the shared expert on all B), alone, against memory_bandwidth, through
// run_experts as the runner decodes: packed (oneDNN; side by side, each expert whole on one thread, at batch
// 64, in turn at batch 1) or row-major ("-rowmajor": column blocks on each thread, what the runner does with
// small models' experts). Counters: GB_s of expert weights read, GFLOP_s.
void BM_Experts(benchmark::State& state, bool packed, WeightFormat fmt) {
  const int64_t B = state.range(0);
  const InferModel& m = get_model("v2lite", fmt, packed);
  const ModelConfig& c = m.config();
  const int64_t d = c.hidden_size, E = c.n_routed_experts, K = c.num_experts_per_tok;
  const LayerIds& li = m.ids().layers[size_t(c.num_hidden_layers - 1)];
  Rng rng(5);
  std::vector<int64_t> rows(static_cast<size_t>(E), 0);
  for (int64_t t = 0; t < B; ++t) {
    std::vector<int64_t> pick;
    while (int64_t(pick.size()) < K) {
      const int64_t e = int64_t(rng.below(uint64_t(E)));
      if (std::find(pick.begin(), pick.end(), e) == pick.end()) pick.push_back(e);
    }
    for (int64_t e : pick) ++rows[size_t(e)];
  }
  const std::vector<float> x = random_rows(B * K, d, rng);
  std::vector<float> y(static_cast<size_t>(B * K * d)), ys(static_cast<size_t>(B * d));
  std::vector<ExpertTask> tasks;
  double bytes = 0, flops = 0;
  int64_t r0 = 0;
  auto add = [&](const MlpIds& w, const float* xin, float* yout, int64_t n) {
    tasks.push_back({m.weight(w.gate), m.weight(w.up), m.weight(w.down), xin, yout, n});
    const double params = 3.0 * double(d) * double(m.weight(w.gate).rows);
    bytes += params * (fmt == WeightFormat::BF16 ? 2.0 : 4.0);
    flops += 2.0 * params * double(n);
  };
  for (int64_t e = 0; e < E; ++e) {
    if (rows[size_t(e)] > 0)
      add(li.experts.experts[size_t(e)], x.data() + r0 * d, y.data() + r0 * d, rows[size_t(e)]);
    r0 += rows[size_t(e)];
  }
  add(li.experts.shared, x.data(), ys.data(), B);
  ExpertScratch scratch;
  for (auto _ : state) {
    run_experts(tasks, d, B, scratch);
    benchmark::DoNotOptimize(y.data());
  }
  const double iters = double(state.iterations());
  state.counters["GB_s"] = benchmark::Counter(bytes * iters / 1e9, benchmark::Counter::kIsRate);
  state.counters["GFLOP_s"] = benchmark::Counter(flops * iters / 1e9, benchmark::Counter::kIsRate);
}

// One token drawn from V = 102400 logits (V2-Lite's vocabulary) ~ N(0, 3²) at temperature 0.8, under each
// truncation rule. The peer, "sort/vocabulary", orders all V tokens by probability: what every top-p draw
// cost before the sampler sorted only the prefix the rules read.
std::vector<float> bench_logits() {
  Rng rng(1);
  std::vector<float> l(102400);
  for (float& v : l) v = float(rng.normal() * 3.0);
  return l;
}

void BM_Sample(benchmark::State& state, int top_k, float top_p, float min_p) {
  const std::vector<float> l = bench_logits();
  SamplingParams p;
  p.temperature = 0.8f;
  p.top_k = top_k;
  p.top_p = top_p;
  p.min_p = min_p;
  Sampler s;
  Rng rng(2);
  for (auto _ : state) benchmark::DoNotOptimize(s.sample(l.data(), int64_t(l.size()), p, {}, {}, rng).token);
}

// Decode through the engine (infer/engine.hpp), sampling included, which the decode rows above leave out
// (they take a greedy pick): one 16-token prompt, B samples of 32 tokens each drawn at temperature 1 with no
// truncation (a GRPO rollout) or with chat's defaults (temperature 0.6, top-p 0.95). tok_s counts the tokens
// of decode-only steps over their time (EngineStats::decode_tps).
void BM_Generate(benchmark::State& state, WeightFormat fmt, bool chat) {
  const int B = int(state.range(0));
  const InferModel& m = get_model("v2lite", fmt);
  EngineOptions opt;
  opt.max_batch = B;
  Engine engine(m, nullptr, opt);
  GenRequest req;
  req.prompt = random_tokens(16, m.config().vocab_size, 11);
  req.n = B;
  req.params.temperature = chat ? 0.6f : 1.0f;
  req.params.top_p = chat ? 0.95f : 1.0f;
  req.params.max_new_tokens = 32;
  req.params.ignore_eos = true;
  engine.submit(req);  // warm-up: primitive creation is not timed
  engine.run();
  double tokens = 0, seconds = 0;
  for (auto _ : state) {
    const EngineStats before = engine.stats();
    req.params.seed += 1;
    engine.submit(req);
    engine.run();
    tokens += double(engine.stats().decode_step_tokens - before.decode_step_tokens);
    seconds += engine.stats().decode_seconds - before.decode_seconds;
  }
  state.counters["tok_s"] = tokens / seconds;
}

void BM_SortVocabulary(benchmark::State& state) {
  const std::vector<float> l = bench_logits();
  std::vector<int32_t> order(l.size());
  for (auto _ : state) {
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](int32_t a, int32_t b) {
      return l[size_t(a)] > l[size_t(b)] || (l[size_t(a)] == l[size_t(b)] && a < b);
    });
    benchmark::DoNotOptimize(order.data());
  }
}

void register_all() {
  benchmark::RegisterBenchmark("sample/no-truncation", BM_Sample, 0, 1.0f, 0.0f)
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("sample/top-k-40", BM_Sample, 40, 1.0f, 0.0f)->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("sample/top-p-0.95", BM_Sample, 0, 0.95f, 0.0f)->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("sample/top-p-0.95-min-p-0.05", BM_Sample, 0, 0.95f, 0.05f)
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("sort/vocabulary", BM_SortVocabulary)->Unit(benchmark::kMillisecond);
  for (WeightFormat fmt : {WeightFormat::F32, WeightFormat::BF16})
    for (bool chat : {false, true})
      benchmark::RegisterBenchmark(
          (std::string("generate/v2lite") + (fmt == WeightFormat::BF16 ? "-bf16" : "") +
           (chat ? "/chat" : "/rollout"))
              .c_str(),
          BM_Generate, fmt, chat)
          ->Arg(1)
          ->Arg(64)
          ->ArgName("samples")
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime();
  for (AttnForm form : {AttnForm::Absorbed, AttnForm::Naive})
    for (CacheType ct : {CacheType::F32, CacheType::BF16, CacheType::FP8})
      benchmark::RegisterBenchmark(
          (std::string("cache_attention/") + (form == AttnForm::Absorbed ? "absorbed-" : "naive-") +
           cache_type_name(ct))
              .c_str(),
          BM_CacheAttention, form, ct)
          ->Args({1, 4096})
          ->Args({64, 4096})
          ->ArgNames({"batch", "ctx"})
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime();
  for (bool packed : {true, false})
    for (WeightFormat fmt : {WeightFormat::F32, WeightFormat::BF16})
      benchmark::RegisterBenchmark((std::string("experts/v2lite") +
                                    (fmt == WeightFormat::BF16 ? "-bf16" : "") + (packed ? "" : "-rowmajor"))
                                       .c_str(),
                                   BM_Experts, packed, fmt)
          ->Arg(1)
          ->Arg(64)
          ->ArgName("batch")
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime();
  benchmark::RegisterBenchmark("memory_bandwidth", BM_MemoryBandwidth)
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime();
  for (std::string name : {"small", "v2lite"}) {
    // Each with the projections packed for oneDNN (the default) and row-major ("-rowmajor", the peer).
    for (bool pack : {true, false})
      for (WeightFormat fmt : {WeightFormat::F32, WeightFormat::BF16}) {
        const std::string variant =
            std::string(fmt == WeightFormat::BF16 ? "-bf16" : "") + (pack ? "" : "-rowmajor");
        benchmark::RegisterBenchmark(("prefill/" + name + variant).c_str(), BM_Prefill, name, fmt, pack)
            ->Arg(name == "small" ? 512 : 256)
            ->ArgName("T")
            ->Unit(benchmark::kMillisecond)
            ->UseRealTime();
        for (int64_t B : {1, 16, 64})
          benchmark::RegisterBenchmark(("decode/" + name + "/absorbed" + variant).c_str(), BM_Decode, name,
                                       AttnForm::Absorbed, fmt, CacheType::F32, pack)
              ->Args({B, 128})
              ->ArgNames({"batch", "ctx"})
              ->Unit(benchmark::kMillisecond)
              ->UseRealTime();
      }
  }
  // Absorbed vs naive at V2-Lite shapes over the context (fp32 cache for both), then the compressed caches at
  // 4K. The largest (naive, batch 64, 4K) holds 10.7 GB of cache.
  auto context = [](AttnForm form, CacheType ct, int64_t B, int64_t ctx) {
    const std::string label = std::string("context/v2lite/") +
                              (form == AttnForm::Absorbed ? "absorbed" : "naive") + "-" + cache_type_name(ct);
    benchmark::RegisterBenchmark(label.c_str(), BM_Decode, std::string("v2lite"), form, WeightFormat::F32, ct,
                                 true)
        ->Args({B, ctx})
        ->ArgNames({"batch", "ctx"})
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
  };
  for (AttnForm form : {AttnForm::Absorbed, AttnForm::Naive})
    for (int64_t B : {1, 16, 64})
      for (int64_t ctx : {128, 1024, 4096}) context(form, CacheType::F32, B, ctx);
  for (int64_t B : {1, 16, 64}) {
    context(AttnForm::Absorbed, CacheType::BF16, B, 4096);
    context(AttnForm::Absorbed, CacheType::FP8, B, 4096);
    context(AttnForm::Naive, CacheType::BF16, B, 4096);
  }
  // Both forms at 4K with bf16 weights (how DeepSeek checkpoints are stored), which halves the weight bytes
  // the two forms share, over fp32 and bf16 caches.
  for (AttnForm form : {AttnForm::Absorbed, AttnForm::Naive})
    for (CacheType ct : {CacheType::F32, CacheType::BF16})
      for (int64_t B : {1, 16, 64})
        benchmark::RegisterBenchmark(
            (std::string("context/v2lite-bf16/") + (form == AttnForm::Absorbed ? "absorbed" : "naive") + "-" +
             cache_type_name(ct))
                .c_str(),
            BM_Decode, std::string("v2lite"), form, WeightFormat::BF16, ct, true)
            ->Args({B, 4096})
            ->ArgNames({"batch", "ctx"})
            ->Unit(benchmark::kMillisecond)
            ->UseRealTime();
  // The same comparison for one MoE layer alone (the part of the step that grows with depth): fp32 weights
  // with fp32 caches, and bf16 weights (how DeepSeek checkpoints are stored) with bf16 caches.
  for (WeightFormat fmt : {WeightFormat::F32, WeightFormat::BF16})
    for (AttnForm form : {AttnForm::Absorbed, AttnForm::Naive})
      for (int64_t B : {1, 16, 64})
        for (int64_t ctx : {128, 4096}) {
          const bool bf16 = fmt == WeightFormat::BF16;
          const std::string label = std::string(bf16 ? "layer/moe-bf16/" : "layer/moe/") +
                                    (form == AttnForm::Absorbed ? "absorbed" : "naive") +
                                    (bf16 ? "-bf16" : "-f32");
          benchmark::RegisterBenchmark(label.c_str(), BM_Decode, std::string("moe-layer"), form, fmt,
                                       bf16 ? CacheType::BF16 : CacheType::F32, true)
              ->Args({B, ctx})
              ->ArgNames({"batch", "ctx"})
              ->Unit(benchmark::kMillisecond)
              ->UseRealTime();
        }
}

}  // namespace
}  // namespace seek

int main(int argc, char** argv) {
  seek::use_short_openmp_spin_by_default(argv);  // as `seek` runs
  seek::register_all();
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
