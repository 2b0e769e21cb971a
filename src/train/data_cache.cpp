// Naming, validating and mapping token caches. A cache folder whose meta.json or file sizes do not match
// what its name promises (a hand edit, a truncated copy) is removed and rebuilt rather than trusted.
#include "train/data_cache.hpp"

#include <bit>

#include "core/error.hpp"
#include "core/read_file.hpp"
#include "core/untrusted_json.hpp"
#include "train/data_hash.hpp"

namespace seek::data {
namespace fs = std::filesystem;
using nlohmann::json;

// The mapped files are read in place as host integers.
static_assert(std::endian::native == std::endian::little, "the token cache is little-endian");

namespace {

// Exercises letters, digits, CJK, whitespace runs, punctuation, accents, emoji and the chat tokens.
constexpr std::string_view kProbe =
    "Hello, World! It's 2024-06-01: x=3.14159, y = 1e-9;\n\n\tIndented  text   with spaces.\r\n"
    "深度求索 日本語のテキスト café naïve Ünïcödé ﬁ ½ 😀👍 <｜begin▁of▁sentence｜><｜User｜>hi"
    "<｜Assistant｜><think>\n</think>ok<｜end▁of▁sentence｜> <|endoftext|> don't WE'LL 123456789 $%^&*()"
    // Whitespace the regex engines disagree on (U+0085 is \s in Hugging Face's Oniguruma and not in
    // JavaScript; U+FEFF the other way round): caches made while seek read JavaScript's are not reused.
    "x  \u0085 y  \ufeff z";

std::string_view objective_name(Objective o) {
  return o == Objective::Pretrain ? "pretrain" : "sft";
}

uint64_t file_size_or(const fs::path& p, uint64_t fallback) {
  std::error_code ec;
  auto n = fs::file_size(p, ec);
  return ec ? fallback : n;
}

// Maps an existing cache folder into `out`; false when it is not a complete cache for `descriptor`.
bool load_cache(const fs::path& dir, const json& descriptor, Objective objective, TokenCache& out) {
  json meta;
  // Bounded depth: copying a damaged descriptor nested 10^5 deep overflowed the stack. A missing or
  // unreadable meta.json is no cache either.
  try {
    meta = parse_json_unique_keys(read_file(dir / "meta.json"), (dir / "meta.json").string());
  } catch (const std::exception&) {
    return false;
  }
  if (!meta.is_object() || !meta.contains("descriptor") || meta["descriptor"] != descriptor) return false;
  for (const char* k : {"documents", "tokens", "loss_tokens"})
    if (!meta.contains(k) || !meta[k].is_number_integer() || meta[k].get<int64_t>() < 0) return false;
  const auto docs = meta["documents"].get<uint64_t>(), toks = meta["tokens"].get<uint64_t>();
  const bool sft = objective == Objective::Sft;
  // Sizes compared by division: a damaged count near 2^62 wrapped round when multiplied, matched the files'
  // real sizes, and reads left the map.
  const auto holds = [&](const char* file, uint64_t count, uint64_t bytes_each) {
    const uint64_t size = file_size_or(dir / file, ~0ull);
    return size != ~0ull && size % bytes_each == 0 && size / bytes_each == count;
  };
  if (!holds("tokens.bin", toks, 4) || !holds("offsets.bin", docs + 1, 8) ||
      (sft && !holds("mask.bin", toks, 1)))
    return false;
  out.dir = dir;
  out.tokens_file = MappedFile(dir / "tokens.bin");
  out.offsets_file = MappedFile(dir / "offsets.bin");
  if (sft) out.mask_file = MappedFile(dir / "mask.bin");
  out.documents = int64_t(docs);
  out.tokens = int64_t(toks);
  out.loss_tokens = meta["loss_tokens"].get<int64_t>();
  // The offsets must run from 0 to the token count without going backwards, or reads would leave the map.
  uint64_t prev = 0;
  for (int64_t d = 0; d <= out.documents; ++d) {
    uint64_t o = out.offset(d);
    if (o < prev || (d == 0 && o != 0)) return false;
    prev = o;
  }
  return prev == toks;
}

}  // namespace

json tokenizer_fingerprint(const Tokenizer& tok) {
  uint64_t h = 0;
  for (size_t id = 0; id < tok.vocab_size(); ++id) {
    std::string text;
    bool special = false;
    try {
      text = tok.id_to_token(TokenId(id));
      special = tok.is_special(TokenId(id));
    } catch (const Error&) {
      text = "\xff<absent>";  // a hole in the vocabulary (not valid UTF-8, so no real token spells it)
    }
    h = xxh64(text, mix64(h) + (special ? 1 : 0));
  }
  // Every plain token's own bytes, encoded: how the merges split each of them, so tokenizers that differ
  // only in their merges (not in the vocabulary, nor on the probe) name different caches.
  std::vector<std::string> spellings;
  for (size_t id = 0; id < tok.vocab_size(); ++id) {
    try {
      if (!tok.is_special(TokenId(id))) spellings.push_back(tok.token_bytes(TokenId(id)));
    } catch (const Error&) {
    }
  }
  uint64_t split_hash = 0;
  for (const auto& ids : tok.encode_batch(spellings, /*add_special=*/false, /*parse_special=*/false))
    split_hash = xxh64(ids.data(), ids.size() * sizeof(TokenId), mix64(split_hash) + ids.size());
  auto a = tok.encode(kProbe, /*add_special=*/true, /*parse_special=*/true);
  auto b = tok.encode(kProbe, /*add_special=*/false, /*parse_special=*/false);
  a.push_back(-2);
  a.insert(a.end(), b.begin(), b.end());
  return json{{"kind", tok.kind()},
              {"vocab_size", tok.vocab_size()},
              {"bos", tok.bos_id()},
              {"eos", tok.eos_id()},
              {"pad", tok.pad_id()},
              {"vocab_hash", hex64(h)},
              {"probe_hash", hex64(xxh64(a.data(), a.size() * sizeof(TokenId)))},
              {"split_hash", hex64(split_hash)}};
}

json cache_descriptor(const std::vector<InputFile>& inputs, Objective objective, const Tokenizer& tok) {
  json files = json::array();
  for (const auto& f : inputs)
    files.push_back(
        {{"path", f.path.string()}, {"size", f.size}, {"mtime_ns", f.mtime_ns}, {"hash", hex64(f.hash)}});
  return json{{"format", kCacheFormat},
              {"objective", objective_name(objective)},
              {"tokenizer", tokenizer_fingerprint(tok)},
              {"inputs", files}};
}

namespace {

json content_record(const std::vector<InputFile>& inputs, const json& tokenizer, Objective objective) {
  json content{{"tokenizer", tokenizer}, {"inputs", json::array()}};
  for (const auto& f : inputs) content["inputs"].push_back({{"size", f.size}, {"hash", hex64(f.hash)}});
  // Checkpoints of the earliest layout lack it.
  content["layout"] = objective == Objective::Sft ? kSftDataLayout : kDataLayout;
  return content;
}

// A run folder tokenizes one run's data: the caches of its earlier inputs (a file edited, touched or moved,
// another tokenizer) would otherwise pile up beside the current one, each as large as the data. Only
// complete caches (a key's name and a meta.json) are removed; builds in progress are another function's.
void remove_superseded_caches(const fs::path& cache_dir, const fs::path& keep) {
  const auto is_key = [](const std::string& name) {
    return name.size() == 16 && name.find_first_not_of("0123456789abcdef") == std::string::npos;
  };
  std::error_code ec;
  try {
    for (const auto& e : fs::directory_iterator(cache_dir, ec))
      if (e.path() != keep && is_key(e.path().filename().string()) && fs::exists(e.path() / "meta.json", ec))
        fs::remove_all(e.path(), ec);
  } catch (const fs::filesystem_error&) {
    // Best effort: what cannot be listed or removed now is tried again on the next open.
  }
}

}  // namespace

json data_content(const DataOptions& opts, const Tokenizer& tok) {
  return content_record(describe_inputs(opts.inputs, opts.objective, opts.threads),
                        tokenizer_fingerprint(tok), opts.objective);
}

TokenCache open_token_cache(const DataOptions& opts, const Tokenizer& tok) {
  SEEK_CHECK(!opts.cache_dir.empty(), "the data options name no cache folder for the tokenized data");
  remove_stale_cache_builds(opts.cache_dir);
  SEEK_CHECK(tok.eos_id() >= 0,
             "the tokenizer has no end-of-sentence token, which training needs to separate documents");
  auto inputs = describe_inputs(opts.inputs, opts.objective, opts.threads);
  json descriptor = cache_descriptor(inputs, opts.objective, tok);
  const fs::path dir = opts.cache_dir / hex64(xxh64(descriptor.dump()));
  const json content = content_record(inputs, descriptor["tokenizer"], opts.objective);
  TokenCache cache;
  if (load_cache(dir, descriptor, opts.objective, cache)) {
    cache.vocab_size = int64_t(tok.vocab_size());
    cache.reused = true;
    cache.content = content;
    remove_superseded_caches(opts.cache_dir, dir);
    return cache;
  }
  std::error_code ec;
  if (fs::exists(dir, ec)) fs::remove_all(dir);  // damaged: rebuild it
  build_token_cache(dir, descriptor, inputs, opts.objective, tok, opts.threads);
  cache = TokenCache();
  SEEK_CHECK(load_cache(dir, descriptor, opts.objective, cache),
             "the token cache {} just written is unreadable", dir.string());
  cache.vocab_size = int64_t(tok.vocab_size());
  cache.content = content;
  remove_superseded_caches(opts.cache_dir, dir);
  return cache;
}

}  // namespace seek::data
