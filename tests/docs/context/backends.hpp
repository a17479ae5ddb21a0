// docs/backends.md
#pragma once
#include "common.hpp"

extern cr::basic_request_type req;
