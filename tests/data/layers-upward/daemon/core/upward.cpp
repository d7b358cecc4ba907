#include "daemon/net/server.hpp"
