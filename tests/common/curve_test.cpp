// SPDX-License-Identifier: Apache-2.0
// CurveZMQ key files and lists (common/curve.h): what rgpu-ctl keygen writes reads back, lists
// take bare keys and pasted "public = KEY" lines, and malformed files are refused by line.
#include <curve.h>

#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

using namespace rgpu;
namespace fs = std::filesystem;

namespace {
struct TempDir {
    std::string path;
    TempDir() {
        char pattern[] = "/tmp/rgpu-curve-test-XXXXXX";
        path = mkdtemp(pattern);
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
    std::string write(const std::string& name, const std::string& text) const {
        std::ofstream(path + "/" + name) << text;
        return path + "/" + name;
    }
};
} // namespace

TEST_CASE("a written key pair reads back (owner-only) and is never overwritten" *
          doctest::test_suite("protocol")) {
    TempDir dir;
    const auto keys = curve::generate();
    CHECK(curve::valid_key(keys.public_key));
    CHECK(curve::valid_key(keys.secret_key));
    const std::string path = dir.path + "/daemon.key";
    std::string error;
    REQUIRE(curve::write_key_pair(path, keys, &error));
    struct stat st {};
    REQUIRE(stat(path.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    auto back = curve::read_key_pair(path, &error);
    REQUIRE_MESSAGE(back, error);
    CHECK(back->public_key == keys.public_key);
    CHECK(back->secret_key == keys.secret_key);
    CHECK_FALSE(curve::write_key_pair(path, curve::generate(), &error));
    CHECK(error.find("cannot create " + path) == 0);
    // The file is a key list too: its public key.
    auto list = curve::read_key_list(path, &error);
    REQUIRE_MESSAGE(list, error);
    CHECK(*list == std::vector<std::string>{keys.public_key});
}

TEST_CASE("key files that are not what they claim are refused" * doctest::test_suite("protocol")) {
    TempDir dir;
    const auto a = curve::generate(), b = curve::generate();
    std::string error;
    CHECK_FALSE(curve::read_key_pair(dir.path + "/missing", &error));
    CHECK(error == "cannot read " + dir.path + "/missing");
    const std::string mixed =
        dir.write("mixed", "public = " + a.public_key + "\nsecret = " + b.secret_key + "\n");
    CHECK_FALSE(curve::read_key_pair(mixed, &error));
    CHECK(error == mixed + ": its public key is not the secret key's");
    const std::string half = dir.write("half", "public = " + a.public_key + "\n");
    CHECK_FALSE(curve::read_key_pair(half, &error));
    CHECK(error.find(half + " holds no valid key pair") == 0);

    const std::string list = dir.write("clients", "# allowed clients\n" + a.public_key +
                                                      "\n\npublic = " + b.public_key + "\n");
    auto keys = curve::read_key_list(list, &error);
    REQUIRE_MESSAGE(keys, error);
    CHECK(*keys == std::vector<std::string>{a.public_key, b.public_key});
    const std::string bad = dir.write("bad", a.public_key + "\nnot a key\n");
    CHECK_FALSE(curve::read_key_list(bad, &error));
    CHECK(error == bad + ":2: not a public key");
    CHECK_FALSE(curve::valid_key(a.public_key.substr(1)));
    CHECK_FALSE(curve::valid_key(std::string(40, ' ')));
}
