// Failure injection for tests: reaches error paths that no input can reach on demand (an evaluation that
// fails part-way through a run), as SEEK_TEST_SIGNAL_AT reaches the stop paths.
#pragma once

namespace seek {

// With SEEK_TEST_FAIL_AT="<where>:<n>" set, the n-th (from 1) call with `where` in this process throws
// seek::Error("injected failure at <where> (SEEK_TEST_FAIL_AT)"); otherwise does nothing. The count restarts
// when the variable's value changes, or it is unset and set again (seen by a call in between).
void injected_failure_point(const char* where);

}  // namespace seek
