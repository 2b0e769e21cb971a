// Token-id lists (`--ids`) at the edges of what they accept: the largest id, and how much of a bad item an
// error quotes. The CLI tests cover the list syntax through the binary.
#include "infer/token_ids.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "support/error_of.hpp"

namespace seek {
namespace {

TEST(TokenIds, TheLargestIdIsAnId) {
  EXPECT_EQ(parse_token_ids("2147483647", "--ids"), std::vector<int32_t>{2147483647});
  EXPECT_NE(test::error_of([] { parse_token_ids("2147483648", "--ids"); }).find("past the largest token id"),
            std::string::npos);
}

// Up to 40 bytes an item is quoted whole; a longer one is cut there with its size.
TEST(TokenIds, ErrorsQuoteShortItemsWhole) {
  const std::string forty(40, 'y');
  const std::string e40 = test::error_of([&] { parse_token_ids(forty, "--ids"); });
  EXPECT_NE(e40.find("('" + forty + "')"), std::string::npos) << e40;
  const std::string e41 = test::error_of([&] { parse_token_ids(forty + "y", "--ids"); });
  EXPECT_NE(e41.find("('" + forty + "… (41 bytes)')"), std::string::npos) << e41;
}

}  // namespace
}  // namespace seek
