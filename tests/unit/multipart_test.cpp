// multipart/form-data bodies (RFC 7578 / RFC 2046) through read_body, with the
// hostile input a public endpoint gets: every malformed or oversized body is a
// 400 JSON error naming what is wrong, bad text is 422 naming the field, and a
// well-formed body decodes to exactly the parameters its url-encoded twin does.
#include "http/dto/body.hpp"
#include "http/responder.hpp"

#include <gtest/gtest.h>

using namespace chorus::http;

namespace {
struct recording_sink : reply_sink {
  std::vector<response> got;
  void deliver(response r) override { got.push_back(std::move(r)); }
};

struct decoded {
  int status = 0;  // of the error answer; 200 when the body decoded
  nlohmann::json body;  // the parameters, or the error answer
  std::vector<upload> files;
};

decoded decode(const std::string& ct, const std::string& body, bool want_files = true) {
  auto sink = std::make_shared<recording_sink>();
  decoded out;
  {
    responder res(sink);
    request r;
    r.headers.emplace_back("content-type", ct);
    r.body = body;
    auto j = read_body(r, res, want_files ? &out.files : nullptr);
    if (j) {
      out.body = *j;
      res.json(200, *j);
    }
  }
  out.status = sink->got.empty() ? 0 : sink->got[0].status;
  if (out.status != 200)
    out.body = nlohmann::json::parse(sink->got.at(0).body);
  return out;
}

const std::string B = "XyZ-boundary";
const std::string CT = "multipart/form-data; boundary=" + B;

std::string part(const std::string& name, const std::string& value, const std::string& extra = "") {
  return "--" + B + "\r\nContent-Disposition: form-data; name=\"" + name + "\"" + extra + "\r\n\r\n" + value + "\r\n";
}
std::string close() { return "--" + B + "--\r\n"; }

// A 400 with Mastodon's error body whose description says `why`.
void expect_400(const decoded& d, const std::string& why, const std::string& what) {
  EXPECT_EQ(d.status, 400) << what;
  ASSERT_TRUE(d.body.is_object() && d.body.contains("error")) << what;
  EXPECT_NE(d.body.value("error_description", "").find(why), std::string::npos)
    << what << ": " << d.body.dump();
}
} // namespace

TEST(Multipart, SameParametersAsUrlEncoded) {
  // Arrays, nested keys and repeated plain keys (the last wins) in both encodings.
  auto form = decode("application/x-www-form-urlencoded",
                     "status=hi%20there&media_ids%5B%5D=1&media_ids%5B%5D=2&poll%5Boptions%5D%5B%5D=a"
                     "&poll%5Boptions%5D%5B%5D=b&poll%5Bexpires_in%5D=300&visibility=public&visibility=unlisted");
  ASSERT_EQ(form.status, 200);
  auto mp = decode(CT, part("status", "hi there") + part("media_ids[]", "1") + part("media_ids[]", "2") +
                         part("poll[options][]", "a") + part("poll[options][]", "b") +
                         part("poll[expires_in]", "300") + part("visibility", "public") +
                         part("visibility", "unlisted") + close());
  ASSERT_EQ(mp.status, 200) << mp.body.dump();
  EXPECT_EQ(mp.body, form.body);
  EXPECT_EQ(mp.body["poll[options]"], nlohmann::json::array({"a", "b"}));
  EXPECT_EQ(mp.body["visibility"], "unlisted");
}

TEST(Multipart, DelimitersPaddingPreambleEpilogue) {
  // Transport padding after a delimiter, a preamble and an epilogue are ignored;
  // the boundary text at the start of a longer content line is content.
  auto d = decode(CT, "preamble line\r\n--" + B + " \t\r\nContent-Disposition: form-data; name=a\r\n\r\nx\r\n--" + B +
                        "tail is content\r\ny\r\n--" + B + "--\r\nepilogue --" + B + "--\r\n");
  ASSERT_EQ(d.status, 200) << d.body.dump();
  EXPECT_EQ(d.body["a"], "x\r\n--" + B + "tail is content\r\ny");
  // Other part headers are ignored (RFC 7578 4.8); an empty value is an empty string.
  auto e = decode(CT, "--" + B + "\r\nContent-Disposition: form-data; name=\"e\"\r\nContent-Transfer-Encoding: 8bit\r\n"
                        "Content-Type: text/plain; charset=utf-8\r\n\r\n\r\n" + close());
  ASSERT_EQ(e.status, 200) << e.body.dump();
  EXPECT_EQ(e.body["e"], "");
}

