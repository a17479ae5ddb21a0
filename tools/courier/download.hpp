// -o FILE: the body goes to a file, with a progress bar when stderr is a terminal.
//
// The body is read as it arrives (courier::as_stream) into a temporary file beside FILE,
// renamed to FILE only when it is complete and the status is 2xx: a failed or interrupted
// download, or an error page, never replaces or leaves a file. --max-body bounds its size.
#pragma once

#include "http_args.hpp"
#include "output.hpp"
#include "request_plan.hpp"

#include <courier/asio_backend.hpp>

namespace courier::cli {

/// Downloads the request's body into args.output_file; returns the exit code. Library
/// failures are thrown (after the temporary files are removed).
int run_download(courier::asio_backend& backend, const request_plan& plan, const http_args& args,
                 const output_style& style);

}  // namespace courier::cli
