#pragma once
// Secrets: random tokens, digests for storing them, and password hashing.
#include <cstddef>
#include <string>

namespace chorus::crypto {

// `bytes` random bytes (OpenSSL's CSPRNG) as unpadded base64url.
std::string random_token(std::size_t bytes = 32);

// SHA-256 of `data` as lower-case hex. Tokens are stored only as this digest.
std::string sha256_hex(const std::string& data);

// HMAC-SHA256 of `data` under `key`, as lower-case hex.
std::string hmac_sha256_hex(const std::string& key, const std::string& data);

// Constant-time comparison.
bool equal(const std::string& a, const std::string& b) noexcept;

struct argon2_params {
  unsigned time_cost = 2;
  unsigned memory_kib = 19 * 1024;  // OWASP's minimum for argon2id
  unsigned parallelism = 1;
};

// argon2id in the PHC string format ($argon2id$v=19$m=…,t=…,p=…$salt$hash).
// CPU- and memory-heavy by design: call it from a blocking worker, never an actor.
std::string hash_password(const std::string& password, const argon2_params& p = {});
bool verify_password(const std::string& encoded, const std::string& password) noexcept;

} // namespace chorus::crypto