TEST(Multipart, FileParts) {
  const std::string bytes("\xff\xd8\xff\xe0\0\0\r\n--not-the-boundary\r\n", 27);
  auto body = part("description", "a cat") + part("file", bytes, "; filename=\"cat.jpg\"\r\nContent-Type: image/jpeg") +
              part("file", "second", "; filename=\"b.txt\"") + part("avatar", "", "; filename=\"\"") + close();
  auto d = decode(CT, body);
  ASSERT_EQ(d.status, 200) << d.body.dump();
  EXPECT_EQ(d.body, nlohmann::json({{"description", "a cat"}}));  // files are not parameters
  ASSERT_EQ(d.files.size(), 2u) << "duplicate file names are all kept; an empty file input is dropped";
  EXPECT_EQ(d.files[0].field, "file");
  EXPECT_EQ(d.files[0].filename, "cat.jpg");
  EXPECT_EQ(d.files[0].content_type, "image/jpeg");
  EXPECT_EQ(d.files[0].data, bytes);
  EXPECT_EQ(d.files[1].filename, "b.txt");
  EXPECT_EQ(d.files[1].content_type, "");
  // Routes that take no uploads ignore file parts like unknown parameters.
  auto ignored = decode(CT, body, false);
  EXPECT_EQ(ignored.status, 200);
  EXPECT_EQ(ignored.body, d.body);
  // The parser alone, without read_body: no bytes copied when not asked for.
  std::vector<std::pair<std::string, std::string>> kv;
  std::vector<upload> files;
  ASSERT_TRUE(parse_multipart(body, B, kv, files, nullptr, false));
  ASSERT_EQ(files.size(), 2u);
  EXPECT_TRUE(files[0].data.empty());
}

TEST(Multipart, FilePartWithoutFilenameIsATextField) {
  // As in Rack: no filename means a text field, whatever its Content-Type, so its
  // bytes are checked as text.
  auto text = decode(CT, part("file", "plain words", "\r\nContent-Type: image/png") + close());
  ASSERT_EQ(text.status, 200);
  EXPECT_EQ(text.body["file"], "plain words");
  EXPECT_TRUE(text.files.empty());
  auto binary = decode(CT, part("file", std::string("\x89PNG\r\n\x1a\n\0\0", 10), "\r\nContent-Type: image/png") + close());
  EXPECT_EQ(binary.status, 422);
  EXPECT_NE(binary.body.dump().find("'file'"), std::string::npos) << binary.body.dump();
}

TEST(Multipart, BadTextIs422NamingTheField) {
  auto nul_name = decode(CT, part(std::string("na\0me", 5), "x") + close());
  EXPECT_EQ(nul_name.status, 422) << nul_name.body.dump();
  auto bad_value = decode(CT, part("note", "\xc0\xaf") + close());
  EXPECT_EQ(bad_value.status, 422);
  EXPECT_NE(bad_value.body.dump().find("'note'"), std::string::npos);
  auto nul_file_name = decode(CT, part("avatar", "x", std::string("; filename=\"a\0.png\"", 19)) + close());
  EXPECT_EQ(nul_file_name.status, 422) << nul_file_name.body.dump();
  auto bad_file_field = decode(CT, part("\xff", "x", "; filename=\"a.png\"") + close(), false);
  EXPECT_EQ(bad_file_field.status, 422) << "checked even where uploads are ignored";
}

