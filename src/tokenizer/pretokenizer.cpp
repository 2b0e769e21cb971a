// Split / Digits / ByteLevel pre-tokenizers; see pretokenizer.hpp. Split behaviours follow Hugging Face's
// Rust implementation (the JavaScript port treats every behaviour but Removed as Isolated; the two agree on
// the Isolated splits real byte-level tokenizers use).
#include "tokenizer/pretokenizer.hpp"

#include <algorithm>
#include <optional>

#include "core/error.hpp"
#include "core/unicode_space.hpp"
#include "core/untrusted_json.hpp"
#include "tokenizer/unicode_delta.hpp"

namespace seek::tok {

const char* const kGpt2Pattern =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

nlohmann::json deepseek_v3_pre_tokenizer_json() {
  return nlohmann::json::parse(R"JSON({"type": "Sequence", "pretokenizers": [
    {"type": "Split", "pattern": {"Regex": "\\p{N}{1,3}"}, "behavior": "Isolated", "invert": false},
    {"type": "Split", "pattern": {"Regex": "[\u4e00-\u9fa5\u3040-\u309f\u30a0-\u30ff]+"}, "behavior": "Isolated", "invert": false},
    {"type": "Split", "pattern": {"Regex": "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+"}, "behavior": "Isolated", "invert": false},
    {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false}]})JSON");
}

nlohmann::json gpt2_pre_tokenizer_json() {
  return nlohmann::json::parse(
      R"JSON({"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true})JSON");
}

namespace {

std::string escape_regex(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (std::string_view("\\^$.|?*+()[]{}-/").find(c) != std::string_view::npos) out += '\\';
    out += c;
  }
  return out;
}

SplitBehavior parse_behavior(const nlohmann::json& j, const std::string& where) {
  std::string b = j.is_string() ? j.get<std::string>() : "";
  if (b == "Isolated") return SplitBehavior::Isolated;
  if (b == "Removed") return SplitBehavior::Removed;
  if (b == "MergedWithPrevious") return SplitBehavior::MergedWithPrevious;
  if (b == "MergedWithNext") return SplitBehavior::MergedWithNext;
  if (b == "Contiguous") return SplitBehavior::Contiguous;
  fail(
      "{}.behavior: unsupported split behaviour {} (supported: Isolated, Removed, MergedWithPrevious, "
      "MergedWithNext, Contiguous)",
      where, describe_json(j));
}

struct Span {
  size_t b, e;
  bool match;
};

// Whether `s` is exactly one non-ASCII space (core/unicode_space.hpp).
bool is_unicode_space(std::string_view s) {
  return !s.empty() && unicode_space_at(s) == s.size();
}

}  // namespace

PreTokenizer PreTokenizer::from_json(const nlohmann::json& j, const std::string& where) {
  PreTokenizer p;
  bool saw_byte_level = false;
  if (j.is_null())
    fail(
        "{} is missing or null: only byte-level BPE tokenizers are supported, and they need a ByteLevel "
        "pre-tokenizer",
        where);
  p.add(j, where, &saw_byte_level);
  if (!saw_byte_level) fail("{} has no ByteLevel step: only byte-level BPE tokenizers are supported", where);
  try {
    p.cuts_at_line_starts_ = !p.adds_prefix_space() && p.keeps_pieces_at_probed_cuts();
  } catch (const Error& e) {
    // A pattern PCRE2 cannot run (a recursive one exhausting its stack, say) fails here on texts of our own:
    // the message names the file's entry, not only an input the user never gave.
    fail("{}: a pattern fails when run (seek tries each on short texts as it loads): {}", where, e.what());
  }
  return p;
}

bool PreTokenizer::keeps_pieces_at_probed_cuts() const {
  // Newlines between visible characters of every kind the patterns tell apart: letters (lower and upper
  // case: a pattern may join a newline to a capital, as \s?[A-Z][a-z]* does), digits, punctuation,
  // contractions, CJK, accented letters, markup.
  static constexpr std::string_view kProbes[] = {
      "a\nb",   "ab.\ncd", "1\n2", "12\n34", "x!\n?y", "a'\n's", "\u4e2d\n\u6587", "\u00e9\n\u00e8",
      "a\n<b>", "A)\n(B",  "a\nB", "A\nB",   "1\nA",   "x.\nY",  "a\n\u00c9",      "Ab\nCd"};
  const auto pieces = [&](std::string_view text) {
    std::vector<std::string> out;
    run(text, [&](std::string_view piece) { out.emplace_back(piece); });
    return out;
  };
  for (std::string_view probe : kProbes) {
    const size_t cut = pre_token_cut_after(probe, 0);
    if (cut >= probe.size()) continue;
    std::vector<std::string> apart = pieces(probe.substr(0, cut));
    for (auto& piece : pieces(probe.substr(cut))) apart.push_back(std::move(piece));
    if (apart != pieces(probe)) return false;
  }
  return true;
}

