// Whether a --tokenizer given with --init is the one the --init model was trained with. Another tokenizer's
// data trains into the model ids that mean other tokens to it: shifted by a few special tokens, every id,
// with nothing to show for it but a model that forgot what it knew. seek train and seek grpo check the same.
#pragma once
#include <filesystem>
#include <string>

#include "model/config.hpp"
#include "tokenizer/tokenizer.hpp"

namespace seek {

// `given` is the tokenizer loaded from `tokenizer_dir` (the --tokenizer flag); `model` is the --init
// folder's config. Throws seek::Error naming the first disagreement: the config's BOS/EOS ids, or an id the
// folder's own tokenizer.json (where it has one and it loads) gives to another token. A tokenizer that
// differs only around its vocabulary (a chat template, a larger vocabulary that keeps every id, a gap filled)
// passes.
void check_tokenizer_fits_init(const std::filesystem::path& init, const std::string& tokenizer_dir,
                               const Tokenizer& given, const ModelConfig& model);

}  // namespace seek
