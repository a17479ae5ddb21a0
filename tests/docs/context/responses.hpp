// docs/responses.md: JSON bodies read into a type of the user's.
#pragma once
#include "common.hpp"

#include <courier/json.hpp>

extern cr::uri u;

struct item {
  int id = 0;
  std::string name;
};
void from_json(const nlohmann::json& j, item& i);

void use(const item& i);
void log(std::string_view message);
