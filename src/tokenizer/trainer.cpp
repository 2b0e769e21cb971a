// Byte-level BPE training; see trainer.hpp.
#include "tokenizer/trainer.hpp"

#include <fcntl.h>
#include <omp.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>
#include <queue>
#include <unordered_map>

#include "core/atomic_file.hpp"
#include "core/count_of.hpp"
#include "core/error.hpp"
#include "core/fd.hpp"
#include "core/parallel_errors.hpp"
#include "core/progress.hpp"
#include "core/read_file.hpp"
#include "core/resources.hpp"
#include "core/stderr.hpp"
#include "core/untrusted_json.hpp"
#include "tokenizer/added_tokens.hpp"
#include "tokenizer/byte_level.hpp"
#include "tokenizer/pretokenizer.hpp"
#include "tokenizer/tokenizer.hpp"
#include "tokenizer/utf8.hpp"

namespace seek {
namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

uint64_t pair_key(int32_t a, int32_t b) {
  return (uint64_t(uint32_t(a)) << 32) | uint32_t(b);
}

struct Word {
  std::vector<int32_t> syms;
  uint64_t count;
};

struct QueueEntry {
  uint64_t count;
  uint64_t pair;
  // Max-heap: higher count first, then the smaller pair (Hugging Face's order).
  bool operator<(const QueueEntry& o) const { return count != o.count ? count < o.count : pair > o.pair; }
};

struct Change {
  uint64_t pair;
  int64_t delta;
  uint32_t word;
};

// Words longer than this sum their changes per pair before handing them on: a change per merged occurrence
// took up to 96 bytes per byte of a long word (a 20 MB run of one character, a line of DNA or base64, is one
// word to the pre-tokenizer): training on 20 MB of one character peaked at 1.75 GB, 0.35 GB with the sums.
constexpr size_t kSummedChangesFrom = 1024;

// ch[first, end) as one change per pair with the sum of their deltas, zero sums left out.
void sum_changes(std::vector<Change>& ch, size_t first) {
  std::sort(ch.begin() + int64_t(first), ch.end(),
            [](const Change& x, const Change& y) { return x.pair < y.pair; });
  size_t kept = first;
  for (size_t k = first; k < ch.size();) {
    Change sum = ch[k];
    for (++k; k < ch.size() && ch[k].pair == sum.pair; ++k) sum.delta += ch[k].delta;
    if (sum.delta != 0) ch[kept++] = sum;
  }
  ch.resize(kept);
}

// Replaces every (a, b) in w by m, left to right, appending the pair-count changes (times the word's count).
void merge_in_word(Word& w, int32_t a, int32_t b, int32_t m, uint32_t idx, std::vector<Change>& ch) {
  auto& s = w.syms;
  const int64_t c = int64_t(w.count);
  const size_t first = ch.size();
  size_t sum_at = first + kSummedChangesFrom;  // when this word's changes are summed next
  size_t out = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i + 1 < s.size() && s[i] == a && s[i + 1] == b) {
      if (out > 0) {
        ch.push_back({pair_key(s[out - 1], a), -c, idx});
        ch.push_back({pair_key(s[out - 1], m), c, idx});
      }
      if (i + 2 < s.size()) {
        ch.push_back({pair_key(b, s[i + 2]), -c, idx});
        ch.push_back({pair_key(m, s[i + 2]), c, idx});
      }
      s[out++] = m;
      ++i;
    } else {
      s[out++] = s[i];
    }
    // The sums of a long word's changes so far replace them (the order of one word's changes does not
    // matter: they add to counts, and positive ones list this word for their pair). Summed again once as
    // many more have come as are left, so the sorting stays O(n log n) in all.
    if (ch.size() >= sum_at) {
      sum_changes(ch, first);
      sum_at = ch.size() + std::max(kSummedChangesFrom, ch.size() - first);
    }
  }
  s.resize(out);
}

std::vector<std::string> default_specials() {
  return {std::string(tokens::kBos),      std::string(tokens::kEos),       std::string(tokens::kPad),
          std::string(tokens::kUser),     std::string(tokens::kAssistant), std::string(tokens::kThink),
          std::string(tokens::kEndThink), std::string(tokens::kAnswer),    std::string(tokens::kEndAnswer)};
}

