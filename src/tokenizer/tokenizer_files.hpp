// Reading the JSON files of a tokenizer folder (tokenizer.json, tokenizer_config.json), which are optional:
// a missing file means "not given", but anything else that stops the read is an error naming the file.
#pragma once
#include <nlohmann/json.hpp>

#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace seek::tok {

// Whether `file` is there to be read. False only when nothing at all is at that path; a symbolic link to
// nothing or a link loop throws seek::Error naming it (a broken tokenizer.json link read as "no tokenizer"
// would silently give the byte tokenizer), as does a FIFO or device (reading one waits forever for a writer
// or takes /dev/zero's endless bytes for text).
bool tokenizer_file_present(const std::filesystem::path& file);

// The parsed file, or nullopt when tokenizer_file_present says it is absent. Throws seek::Error naming the
// file when it cannot be read or is not valid JSON.
std::optional<nlohmann::json> read_tokenizer_json(const std::filesystem::path& file);

// The text of a tokenizer file (tokenizer.json, tokenizer_config.json, a pre_tokenizer's JSON) and of a
// generation_config.json, read within a bound that names what such a file holds: parsing JSON takes many
// times its size in memory, and a sparse file of gigabytes was read whole before it was refused.
std::string read_tokenizer_file(const std::filesystem::path& file);
std::string read_generation_config_file(const std::filesystem::path& file);

// The tokenizer files (tokenizer.json, tokenizer_config.json) of a folder as they were when read: a run saves
// the tokenizer it trained with into its checkpoints and model, even if the folder changes or goes meanwhile
// (a tokenizer folder deleted mid-run left the saved model without one, and the run reported success).
struct TokenizerFileSet {
  std::vector<std::pair<std::string, std::string>> files;  // (name, content), the ones the folder held
};

// The tokenizer files `from` holds, and the generation_config.json of `model_from` (the model folder a run's
// weights start from, or its checkpoint: a fine-tuned model keeps its sampling recipe and end tokens, as
// Hugging Face's save_pretrained keeps them); an empty path gives none of its files. Throws seek::Error
// naming a file that is there but cannot be read (a broken link, a FIFO).
TokenizerFileSet read_tokenizer_files(const std::filesystem::path& from,
                                      const std::filesystem::path& model_from = {});

// Writes the set's files into the folder `to`, each atomically and fsynced (a model folder saved with its
// tokenizer never holds half of one, and a full disk is an error naming the file), and removes the files of
// those names the set lacks from `to` (an earlier export's).
void write_tokenizer_files(const TokenizerFileSet& set, const std::filesystem::path& to);

}  // namespace seek::tok
