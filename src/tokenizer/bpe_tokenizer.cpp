// Loading a Hugging Face tokenizer.json into BpeTokenizer, and encode/decode; see bpe_tokenizer.hpp.
// The behaviour follows Hugging Face's tokenizers; where its JavaScript port (which the tests also run)
// differs, docs/tokenizer.md (Exactness) says which of the two seek follows.
#include "tokenizer/bpe_tokenizer.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <omp.h>

#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "core/error.hpp"
#include "core/parallel_errors.hpp"
#include "core/untrusted_json.hpp"
#include "tokenizer/byte_level.hpp"
#include "tokenizer/tokenizer_files.hpp"
#include "tokenizer/utf8.hpp"

namespace seek::tok {
namespace {

using nlohmann::json;

// Added tokens are matched at every position of the text by walking a trie as far as the text follows a
// token, so a token of n bytes can cost n steps per text byte: one of 200 KB made encoding 200 KB of text
// run for minutes. Real added tokens are short (DeepSeek-V3's longest is 33 bytes).

// A component's "type" ("ByteLevel"), or "" where it has none or it is not a string (value() would throw
// nlohmann's "type must be string, but is number", naming no key).
std::string type_of(const json& component) {
  if (!component.is_object()) return "";
  const auto it = component.find("type");
  return it != component.end() && it->is_string() ? it->get<std::string>() : "";
}

// tokenizer_config.json spells a token as a string or as {"__type": "AddedToken", "content": ...}; nullopt
// when the key is absent or null. Another value is an error: ignored, it would leave BOS or EOS unset.
std::optional<std::string> config_token(const json& cfg, const char* key, const std::string& cfg_name) {
  if (!cfg.is_object()) return std::nullopt;
  auto it = cfg.find(key);
  if (it == cfg.end() || it->is_null()) return std::nullopt;
  if (it->is_string()) return it->get<std::string>();
  if (it->is_object() && it->contains("content") && (*it)["content"].is_string())
    return (*it)["content"].get<std::string>();
  fail("{}: {} must be a string or an object with a string \"content\", got {}", cfg_name, key,
       describe_json(*it));
}

// Encoding starts from one symbol per input byte; a byte with no symbol and no unk_token to stand for it is
// left out of the ids without a word (Hugging Face does the same), so such a vocabulary is refused at load.
void check_byte_symbols(const std::array<int32_t, 256>& byte_id, int32_t unk, const std::string& name) {
  if (unk >= 0) return;
  for (int c = 0; c < 256; ++c) {
    if (byte_id[c] >= 0) continue;
    std::string spelled = bytes_to_byte_level(std::string(1, char(c)));
    fail(
        "{}: the vocabulary has no symbol for byte 0x{:02X}{} (spelled \"{}\"); a byte-level BPE without an "
        "unk_token needs all 256",
        name, c, c > 0x20 && c < 0x7F ? fmt::format(" ('{}')", char(c)) : "", spelled);
  }
}

}  // namespace

BpeTokenizer::BpeTokenizer(const json& j, const json& cfg, const std::string& name) try : name_(name) {
  if (!j.is_object()) fail("{}: expected a JSON object at the top level", name);
  // Below, parts are copied and Sequence steps read recursively; both recurse once per nesting level.
  check_json_depth(j, name);
  if (!j.contains("model") || !j["model"].is_object()) fail("{}: no \"model\" object", name);
  const json& m = j["model"];
  if (m.contains("type") && m["type"] != "BPE")
    fail("{}: model.type {} is not supported (only byte-level BPE is)", name, describe_json(m["type"]));
  for (const char* k : {"continuing_subword_prefix", "end_of_word_suffix"})
    if (m.contains(k) && !m[k].is_null() && m[k] != "")
      fail("{}: model.{} = {} is not supported by byte-level BPE", name, k, describe_json(m[k]));
  if (m.contains("dropout") && !m["dropout"].is_null()) {  // a string "0.5" was ignored
    SEEK_CHECK(m["dropout"].is_number(), "{}: model.dropout must be a number or null, got {}", name,
               describe_json(m["dropout"]));
    if (m["dropout"].get<double>() > 0)
      fail("{}: model.dropout = {} is not supported (BPE dropout makes encoding random)", name,
           describe_json(m["dropout"]));
  }
  ignore_merges_ = json_flag(m, "ignore_merges", false, name + ": model");

  // Vocabulary. Ids may leave holes, but not absurdly large ones (they size a table).
  if (!m.contains("vocab") || !m["vocab"].is_object()) fail("{}: model.vocab must be an object", name);
  const size_t n_added =
      j.contains("added_tokens") && j["added_tokens"].is_array() ? j["added_tokens"].size() : 0;
  const int64_t max_id = int64_t(m["vocab"].size() + n_added) + 65536;
  for (auto it = m["vocab"].begin(); it != m["vocab"].end(); ++it) {
    if (!it.value().is_number_integer() || it.value().get<int64_t>() < 0 ||
        it.value().get<int64_t>() > max_id)
      fail("{}: model.vocab[{}] = {} is not a valid token id (0..{})", name, describe_json(it.key()),
           describe_json(it.value()), max_id);
    auto id = it.value().get<TokenId>();
    if (size_t(id) >= tokens_.size()) tokens_.resize(size_t(id) + 1);
    TokenInfo& t = tokens_[id];
    if (t.present)
      fail("{}: model.vocab gives id {} to both {} and {}", name, id, describe_json(t.text),
           describe_json(it.key()));
    t.present = true;
    t.text = it.key();
    // A token with a character outside the byte map decodes to its own UTF-8, as Hugging Face does.
    const std::optional<std::string> bytes = byte_level_to_bytes(t.text);
    t.bytes = bytes.value_or(t.text);
    by_text_[t.text] = id;
    // Hugging Face looks a whole word up by its byte-level spelling, which such a token cannot be: 中 in
    // the vocabulary is never the text 中 (whose spelling is ä¸Ń), so it must not match the raw bytes.
    if (ignore_merges_ && bytes) whole_word_[*bytes] = id;
  }
  auto vocab_id = [&](const std::string& s) -> TokenId {
    auto it = by_text_.find(s);
    return it == by_text_.end() ? -1 : it->second;
  };

  // Merges: "left right" strings (tokenizers < 0.20) or ["left", "right"] pairs. A merge's rank is its place
  // among the merges kept.
  if (!m.contains("merges") || !m["merges"].is_array()) fail("{}: model.merges must be an array", name);
  std::vector<std::array<int32_t, 3>> merges;
  merges.reserve(m["merges"].size());
  for (size_t r = 0; r < m["merges"].size(); ++r) {
    const json& e = m["merges"][r];
    std::string a, b;
    if (e.is_string()) {
      const std::string& s = e.get_ref<const std::string&>();
      // merges.txt's "#version: 0.2" header, which files converted from one may keep: Hugging Face skips a
      // string merge starting with "#version" wherever it is (it was refused as a malformed merge).
      if (s.starts_with("#version")) continue;
      size_t sp = s.find(' ');
      if (sp == std::string::npos || s.find(' ', sp + 1) != std::string::npos || sp == 0 ||
          sp + 1 == s.size())
        fail("{}: model.merges[{}] = {}: expected two tokens separated by one space", name, r,
             describe_json(e));
      a = s.substr(0, sp);
      b = s.substr(sp + 1);
    } else if (e.is_array() && e.size() == 2 && e[0].is_string() && e[1].is_string()) {
      a = e[0].get<std::string>();
      b = e[1].get<std::string>();
    } else {
      fail("{}: model.merges[{}] = {}: expected \"left right\" or [\"left\", \"right\"]", name, r,
           describe_json(e));
    }
    TokenId ia = vocab_id(a), ib = vocab_id(b), im = vocab_id(a + b);
    if (ia < 0 || ib < 0 || im < 0)
      fail("{}: model.merges[{}] = {}: {} is not in the vocabulary", name, r, describe_json(e),
           describe_json(ia < 0   ? a
                         : ib < 0 ? b
                                  : a + b));
    merges.push_back({ia, ib, im});
  }
  std::array<int32_t, 256> byte_id;
  for (int c = 0; c < 256; ++c) byte_id[c] = vocab_id(bytes_to_byte_level(std::string(1, char(c))));
  TokenId unk = -1;
  if (m.contains("unk_token") && !m["unk_token"].is_null()) {
    // Another value was ignored without a word, leaving the model without its unk token.
    if (!m["unk_token"].is_string())
      fail("{}: model.unk_token must be a string or null, got {}", name, describe_json(m["unk_token"]));
    unk = vocab_id(m["unk_token"].get<std::string>());
  }
  check_byte_symbols(byte_id, unk, name);
  model_ =
      std::make_unique<BpeModel>(byte_id, merges, unk, json_flag(m, "fuse_unk", false, name + ": model"));

  // Added tokens: they override the vocabulary entry with the same id, as in Hugging Face.
  if (j.contains("added_tokens") && !j["added_tokens"].is_null()) {
    if (!j["added_tokens"].is_array()) fail("{}: added_tokens must be an array", name);
    for (size_t i = 0; i < j["added_tokens"].size(); ++i) {
      const json& e = j["added_tokens"][i];
      if (!e.is_object() || !e.contains("id") || !e["id"].is_number_integer() || e["id"].get<int64_t>() < 0 ||
          e["id"].get<int64_t>() > max_id || !e.contains("content") || !e["content"].is_string())
        fail("{}: added_tokens[{}] = {}: needs an integer \"id\" in 0..{} and a string \"content\"", name, i,
             describe_json(e), max_id);
      // Hugging Face leaves out an added token with empty content (it would match nowhere); it failed the
      // whole file here.
      if (e["content"] == "") continue;
      AddedToken t;
      t.id = e["id"].get<TokenId>();
      t.content = e["content"].get<std::string>();
      const std::string where = fmt::format("{}: added_tokens[{}]", name, i);
      t.special = json_flag(e, "special", false, where);
      t.lstrip = json_flag(e, "lstrip", false, where);
      t.rstrip = json_flag(e, "rstrip", false, where);
      t.normalized = json_flag(e, "normalized", !t.special, where);
      t.single_word = json_flag(e, "single_word", false, where);
      if (size_t(t.id) >= tokens_.size()) tokens_.resize(size_t(t.id) + 1);
      check_added_token(t, i, name);
      TokenInfo& info = tokens_[t.id];
      info = TokenInfo{t.content, t.content, int32_t(added_.size()), true};
      by_text_[t.content] = t.id;
      added_.push_back(std::move(t));
    }
  }
  normalizer_ = Normalizer::from_json(j.value("normalizer", json()), name + ": normalizer");
  std::vector<std::string> raw(added_.size()), normalized(added_.size());
  for (size_t k = 0; k < added_.size(); ++k) {
    std::string storage;
    if (added_[k].normalized)
      normalized[k] = normalizer_.apply(added_[k].content, storage);
    else
      raw[k] = added_[k].content;
  }
  match_raw_ = std::make_unique<AddedTokenMatcher>(added_, raw);
  match_normalized_ = std::make_unique<AddedTokenMatcher>(added_, normalized);
  pre_ = PreTokenizer::from_json(j.value("pre_tokenizer", json()), name + ": pre_tokenizer");

  // Decoder: ByteLevel, alone or as the only step of a Sequence.
  json dec = j.value("decoder", json());
  if (type_of(dec) == "Sequence" && dec.contains("decoders") && dec["decoders"].is_array() &&
      dec["decoders"].size() == 1)
    dec = dec["decoders"][0];
  if (type_of(dec) != "ByteLevel")
    fail("{}: decoder {} is not supported (only ByteLevel)", name, describe_json(dec));

  // BOS/EOS/pad from tokenizer_config.json, falling back to DeepSeek's spellings.
  const std::string cfg_name = (std::filesystem::path(name).parent_path() / "tokenizer_config.json").string();
  if (!cfg.is_null() && !cfg.is_object()) fail("{}: expected a JSON object at the top level", cfg_name);
  // A named token the vocabulary lacks is an error: without it BOS would not be added, or generation would
  // not stop at EOS.
  auto id_of = [&](const char* key) -> TokenId {
    auto s = config_token(cfg, key, cfg_name);
    if (!s) return -1;
    TokenId id = vocab_id(*s);
    if (id < 0) fail("{}: {} {} is not a token of {}", cfg_name, key, describe_json(*s), name);
    return id;
  };
  bos_ = id_of("bos_token");
  eos_ = id_of("eos_token");
  pad_ = id_of("pad_token");
  if (bos_ < 0) bos_ = vocab_id(std::string(tokens::kBos));
  if (eos_ < 0) eos_ = vocab_id(std::string(tokens::kEos));
  if (pad_ < 0) pad_ = vocab_id(std::string(tokens::kPad));
  if (pad_ < 0) pad_ = eos_;

  // What add_special adds: tokenizer_config's add_bos_token/add_eos_token when given (transformers rebuilds
  // the post-processor from them), otherwise a TemplateProcessing post-processor's single template.
  json post = j.value("post_processor", json());
  // A Sequence (Llama-3's and R1-Distill-Llama's: ByteLevel, then TemplateProcessing) is its steps in turn: a
  // ByteLevel step changes only offsets, so what it adds is its one template's.
  if (type_of(post) == "Sequence") {
    const json steps = post.value("processors", json());
    if (!steps.is_array())
      fail("{}: post_processor of type Sequence needs a \"processors\" list, got {}", name,
           describe_json(steps));
    json templ;
    for (size_t k = 0; k < steps.size(); ++k) {
      const std::string t = type_of(steps[k]);
      if (t == "TemplateProcessing" && templ.is_null()) {
        templ = steps[k];
      } else if (t != "ByteLevel") {
        fail(
            "{}: post_processor.processors[{}] {} is not supported (supported: ByteLevel steps and one "
            "TemplateProcessing)",
            name, k, describe_json(steps[k]));
      }
    }
    post = templ;
  }
  const std::string post_type = type_of(post);
  if (!post.is_null() && post_type != "ByteLevel" && post_type != "TemplateProcessing")
    fail(
        "{}: post_processor {} is not supported (supported: null, or an object of type ByteLevel, "
        "TemplateProcessing, or a Sequence of them)",
        name, describe_json(post));
  // LlamaTokenizerFast (DeepSeek's class) rebuilds the post-processor from its flags whatever they are, a
  // flag left out taking the class's default (BOS added, EOS not): a config giving only add_eos_token, or
  // neither, added no BOS here and one in transformers. An explicit null is false there. Other classes add
  // nothing unasked.
  const std::string cfg_class =
      cfg.is_object() && cfg.contains("tokenizer_class") && cfg["tokenizer_class"].is_string()
          ? cfg["tokenizer_class"].get<std::string>()
          : "";
  const bool llama_class = cfg_class == "LlamaTokenizerFast" || cfg_class == "LlamaTokenizer";
  const bool cfg_flags =
      cfg.is_object() && (cfg.contains("add_bos_token") || cfg.contains("add_eos_token") || llama_class);
  if (cfg_flags) {
    // A flag set with no such token added nothing without a word (transformers refuses it too): text would
    // then be encoded, and models trained, without the BOS the file asks for.
    for (const auto& [flag, id, role, fallback, by_default] :
         {std::tuple{"add_bos_token", bos_, "bos_token", tokens::kBos, llama_class},
          std::tuple{"add_eos_token", eos_, "eos_token", tokens::kEos, false}}) {
      if (!(cfg.contains(flag) ? json_flag(cfg, flag, false, cfg_name) : by_default)) continue;
      SEEK_CHECK(
          id >= 0,
          "{}: {} is true but the tokenizer has no {} (none is named, and {} is not in the vocabulary)",
          cfg_name, flag, role, fallback);
      (flag == std::string_view("add_bos_token") ? prefix_ : suffix_).push_back(id);
    }
  } else if (post_type == "TemplateProcessing") {
    // Each part checked by name: at() and get() would throw nlohmann's messages, which name no key.
    const json single = post.value("single", json());
    if (!single.is_array())
      fail("{}: post_processor.single must be a list of template pieces, got {}", name,
           describe_json(single));
    const json specials = post.value("special_tokens", json::object());
    if (!specials.is_object())
      fail("{}: post_processor.special_tokens must be an object, got {}", name, describe_json(specials));
    bool after = false;
    for (size_t k = 0; k < single.size(); ++k) {
      const json& piece = single[k];
      if (piece.is_object() && piece.contains("Sequence")) {
        after = true;
        continue;
      }
      const json token = piece.is_object() ? piece.value("SpecialToken", json()) : json();
      if (!token.is_object() || !token.contains("id") || !token["id"].is_string())
        fail(
            "{}: post_processor.single[{}] must be {{\"Sequence\": ...}} or {{\"SpecialToken\": {{\"id\": "
            "\"...\"}}}}, got {}",
            name, k, describe_json(piece));
      const std::string tid = token["id"].get<std::string>();
      if (!specials.contains(tid))
        fail("{}: post_processor.single names special token {} missing from special_tokens", name,
             describe_json(tid));
      // A number iterates as a list of itself: `"ids": 0` was taken for [0].
      const json ids = specials[tid].is_object() ? specials[tid].value("ids", json()) : json();
      if (!ids.is_array())
        fail("{}: post_processor.special_tokens[{}].ids must be a list of token ids, got {}", name,
             describe_json(tid), describe_json(ids));
      for (const json& id : ids) {
        // Unchecked, a wrong id here would be put into every encoding that adds special tokens.
        if (!id.is_number_integer() || id.get<int64_t>() < 0 ||
            id.get<int64_t>() >= int64_t(tokens_.size()) || !tokens_[id.get<size_t>()].present)
          fail(
              "{}: post_processor.special_tokens[\"{}\"].ids: {} is not a token id of the vocabulary (size "
              "{})",
              name, tid, describe_json(id), tokens_.size());
        (after ? suffix_ : prefix_).push_back(id.get<TokenId>());
      }
    }
  }
} catch (const json::exception& e) {
  fail("{}: unexpected structure: {}", name, e.what());
}

// An added token shares its id only with the vocabulary entry of the same text, and its text with no other
// added token: otherwise one id would encode one text and decode another (Hugging Face reassigns such ids
// with a warning; seek refuses the file).
void BpeTokenizer::check_added_token(const AddedToken& t, size_t index, const std::string& name) const {
  if (t.content.size() > kMaxAddedTokenBytes)
    fail("{}: added_tokens[{}] is {} bytes long; added tokens of at most {} bytes are supported", name, index,
         t.content.size(), kMaxAddedTokenBytes);
  const TokenInfo& info = tokens_[t.id];
  if (info.added >= 0)
    fail("{}: added_tokens[{}] ({}) and added_tokens[{}] ({}) both have id {}", name, info.added,
         describe_json(info.text), index, describe_json(t.content), t.id);
  if (info.present && info.text != t.content)
    fail("{}: added_tokens[{}] ({}) has id {}, which model.vocab gives to {}", name, index,
         describe_json(t.content), t.id, describe_json(info.text));
  if (auto it = by_text_.find(t.content); it != by_text_.end() && tokens_[it->second].added >= 0)
    fail("{}: added_tokens[{}] and added_tokens[{}] are both {} (ids {} and {})", name,
         tokens_[it->second].added, index, describe_json(t.content), it->second, t.id);
}

void BpeTokenizer::encode_normalized(std::string_view text, std::vector<TokenId>& out) const {
  // A pattern can fail on some text (PCRE2's match limit): the message names the file the pattern is from.
  try {
    pre_.run(text, [&](std::string_view piece) {
      if (ignore_merges_) {
        if (auto it = whole_word_.find(std::string(piece)); it != whole_word_.end()) {
          out.push_back(it->second);
          return;
        }
      }
      model_->encode_word(piece, out);
    });
  } catch (const Error& e) {
    fail("{}: {}", name_, e.what());
  }
}

std::vector<TokenId> BpeTokenizer::encode(std::string_view text, bool add_special, bool parse_special) const {
  std::string repaired;
  if (!utf8_is_valid(text)) {
    repaired = utf8_repair(text);
    text = repaired;
  }
  std::vector<TokenId> out;
  out.reserve(text.size() / 3 + 4);
  if (add_special) out = prefix_;
  // Hugging Face's two passes (AddedVocabulary::extract_and_normalize): the tokens with normalized false are
  // found in the raw text; each piece between them is normalized on its own, and the tokens with normalized
  // true are found in it, spelled as the normalizer writes them. One pass over the raw text found a
  // normalized token that overlapped a later unnormalized one, or that NFC would compose with the character
  // after it, and missed one written otherwise than NFC writes it.
  std::vector<AddedTokenMatcher::Section> sections, pieces;
  std::string normalized;
  match_raw_->split(text, sections, parse_special);
  for (const auto& s : sections) {
    if (s.token >= 0) {
      out.push_back(added_[s.token].id);
      continue;
    }
    match_normalized_->split(normalizer_.apply(s.text, normalized), pieces, parse_special);
    for (const auto& p : pieces) {
      if (p.token >= 0)
        out.push_back(added_[p.token].id);
      else
        encode_normalized(p.text, out);
    }
  }
  if (add_special) out.insert(out.end(), suffix_.begin(), suffix_.end());
  return out;
}

TokenId BpeTokenizer::first_missing_id() const {
  for (size_t i = 0; i < tokens_.size(); ++i)
    if (!tokens_[i].present) return TokenId(i);
  return -1;
}

void BpeTokenizer::check_id(TokenId id) const {
  if (id < 0 || size_t(id) >= tokens_.size())
    fail("token id {} is not in the vocabulary (size {})", id, tokens_.size());
  // A tokenizer.json may leave ids unused: "not in the vocabulary (size 706)" read wrong for 300.
  if (!tokens_[id].present)
    fail("token id {} is not in the vocabulary: tokenizer.json gives no token that id (its ids run to {})",
         id, tokens_.size() - 1);
}

std::string BpeTokenizer::decode(std::span<const TokenId> ids, bool skip_special) const {
  std::string out, run;
  for (TokenId id : ids) {
    check_id(id);
    const TokenInfo& t = tokens_[id];
    if (t.added >= 0) {
      // A skipped special token is gone before decoding (as Hugging Face filters them): the bytes on its two
      // sides join ("E4 <bos> B8 AD" is 中).
      if (skip_special && added_[t.added].special) continue;
      // Added tokens are emitted as text; the bytes before them are decoded on their own.
      out += utf8_repair(run);
      run.clear();
      out += t.text;
    } else {
      run += t.bytes;
    }
  }
  out += utf8_repair(run);
  return out;
}

std::string BpeTokenizer::token_bytes(TokenId id) const {
  check_id(id);
  return tokens_[id].bytes;
}

std::optional<TokenId> BpeTokenizer::token_to_id(std::string_view token) const {
  auto it = by_text_.find(std::string(token));
  if (it == by_text_.end()) return std::nullopt;
  return it->second;
}

std::string BpeTokenizer::id_to_token(TokenId id) const {
  check_id(id);
  return tokens_[id].text;
}

bool BpeTokenizer::is_special(TokenId id) const {
  check_id(id);
  return tokens_[id].added >= 0 && added_[tokens_[id].added].special;
}

}  // namespace seek::tok

