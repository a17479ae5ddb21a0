// README.md: the tour's snippets continue one another.
#pragma once
#include "common.hpp"

extern std::string token;
extern cr::basic_request_type add;  // the POST the tour builds, sent again asynchronously
