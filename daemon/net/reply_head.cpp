#include "daemon/net/reply_head.hpp"

namespace okxvault {

void write_head(const Response& response, std::string& out) {
  const unsigned version = response.version();
  const unsigned code = response.result_int();
  const char status_line[] = {'H',
                              'T',
                              'T',
                              'P',
                              '/',
                              static_cast<char>('0' + version / 10),
                              '.',
                              static_cast<char>('0' + version % 10),
                              ' ',
                              static_cast<char>('0' + code / 100),
                              static_cast<char>('0' + code / 10 % 10),
                              static_cast<char>('0' + code % 10),
                              ' '};
  out.assign(status_line, sizeof status_line);
  out.append(response.reason()).append("\r\n");
  for (const auto& field : response) out.append(field.name_string()).append(": ").append(field.value()).append("\r\n");
  out.append("\r\n");
}

}  // namespace okxvault
