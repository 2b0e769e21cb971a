// Deciding whether an extracted answer equals the reference. Both sides are normalised (latex_to_expr);
// top-level comma lists are compared element by element, in order (with the same outer brackets when both
// sides have some: (1,2) is not [1,2]); an element pair is equal when both
// evaluate to numbers that are equal (exact rationals exactly; when either side is written with a decimal
// point or is not exact, within the tolerance: 0.3333333 = 1/3 but 0.33 != 1/3), or, when
// either is not a number, when their canonical texts are identical.
#pragma once
#include <string_view>

#include "reward/deadline.hpp"

namespace seek::reward {

struct CompareOptions {
  double rel_tolerance = 1e-6;  // for values that are not both exact (decimals compare exactly: 0.5 == 1/2)
  double abs_tolerance = 0;
};

// Throws DeadlineExceeded when the deadline passes.
bool answers_equal(std::string_view predicted, std::string_view reference, const CompareOptions& options = {},
                   const Deadline& deadline = Deadline());

}  // namespace seek::reward