namespace seek {

std::unique_ptr<Tokenizer> load_bpe_tokenizer(const std::filesystem::path& dir) {
  auto tj = dir / "tokenizer.json";
  auto j = tok::read_tokenizer_json(tj);
  if (!j) fail("{} does not exist", tj.string());
  auto cfg = tok::read_tokenizer_json(dir / "tokenizer_config.json");
  return std::make_unique<tok::BpeTokenizer>(*j, cfg.value_or(nlohmann::json()), tj.string());
}

std::unique_ptr<Tokenizer> load_tokenizer(const std::filesystem::path& dir) {
  if (tok::tokenizer_file_present(dir / "tokenizer.json")) return load_bpe_tokenizer(dir);
  // A folder of seek's own byte-level models holds no tokenizer file; one with another tokenizer's files but
  // no tokenizer.json (copied without it, or a slow tokenizer's only) is a model whose ids the byte-level
  // fallback would read as other text, with only a note to say so.
  // A tokenizer_config.json that only picks a chat template (as one may beside a byte-level model) is no
  // other tokenizer's; Hugging Face writes tokenizer_class into every one it saves.
  std::vector<std::string> others;
  const auto config = tok::read_tokenizer_json(dir / "tokenizer_config.json");
  if (config && config->is_object() && config->contains("tokenizer_class"))
    others.push_back(fmt::format("tokenizer_config.json (tokenizer_class {})",
                                 describe_json((*config)["tokenizer_class"])));
  for (const char* f : {"tokenizer.model", "vocab.json", "merges.txt"})
    if (tok::tokenizer_file_present(dir / f)) others.push_back(f);
  SEEK_CHECK(others.empty(),
             "{} holds {} but no tokenizer.json, the file seek reads a tokenizer from: the byte-level "
             "tokenizer it would fall back to gives this model's ids other meanings. Add the model's "
             "tokenizer.json (Hugging Face's fast tokenizers write one with save_pretrained)",
             dir.string(), fmt::join(others, ", "));
  return make_byte_tokenizer();
}

std::vector<std::vector<TokenId>> Tokenizer::encode_batch(const std::vector<std::string>& texts,
                                                          bool add_special, bool parse_special,
                                                          int threads) const {
  std::vector<std::vector<TokenId>> out(texts.size());
  ParallelErrors errors;
  int n = threads > 0 ? threads : 0;
#pragma omp parallel for schedule(dynamic, 1) num_threads(n > 0 ? n : omp_get_max_threads())
  for (size_t i = 0; i < texts.size(); ++i)
    errors.run(int64_t(i), [&] { out[i] = encode(texts[i], add_special, parse_special); });
  errors.rethrow();
  return out;
}

}  // namespace seek