nlohmann::json with_required_pre_tokenizer_keys(const nlohmann::json& pre) {
  if (!pre.is_object()) return pre;
  nlohmann::json out = pre;
  const auto type = pre.find("type");
  if (type == pre.end() || !type->is_string()) return out;
  const auto fill = [&](const char* key, bool value) {
    if (!out.contains(key) || out[key].is_null()) out[key] = value;  // seek reads null as the default too
  };
  if (*type == "Sequence") {
    if (const auto it = out.find("pretokenizers"); it != out.end() && it->is_array())
      for (auto& step : *it) step = with_required_pre_tokenizer_keys(step);
  } else if (*type == "ByteLevel") {
    fill("add_prefix_space", true);
    fill("trim_offsets", true);
    fill("use_regex", true);
  } else if (*type == "Split") {
    fill("invert", false);
  } else if (*type == "Digits") {
    fill("individual_digits", false);
  }
  return out;
}

bool PreTokenizer::adds_prefix_space() const {
  return std::any_of(stages_.begin(), stages_.end(), [](const Stage& s) { return !s.re; });
}

void PreTokenizer::add(const nlohmann::json& j, const std::string& where, bool* saw_byte_level) {
  if (!j.is_object() || !j.contains("type") || !j["type"].is_string())
    fail("{}: expected an object with a \"type\", got {}", where, describe_json(j));
  std::string type = j["type"].get<std::string>();
  if (*saw_byte_level && type != "Sequence")
    fail("{}: a {} step after ByteLevel is not supported (ByteLevel must be the last pre-tokenizer)", where,
         type);
  if (type == "Sequence") {
    auto it = j.find("pretokenizers");
    if (it == j.end() || !it->is_array()) fail("{}: Sequence needs a \"pretokenizers\" array", where);
    for (size_t i = 0; i < it->size(); ++i)
      add((*it)[i], where + ".pretokenizers[" + std::to_string(i) + "]", saw_byte_level);
  } else if (type == "Split") {
    auto pat = j.find("pattern");
    if (pat == j.end() || !pat->is_object()) fail("{}: Split needs a \"pattern\" object", where);
    std::string re;
    if (pat->contains("Regex") && (*pat)["Regex"].is_string()) {
      re = (*pat)["Regex"].get<std::string>();
    } else if (pat->contains("String") && (*pat)["String"].is_string()) {
      re = escape_regex((*pat)["String"].get<std::string>());
    } else {
      fail("{}.pattern: expected {{\"Regex\": ...}} or {{\"String\": ...}}, got {}", where,
           describe_json(*pat));
    }
    Stage s;
    try {
      s.re = std::make_shared<Regex>(re);
    } catch (const Error& e) {
      fail("{}.pattern: {}", where, e.what());
    }
    s.behavior = parse_behavior(j.value("behavior", nlohmann::json()), where);
    s.invert = json_flag(j, "invert", false, where);
    stages_.push_back(std::move(s));
  } else if (type == "Digits") {
    Stage s;
    s.re = std::make_shared<Regex>(json_flag(j, "individual_digits", false, where) ? "\\p{N}" : "\\p{N}+");
    stages_.push_back(std::move(s));
  } else if (type == "ByteLevel") {
    *saw_byte_level = true;
    if (json_flag(j, "add_prefix_space", true, where)) stages_.push_back(Stage{});
    if (json_flag(j, "use_regex", true, where)) {
      Stage s;
      s.re = std::make_shared<Regex>(kGpt2Pattern);
      stages_.push_back(std::move(s));
    }
  } else {
    fail("{}: unsupported pre-tokenizer type \"{}\" (supported: Sequence, Split, Digits, ByteLevel)", where,
         type);
  }
}

void PreTokenizer::run(std::string_view text, const std::function<void(std::string_view)>& fn) const {
  // Checked once per text: the exact (slower) regex forms are only needed for very new characters.
  run_stage(0, text, has_newer_unicode(text), fn);
}

