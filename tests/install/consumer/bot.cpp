// Signs with a vault that is not there: the call must reach the library's
// socket code and come back as its own error, Code::unreachable.
#include <iostream>

#include "client/client.hpp"

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  okxvault::Client vault(argv[1]);
  try {
    vault.sign("main", {.method = "GET", .path = "/api/v5/account/balance?ccy=BTC"});
  } catch (const okxvault::Error& error) {
    std::cout << okxvault::code_name(error.code()) << ": " << error.what() << '\n';
    return error.code() == okxvault::Code::unreachable ? 0 : 1;
  }
  std::cout << "signed without a daemon\n";
  return 1;
}