nlohmann::ordered_json added_token_config(const std::string& content) {
  return {{"__type", "AddedToken"}, {"content", content}, {"lstrip", false},
          {"normalized", false},    {"rstrip", false},    {"single_word", false}};
}

nlohmann::json pre_tokenizer_json(const BpeTrainOptions& opt) {
  // The user's pre-tokenizer is copied and dumped into the result; both recurse per nesting level.
  check_json_depth(opt.pre_tokenizer, "pre-tokenizer");
  return opt.pre_tokenizer.is_null() ? tok::deepseek_v3_pre_tokenizer_json()
                                     : tok::with_required_pre_tokenizer_keys(opt.pre_tokenizer);
}

// Checks everything in opt that does not need the text, so that train_bpe_files refuses bad options before
// it reads what may be gigabytes (and training does not end in an error); returns the special tokens.
std::vector<std::string> checked_options(const BpeTrainOptions& opt) {
  tok::PreTokenizer::from_json(pre_tokenizer_json(opt), "pre-tokenizer");
  if (opt.chat_template != "v3" && opt.chat_template != "r1")
    fail("chat template \"{}\" is unknown (expected v3 or r1)", opt.chat_template);
  std::vector<std::string> specials = opt.special_tokens.empty() ? default_specials() : opt.special_tokens;
  // The first is BOS, the second EOS (the third pad, else EOS): with one, EOS would be BOS, and a model would
  // learn to end documents with the token that starts them.
  SEEK_CHECK(specials.size() >= 2,
             "give at least two special tokens, BOS then EOS (e.g. \"<s>,</s>\"); one would serve as both");
  for (size_t i = 0; i < specials.size(); ++i) {
    const std::string& s = specials[i];
    if (s.empty() || !tok::utf8_is_valid(s))
      fail("special token {} (counting from 1) is empty or not valid UTF-8", i + 1);
    // Checked here, before training, rather than by the loader of the tokenizer that training wrote.
    SEEK_CHECK(s.size() <= tok::kMaxAddedTokenBytes,
               "special token {} (counting from 1) is {} bytes long; special tokens of at most {} bytes are "
               "supported",
               i + 1, s.size(), tok::kMaxAddedTokenBytes);
    for (size_t k = 0; k < i; ++k)
      if (specials[k] == s) fail("special token \"{}\" is listed twice", s);
    // tokenizer.json's vocabulary is keyed by text, and a byte token's key is its one byte-level character:
    // a special token with that text would take the byte's entry, and the byte could no longer be encoded.
    if (auto raw = tok::byte_level_to_bytes(s); raw && raw->size() == 1)
      fail(
          "special token \"{}\" is the character tokenizer.json uses for the byte 0x{:02X}; give a special "
          "token that is not a single byte-level character (e.g. \"<{}>\")",
          s, uint8_t((*raw)[0]), s);
  }
  if (opt.vocab_size < specials.size() + 256)
    fail("--vocab-size {} is too small: the {} special tokens and 256 byte tokens need {}", opt.vocab_size,
         specials.size(), specials.size() + 256);
  return specials;
}

}  // namespace

