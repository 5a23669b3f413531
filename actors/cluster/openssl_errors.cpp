// caf_openssl 0.17 never clears OpenSSL's per-thread error queue: after one
// failed TLS handshake on the middleman's thread (a peer with a certificate from
// another CA, a port scanner), the stale error makes SSL_get_error report
// SSL_ERROR_SSL for the next SSL_read/SSL_write of *every other* session on that
// thread, and CAF closes those healthy cluster connections (measured: each
// refused dial dropped all links of the node). OpenSSL's rule is that the queue
// must be empty before an I/O call, so these wrappers, which the executable
// exports ahead of libssl (symbol interposition), clear it and call the real
// function. Other users of libssl in the process (libcurl, libpq) get the same
// documented precondition.
#include "actors/cluster/openssl_errors.hpp"

#include <dlfcn.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

namespace {

template <class Fn>
Fn next_symbol(const char* name) {
  return reinterpret_cast<Fn>(dlsym(RTLD_NEXT, name));
}

} // namespace

extern "C" {

int SSL_read(SSL* s, void* buf, int num) {
  static auto real = next_symbol<int (*)(SSL*, void*, int)>("SSL_read");
  ERR_clear_error();
  return real(s, buf, num);
}

int SSL_write(SSL* s, const void* buf, int num) {
  static auto real = next_symbol<int (*)(SSL*, const void*, int)>("SSL_write");
  ERR_clear_error();
  return real(s, buf, num);
}

int SSL_connect(SSL* s) {
  static auto real = next_symbol<int (*)(SSL*)>("SSL_connect");
  ERR_clear_error();
  return real(s);
}

int SSL_accept(SSL* s) {
  static auto real = next_symbol<int (*)(SSL*)>("SSL_accept");
  ERR_clear_error();
  return real(s);
}

} // extern "C"

namespace chorus::actors {

bool openssl_error_isolation() noexcept {
  return dlsym(RTLD_DEFAULT, "SSL_read") == reinterpret_cast<void*>(&SSL_read);
}

} // namespace chorus::actors
