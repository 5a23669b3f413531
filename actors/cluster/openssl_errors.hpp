#pragma once
// Wrappers that give every SSL_read/SSL_write/SSL_connect/SSL_accept in the
// process an empty OpenSSL error queue (openssl_errors.cpp says why).
namespace chorus::actors {

// True when the wrappers are the ones the process calls (the runtime checks it
// before it publishes a TLS cluster port; referencing it also links them in).
bool openssl_error_isolation() noexcept;

} // namespace chorus::actors