BpeTrainResult train_bpe(const std::vector<std::string>& texts, const BpeTrainOptions& opt) {
  BpeTrainResult r;
  auto log = [&](const std::string& s) {
    if (opt.log) opt.log(s);
  };
  const int threads = opt.threads > 0 ? opt.threads : omp_get_max_threads();
  const std::vector<std::string> specials = checked_options(opt);
  const nlohmann::json pre_json = pre_tokenizer_json(opt);
  auto pre = tok::PreTokenizer::from_json(pre_json, "pre-tokenizer");
  std::vector<tok::AddedToken> added;
  for (size_t i = 0; i < specials.size(); ++i) added.push_back({int32_t(i), specials[i], true});
  tok::AddedTokenMatcher matcher(added);

  // 1. Count words, in parallel over the texts; special tokens are cut out first, as at encode time.
  auto t0 = Clock::now();
  using CountMap = std::unordered_map<std::string, uint64_t>;
  std::vector<CountMap> local(threads);
  uint64_t total_bytes = 0, total_words = 0;
  // Minutes per GB with a varied text: a progress line (on stderr, where the log goes) over the texts' bytes,
  // kept by the first thread.
  uint64_t all_bytes = 0;
  for (const auto& t : texts) all_bytes += t.size();
  std::optional<ProgressLine> counting;
  if (opt.log) counting.emplace("tokenizer train: counting words", int64_t(all_bytes), "bytes");
  std::atomic<uint64_t> bytes_done{0};
  ParallelErrors errors;
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads) reduction(+ : total_bytes, total_words)
  for (size_t i = 0; i < texts.size(); ++i) {
    errors.run(int64_t(i), [&] {
      if (counting && omp_get_thread_num() == 0) counting->update(int64_t(bytes_done.load()));
      auto& counts = local[omp_get_thread_num()];
      std::string_view text = texts[i];
      std::string repaired;
      if (!tok::utf8_is_valid(text)) text = repaired = tok::utf8_repair(text);
      total_bytes += text.size();
      std::vector<tok::AddedTokenMatcher::Section> sections;
      matcher.split(text, sections);
      for (const auto& s : sections) {
        if (s.token >= 0) continue;
        pre.run(s.text, [&](std::string_view piece) {
          ++counts[std::string(piece)];
          ++total_words;
        });
      }
      bytes_done += texts[i].size();
    });
  }
  errors.rethrow();  // a pre-tokenizer's regex past its match limit, or memory
  if (counting) counting->finish();
  CountMap counts = std::move(local[0]);
  for (int t = 1; t < threads; ++t) {
    for (auto& [w, c] : local[t]) counts[w] += c;
    CountMap().swap(local[t]);
  }
  r.input_bytes = total_bytes;
  r.words = total_words;
  r.unique_words = counts.size();
  // What training holds per byte of the distinct words (their symbols, the lists of where each pair occurs,
  // the pair counts and a merge's changes: ~17 bytes per byte measured on a text that is one 20 MB word) and
  // per word, known only now: a text of long words (DNA, base64 on lines of their own) needs far more than
  // its size.
  uint64_t unique_bytes = 0;
  for (const auto& [w, c] : counts) unique_bytes += w.size();
  check_memory_for(
      static_cast<long long>(
          std::min<uint64_t>(20 * unique_bytes + 160 * counts.size(), uint64_t(INT64_MAX))),
      fmt::format("training on {} of {} in all", count_of(int64_t(counts.size()), "distinct word"),
                  format_bytes(static_cast<long long>(unique_bytes))),
      "; train on a sample of the text, or split its long words into lines");
  // Without words there is nothing to learn, and the byte tokens alone are no trained tokenizer.
  SEEK_CHECK(total_bytes > 0, "no text to train on: the input is empty");
  SEEK_CHECK(
      total_words > 0,
      "no text to train on: the input's {} bytes are all special tokens or removed by the pre-tokenizer",
      total_bytes);

  // Ids: special tokens, then the 256 bytes in order of their byte-level character, then merges.
  std::vector<std::string> vocab(specials.begin(), specials.end());  // byte-level spelling by id
  std::unordered_map<std::string, int32_t> vocab_ids;
  for (size_t i = 0; i < vocab.size(); ++i) vocab_ids[vocab[i]] = int32_t(i);
  std::vector<int> bytes(256);
  for (int b = 0; b < 256; ++b) bytes[b] = b;
  std::sort(bytes.begin(), bytes.end(), [](int x, int y) {
    return tok::byte_to_codepoint(uint8_t(x)) < tok::byte_to_codepoint(uint8_t(y));
  });
  std::array<int32_t, 256> byte_id;
  for (int b : bytes) {
    byte_id[b] = int32_t(vocab.size());
    vocab.push_back(tok::bytes_to_byte_level(std::string(1, char(b))));
    vocab_ids[vocab.back()] = byte_id[b];
  }

  // Words sorted, so ids and tie-breaks never depend on hash order or thread count.
  std::vector<std::pair<std::string, uint64_t>> sorted(counts.begin(), counts.end());
  CountMap().swap(counts);
  std::sort(sorted.begin(), sorted.end());
  std::vector<Word> words(sorted.size());
  for (size_t i = 0; i < sorted.size(); ++i) {
    for (unsigned char c : sorted[i].first) words[i].syms.push_back(byte_id[c]);
    words[i].count = sorted[i].second;
  }
  decltype(sorted)().swap(sorted);
  r.count_seconds = since(t0);
  log(fmt::format("counted {} ({} unique) in {:.2f} MB in {:.1f}s", count_of(int64_t(r.words), "word"),
                  r.unique_words, r.input_bytes / 1e6, r.count_seconds));

  // 2. Initial pair counts and where each pair occurs, in parallel.
  auto t1 = Clock::now();
  log(fmt::format("counting the pairs of adjacent bytes in {} distinct words", r.unique_words));
  std::unordered_map<uint64_t, int64_t> pair_count;
  std::unordered_map<uint64_t, std::vector<uint32_t>> where;
  {
    std::vector<std::unordered_map<uint64_t, int64_t>> lc(threads);
    std::vector<std::unordered_map<uint64_t, std::vector<uint32_t>>> lw(threads);
    ParallelErrors pair_errors;
#pragma omp parallel for schedule(static) num_threads(threads)
    for (size_t i = 0; i < words.size(); ++i) {
      pair_errors.run(int64_t(i), [&] {
        int t = omp_get_thread_num();
        const auto& s = words[i].syms;
        for (size_t k = 0; k + 1 < s.size(); ++k) {
          uint64_t p = pair_key(s[k], s[k + 1]);
          lc[t][p] += int64_t(words[i].count);
          auto& v = lw[t][p];
          if (v.empty() || v.back() != i) v.push_back(uint32_t(i));
        }
      });
    }
    pair_errors.rethrow();  // memory
    // Threads hold increasing word ranges (static schedule), so appending in thread order keeps lists sorted.
    for (int t = 0; t < threads; ++t) {
      for (auto& [p, c] : lc[t]) pair_count[p] += c;
      for (auto& [p, v] : lw[t]) {
        auto& dst = where[p];
        dst.insert(dst.end(), v.begin(), v.end());
      }
    }
  }
  std::priority_queue<QueueEntry> queue;
  for (auto& [p, c] : pair_count)
    if (c > 0) queue.push({uint64_t(c), p});

  // 3. Merge until the vocabulary is full.
  std::vector<std::pair<int32_t, int32_t>> merges;
  std::vector<std::vector<Change>> changes(threads);
  while (vocab.size() < opt.vocab_size && !queue.empty()) {
    QueueEntry top = queue.top();
    queue.pop();
    int64_t current = pair_count[top.pair];
    if (uint64_t(std::max<int64_t>(current, 0)) != top.count) {
      if (current > 0) queue.push({uint64_t(current), top.pair});
      continue;
    }
    if (top.count < std::max<uint64_t>(opt.min_frequency, 1)) break;
    int32_t a = int32_t(top.pair >> 32), b = int32_t(uint32_t(top.pair));
    std::string merged = vocab[a] + vocab[b];
    int32_t m;
    if (auto it = vocab_ids.find(merged); it != vocab_ids.end()) {
      // A special token's text that is also the byte-level spelling of other bytes (say "Ġthe", " the"):
      // sharing its id would decode those bytes as the special's text, so this pair is never merged.
      if (size_t(it->second) < specials.size()) continue;
      m = it->second;  // reached before by another split of the same string: reuse its id
    } else {
      m = int32_t(vocab.size());
      vocab.push_back(merged);
      vocab_ids[merged] = m;
    }
    merges.emplace_back(a, b);
    std::vector<uint32_t> list = std::move(where[top.pair]);
    where.erase(top.pair);
    // Apply to the words containing the pair; large lists in parallel (each word is touched by one thread).
    int nt = list.size() > 4096 ? threads : 1;
    ParallelErrors merge_errors;
#pragma omp parallel for schedule(static) num_threads(nt)
    for (size_t i = 0; i < list.size(); ++i)
      merge_errors.run(int64_t(i), [&] {
        merge_in_word(words[list[i]], a, b, m, list[i], changes[omp_get_thread_num()]);
      });
    merge_errors.rethrow();  // memory
    pair_count[top.pair] = 0;
    std::unordered_map<uint64_t, int64_t> fresh;  // pairs that gained occurrences
    for (int t = 0; t < nt; ++t) {
      for (const Change& c : changes[t]) {
        if (c.pair == top.pair) continue;
        pair_count[c.pair] += c.delta;
        if (c.delta > 0) {
          fresh[c.pair] += c.delta;
          auto& v = where[c.pair];
          if (v.empty() || v.back() != c.word) v.push_back(c.word);
        }
      }
      changes[t].clear();
    }
    // Keep the where-lists sorted and unique, so merge order inside words stays deterministic.
    std::vector<uint64_t> fresh_pairs;
    for (auto& [p, d] : fresh) fresh_pairs.push_back(p);
    std::sort(fresh_pairs.begin(), fresh_pairs.end());
    for (uint64_t p : fresh_pairs) {
      auto& v = where[p];
      if (!std::is_sorted(v.begin(), v.end())) {
        std::sort(v.begin(), v.end());
        v.erase(std::unique(v.begin(), v.end()), v.end());
      }
      if (pair_count[p] > 0) queue.push({uint64_t(pair_count[p]), p});
    }
    if (merges.size() % 1000 == 0)
      log(fmt::format("{} merges, vocabulary {}, last merge count {}", merges.size(), vocab.size(),
                      top.count));
  }
  r.merges = merges.size();
  r.merge_seconds = since(t1);
  log(fmt::format("{} merges in {:.1f}s; vocabulary {}; building tokenizer.json", r.merges, r.merge_seconds,
                  vocab.size()));
  // Freed now, while the log says what happens (seconds for millions of words), not after it.
  decltype(words)().swap(words);
  decltype(where)().swap(where);
  decltype(pair_count)().swap(pair_count);
  decltype(queue)().swap(queue);

  // 4. tokenizer.json and tokenizer_config.json.
  using oj = nlohmann::ordered_json;
  oj added_json = oj::array();
  for (size_t i = 0; i < specials.size(); ++i) {
    bool special = opt.special_tokens.empty() ? i < 3 : true;
    added_json.push_back({{"id", i},
                          {"content", specials[i]},
                          {"single_word", false},
                          {"lstrip", false},
                          {"rstrip", false},
                          {"normalized", !special},
                          {"special", special}});
  }
  // Appended to the ordered object's vector directly: its operator[] searches the keys linearly, which made
  // this loop O(V^2) (13 s at 100K tokens). The keys are distinct (vocab_ids gave each spelling one id).
  oj vocab_json = oj::object();
  auto& vocab_entries = vocab_json.get_ref<oj::object_t&>();
  vocab_entries.reserve(vocab.size());
  for (size_t i = 0; i < vocab.size(); ++i) vocab_entries.Container::emplace_back(vocab[i], oj(i));
  oj merges_json = oj::array();
  for (auto [a, b] : merges) merges_json.push_back(vocab[a] + " " + vocab[b]);
  r.tokenizer = {
      {"version", "1.0"},
      {"truncation", nullptr},
      {"padding", nullptr},
      {"added_tokens", added_json},
      {"normalizer", nullptr},
      {"pre_tokenizer", oj::parse(pre_json.dump())},
      {"post_processor",
       {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", false}, {"use_regex", true}}},
      {"decoder",
       {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}, {"use_regex", true}}},
      {"model",
       {{"type", "BPE"},
        {"dropout", nullptr},
        {"unk_token", nullptr},
        {"continuing_subword_prefix", nullptr},
        {"end_of_word_suffix", nullptr},
        {"fuse_unk", false},
        {"byte_fallback", false},
        {"ignore_merges", false},
        {"vocab", vocab_json},
        {"merges", merges_json}}}};
  bool chat_tokens = opt.special_tokens.empty();
  r.config = {{"add_bos_token", true},
              {"add_eos_token", false},
              {"bos_token", added_token_config(specials[0])},
              {"eos_token", added_token_config(specials[1])},
              {"pad_token", added_token_config(specials.size() > 2 ? specials[2] : specials[1])},
              {"clean_up_tokenization_spaces", false},
              {"legacy", true},
              {"model_max_length", 131072},
              {"unk_token", nullptr},
              {"tokenizer_class", "LlamaTokenizerFast"}};
  if (chat_tokens)
    r.config["chat_template"] = opt.chat_template == "r1" ? kDeepSeekR1ChatTemplate : kDeepSeekV3ChatTemplate;
  return r;
}

