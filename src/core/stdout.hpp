// Standard output that reports failed writes. stdio keeps only an error flag: a failed fflush drops the
// buffered bytes, and the errno that said why (a full disk, a closed descriptor) is gone by the time the
// command ends. flush_stdout keeps the first failure's errno, and main turns any failure into an error
// (exit 1) instead of a command that "succeeded" with its output lost.
#pragma once

namespace seek {

// fflush(stdout), remembering the errno of the first flush that failed.
void flush_stdout();

// The errno remembered by flush_stdout, or 0.
int stdout_flush_errno();

// Throws seek::Error ("cannot write to standard output: ...") once a flush has failed: a command whose
// output is its point (generate's streamed text, chat's replies) stops there, instead of generating minutes
// of text into a full disk and reporting it only at the end.
void check_stdout_writable();

}  // namespace seek
