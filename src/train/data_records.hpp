// One training document as pieces to tokenize: text pieces (encoded by the tokenizer) and literal token ids
// (BOS, EOS), each marked as carrying loss or not. Splitting a document at the loss boundaries before
// tokenizing makes the loss mask exact by construction: the masked tokens are exactly the tokens of the
// masked text, never a token that straddles a boundary.
#pragma once
#include <nlohmann/json.hpp>

#include <string>
#include <string_view>
#include <vector>

#include "train/dataset.hpp"

namespace seek::data {

struct Piece {
  std::string text;    // encoded when token < 0
  TokenId token = -1;  // a literal id (BOS, EOS)
  bool loss = false;
};
struct Document {
  std::vector<Piece> pieces;
  // false: a part of a document too long to hold at once, continued by the next Document of the stream
  bool ends = true;
  // false: such a part after the first
  bool starts = true;
  bool empty() const { return pieces.empty(); }
};

struct SpecialIds {
  TokenId bos = -1, eos = -1;
};

// Pretraining text: BOS unless this continues a document (out.starts false), the text, cut into pieces of
// about chunk_bytes at line starts so that one long document still tokenizes on many threads, then EOS
// unless the document continues (out.ends false); all with loss. BOS as generation and GRPO prepend it: a
// model pretrained without it met an untrained embedding at every prompt's start.
inline constexpr size_t kChunkBytes = size_t(1) << 20;
void pretrain_document(std::string_view text, const SpecialIds& ids, Document& out,
                       size_t chunk_bytes = kChunkBytes);

// Converts one JSONL record for the objective. Returns "" on success, else what is wrong with the record
// (the caller adds file:line). Never throws on bad data, so it can run inside an OpenMP region.
std::string record_document(const nlohmann::json& rec, Objective objective, const SpecialIds& ids,
                            Document& out);

}  // namespace seek::data