TEST(Multipart, BoundaryErrors) {
  auto body = part("a", "1") + close();
  expect_400(decode("multipart/form-data", body), "no boundary", "no boundary parameter");
  expect_400(decode("multipart/form-data; boundary=", body), "boundary must be", "empty boundary");
  expect_400(decode("multipart/form-data; boundary=" + std::string(71, 'b'), body), "boundary must be", "71 chars");
  expect_400(decode("multipart/form-data; boundary=\"a<b>\"", body), "boundary must be", "forbidden char");
  expect_400(decode("multipart/form-data; boundary=\"ends \"", body), "boundary must be", "ends in space");
  expect_400(decode("multipart/form-data; boundary=other", body), "no delimiter", "boundary mismatch");
  // 70 characters is the maximum, and works.
  std::string b70(70, 'q');
  EXPECT_EQ(decode("multipart/form-data; boundary=" + b70,
                   "--" + b70 + "\r\nContent-Disposition: form-data; name=a\r\n\r\n1\r\n--" + b70 + "--").status,
            200);
}

TEST(Multipart, TruncatedBodies) {
  auto whole = part("a", "1") + part("b", "2") + close();
  // Every proper prefix that cuts the close delimiter or anything before it is 400.
  for (std::size_t n = 0; n < whole.size() - 2; ++n) {
    auto d = decode(CT, whole.substr(0, n));
    if (n == 0)
      EXPECT_EQ(d.status, 200) << "an empty body is an empty parameter set";
    else
      EXPECT_EQ(d.status, 400) << "prefix of " << n << " bytes: " << d.body.dump();
  }
  expect_400(decode(CT, part("a", "1")), "closing boundary", "no close delimiter");
  expect_400(decode(CT, part("a", "1") + "--" + B), "closing boundary", "delimiter without -- at the end");
  expect_400(decode(CT, "--" + B + "\r\nContent-Disposition: form-data; name=a"), "ends inside", "cut in headers");
  // Bare LF line ends are not multipart.
  expect_400(decode(CT, "--" + B + "\nContent-Disposition: form-data; name=a\n\n1\n--" + B + "--\n"), "",
             "LF line ends");
}

TEST(Multipart, HeaderErrors) {
  auto with_headers = [](const std::string& headers) {
    return decode(CT, "--" + B + "\r\n" + headers + "\r\n\r\nv\r\n" + close());
  };
  expect_400(with_headers("Content-Type: text/plain"), "no Content-Disposition", "no disposition");
  expect_400(with_headers("Content-Disposition: form-data"), "no Content-Disposition", "no name");
  expect_400(with_headers("Content-Disposition: attachment; name=a"), "not form-data", "attachment");
  expect_400(with_headers("Content-Disposition: form-data; name=a\r\nContent-Disposition: form-data; name=b"),
             "two Content-Disposition", "two dispositions");
  expect_400(with_headers("Content-Disposition: form-data;\r\n name=a"), "malformed", "folded line");
  expect_400(with_headers("Content-Disposition form-data; name=a"), "not a header field", "no colon");
  expect_400(with_headers("Content-Disposition: form-data; name=a\r\nX-Long: " + std::string(5000, 'x')),
             "too long", "one huge header line");
  std::string many = "Content-Disposition: form-data; name=a";
  for (int i = 0; i < 8; ++i)
    many += "\r\nX-" + std::to_string(i) + ": y";
  expect_400(with_headers(many), "too many header fields", "9 header fields");
  // A huge header block with no line end at all costs no more than the limit.
  expect_400(decode(CT, "--" + B + "\r\nContent-Disposition: form-data; name=\"" + std::string(900000, 'n')),
             "too long", "900 kB without CRLF");
}

TEST(Multipart, PartCountIsBounded) {
  std::string ok, too_many;
  for (std::size_t i = 0; i < multipart_limits::parts; ++i)
    ok += part("media_ids[]", std::to_string(i));
  auto d = decode(CT, ok + close());
  ASSERT_EQ(d.status, 200);
  EXPECT_EQ(d.body["media_ids"].size(), multipart_limits::parts);
  for (int i = 0; i < 5000; ++i)
    too_many += part("x", "1");
  expect_400(decode(CT, too_many + close()), "too many parts", "5000 parts");
  expect_400(decode(CT, ok + part("one", "more") + close()), "too many parts", "one past the limit");
}