void PreTokenizer::run_stage(size_t k, std::string_view text, bool newer,
                             const std::function<void(std::string_view)>& fn) const {
  if (text.empty()) return;
  if (k == stages_.size()) {
    fn(text);
    return;
  }
  const Stage& st = stages_[k];
  if (!st.re) {  // ByteLevel add_prefix_space
    if (text[0] == ' ') return run_stage(k + 1, text, newer, fn);
    std::string with_space(text.size() + 1, ' ');
    text.copy(with_space.data() + 1, text.size());
    return run_stage(k + 1, with_space, newer, fn);
  }
  auto next = [&](size_t b, size_t e) { run_stage(k + 1, text.substr(b, e - b), newer, fn); };
  // An empty match (a lookahead, `x*`) is a match of no text, and so a cut, as in Hugging Face's tokenizers
  // (whose empty pieces are then dropped): skipping them ran merges across the cut. As there (Oniguruma's
  // iterator), an empty match where the previous match ended is not one, and after an empty match the
  // search resumes one code point later.
  auto for_each_span = [&](auto&& emit) {
    size_t pos = 0, from = 0, b, e;
    std::optional<size_t> last_end;
    while (from <= text.size() && st.re->find(text, from, &b, &e, newer)) {
      if (e == b) {
        from = b + 1;
        while (from < text.size() && (static_cast<unsigned char>(text[from]) & 0xC0) == 0x80) ++from;
        if (last_end == b) continue;
      } else {
        from = e;
      }
      if (b > pos) emit(Span{pos, b, st.invert});
      emit(Span{b, e, !st.invert});
      pos = e;
      last_end = e;
    }
    if (pos < text.size()) emit(Span{pos, text.size(), st.invert});
  };
  switch (st.behavior) {
    case SplitBehavior::Isolated:
      for_each_span([&](Span s) { next(s.b, s.e); });
      return;
    case SplitBehavior::Removed:
      for_each_span([&](Span s) {
        if (!s.match) next(s.b, s.e);
      });
      return;
    default:
      break;
  }
  std::vector<Span> spans;
  for_each_span([&](Span s) { spans.push_back(s); });
  std::vector<Span> acc;
  bool prev_match = false;
  if (st.behavior == SplitBehavior::MergedWithPrevious) {
    for (const Span& s : spans) {
      if (s.match && !prev_match && !acc.empty())
        acc.back().e = s.e;
      else
        acc.push_back(s);
      prev_match = s.match;
    }
  } else if (st.behavior == SplitBehavior::MergedWithNext) {
    for (auto it = spans.rbegin(); it != spans.rend(); ++it) {
      if (it->match && !prev_match && !acc.empty())
        acc.back().b = it->b;
      else
        acc.push_back(*it);
      prev_match = it->match;
    }
    std::reverse(acc.begin(), acc.end());
  } else {  // Contiguous
    for (const Span& s : spans) {
      if (s.match == prev_match && !acc.empty())
        acc.back().e = s.e;
      else
        acc.push_back(s);
      prev_match = s.match;
    }
  }
  for (const Span& s : acc) next(s.b, s.e);
}

size_t pre_token_cut_after(std::string_view text, size_t from) {
  auto visible_ascii = [](unsigned char c) { return c > ' ' && c < 0x7f; };
  auto space_before = [&](std::string_view head) {
    if (visible_ascii(static_cast<unsigned char>(head.back()))) return false;
    if (static_cast<unsigned char>(head.back()) < 0x80) return true;
    return (head.size() >= 2 && is_unicode_space(head.substr(head.size() - 2))) ||
           (head.size() >= 3 && is_unicode_space(head.substr(head.size() - 3)));
  };
  auto space_after = [&](std::string_view tail) {
    if (visible_ascii(static_cast<unsigned char>(tail[0]))) return false;
    if (static_cast<unsigned char>(tail[0]) < 0x80) return true;
    return is_unicode_space(tail.substr(0, 2)) || is_unicode_space(tail.substr(0, 3));
  };
  for (size_t p = text.find('\n', from); p != std::string_view::npos; p = text.find('\n', p + 1))
    if (p > 0 && p + 1 < text.size() && !space_before(text.substr(0, p)) && !space_after(text.substr(p + 1)))
      return p + 1;
  return text.size();
}

}  // namespace seek::tok
