// docs/requests.md
#pragma once
#include "common.hpp"

extern std::string token;
extern std::string user_name;