BpeTrainResult train_bpe_files(const std::vector<std::filesystem::path>& files, const BpeTrainOptions& opt) {
  if (files.empty()) fail("no input files to train on");
  checked_options(opt);
  // Files are cut into ~1 MB chunks at line ends where the words stay the same, so one big file still trains
  // on every thread and counts the words encoding sees; not where the pre-tokenizer adds a prefix space,
  // which every chunk would get (a word at a chunk's start was counted as " word"), or joins a line's newline
  // to the next line (PreTokenizer::cuts_at_line_starts), or a special token holds a newline that a cut
  // could fall after (tok::added_token_spans_line_start).
  const bool cut =
      tok::PreTokenizer::from_json(pre_tokenizer_json(opt), "pre-tokenizer").cuts_at_line_starts() &&
      std::none_of(opt.special_tokens.begin(), opt.special_tokens.end(), tok::added_token_spans_line_start);
  // The text is held whole while its words are counted, and a file once more while it is cut: refused up
  // front where that cannot fit, rather than killed for memory after reading gigabytes. (A size that cannot
  // be read is read_file's to report.)
  uint64_t total = 0, largest = 0;
  for (const auto& f : files) {
    std::error_code ec;
    refuse_device(f);
    const uint64_t size = std::filesystem::is_regular_file(f, ec) ? std::filesystem::file_size(f, ec) : 0;
    total += ec ? 0 : size;
    largest = std::max(largest, ec ? 0 : size);
  }
  check_memory_for(
      static_cast<long long>(std::min<uint64_t>(total + largest, uint64_t(INT64_MAX))),
      fmt::format("the {} of training text (held while its words are counted) and a copy of its largest file",
                  format_bytes(static_cast<long long>(std::min<uint64_t>(total, INT64_MAX)))),
      "; train on a sample of the text (a few GB give a tokenizer close to one from more)");
  std::vector<std::string> chunks;
  for (const auto& f : files) {
    std::string all = read_file(f);
    // Repairing is what encode does too, but a file that is not text (binary, compressed, UTF-16, whose ASCII
    // is valid UTF-8 with NULs between) should not train a tokenizer without a word said.
    if (size_t valid = tok::utf8_valid_prefix(all); valid < all.size() && opt.log)
      opt.log(
          fmt::format("note: {} is not valid UTF-8 (first at byte {}); invalid bytes are read as U+FFFD, as "
                      "encode reads them",
                      f.string(), valid));
    if (size_t nul = all.find('\0'); nul != std::string::npos && opt.log)
      opt.log(
          fmt::format("note: {} holds NUL bytes (first at byte {}): is it UTF-16 or binary rather than text?",
                      f.string(), nul));
    constexpr size_t kChunk = size_t(1) << 20;
    if (all.size() <= kChunk || !cut) {  // one chunk: moved, not copied
      if (!all.empty()) chunks.push_back(std::move(all));
      continue;
    }
    size_t pos = 0;
    while (pos < all.size()) {
      size_t end = std::min(all.size(), pos + kChunk);
      if (end < all.size()) end = tok::pre_token_cut_after(all, end);
      chunks.push_back(all.substr(pos, end - pos));
      pos = end;
    }
  }
  SEEK_CHECK(!chunks.empty(), "no text to train on: {} empty",
             files.size() == 1 ? files[0].string() + " is" : "the input files are");
  return train_bpe(chunks, opt);
}

