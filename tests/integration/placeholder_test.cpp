// Replaced by real tests as the backend lands.
#include <gtest/gtest.h>
