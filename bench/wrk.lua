-- A signed GitHub push per request, each one different: the bot takes an identical
-- body as a replay (a duplicate, not stored), so every request carries its own marker
-- in the body and its own X-GitHub-Delivery, signed here with libcrypto's HMAC.
-- Arguments (after "--"): body template file (with @@MARK@@ once), secret, id prefix.

local ffi = require("ffi")
ffi.cdef[[
typedef struct evp_md_st EVP_MD;
const EVP_MD *EVP_sha256(void);
unsigned char *HMAC(const EVP_MD *evp_md, const void *key, int key_len,
                    const unsigned char *d, size_t n, unsigned char *md, unsigned int *md_len);
]]
local crypto = ffi.load("crypto.so.3")
local sha256 = crypto.EVP_sha256()
local digest = ffi.new("unsigned char[32]")
local digest_len = ffi.new("unsigned int[1]")
local hex = {}
for i = 0, 255 do hex[i] = string.format("%02x", i) end

local threads = {}
local counter = 0
local head, tail, secret, prefix, headers

function setup(thread)
  thread:set("number", #threads)
  table.insert(threads, thread)
end

function init(args)
  local file = assert(io.open(args[1], "rb"))
  local template = file:read("*a")
  file:close()
  local at = assert(string.find(template, "@@MARK@@", 1, true))
  head, tail = string.sub(template, 1, at - 1), string.sub(template, at + 8)
  secret = args[2]
  prefix = args[3] .. "-" .. number .. "-"
  headers = {
    ["Content-Type"] = "application/json",
    ["User-Agent"] = "GitHub-Hookshot/bench",
    ["X-GitHub-Event"] = "push",
  }
end

local function sign(body)
  crypto.HMAC(sha256, secret, #secret, body, #body, digest, digest_len)
  local out = {}
  for i = 0, 31 do out[i + 1] = hex[digest[i]] end
  return "sha256=" .. table.concat(out)
end

function request()
  counter = counter + 1
  local id = prefix .. counter
  local body = head .. id .. tail
  headers["X-GitHub-Delivery"] = id
  headers["X-Hub-Signature-256"] = sign(body)
  return wrk.format("POST", nil, headers, body)
end

function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    'WRK_RESULT {"requests": %d, "duration_us": %d, "connect": %d, "read": %d, ' ..
    '"write": %d, "status": %d, "timeout": %d, "p50_us": %d, "p99_us": %d, "max_us": %d}\n',
    summary.requests, summary.duration, errors.connect, errors.read, errors.write,
    errors.status, errors.timeout, latency:percentile(50), latency:percentile(99),
    latency.max))
end