void save_bpe(const BpeTrainResult& r, const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) fail("cannot create {}: {}", dir.string(), ec.message());
  // Both files are written in full before either replaces anything: a full disk or a file that may not be
  // replaced leaves the old pair as it was, never half a tokenizer. Only a crash between the two renames
  // below can leave the new tokenizer.json beside the old config.
  AtomicFile tokenizer(dir / "tokenizer.json"), config(dir / "tokenizer_config.json");
  for (auto [file, j] : {std::pair{&tokenizer, &r.tokenizer}, std::pair{&config, &r.config}}) {
    const std::string text = j->dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::strict) + "\n";
    file->write(text.data(), text.size());
  }
  // Two runs saving into one folder at once left one's tokenizer.json beside the other's config (both
  // exiting 0): the renames of each pair happen under an flock on the folder, so the last pair saved is
  // whole. The folder itself is locked, so nothing is left in it. Where that lock cannot be taken (NFS,
  // whose emulated flock needs a file open for writing), it saves as before, and says so.
  const Fd folder(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  int locked = -1;
  if (folder.fd >= 0) {
    do {
      locked = ::flock(folder.fd, LOCK_EX);
    } while (locked != 0 && errno == EINTR);
  }
  if (locked != 0)
    print_stderr("note: cannot lock {} ({}), so nothing stops another save there from mixing its files in\n",
                 dir.string(), std::strerror(errno));
  tokenizer.commit();
  config.commit();
}  // closing the folder releases the flock

}  // namespace seek
