-- test_diff_harness.lua: proves the differential suite's comparator can
-- fail. Real LuaSocket results are recorded, encoded and decoded (as the
-- reference workers do), then deliberately altered; every alteration must be
-- reported as a difference, and the unaltered results must not be.
package.path = "diff/?.lua;" .. package.path
local socket = require("socket")
local H = require("harness")

local failures = 0
-- expect records a failed check.
local function expect(cond, what)
  if not cond then failures = failures + 1; print("FAIL " .. what) end
end

-- roundtrip encodes and decodes one scenario's records.
local function roundtrip(recs)
  local path = os.tmpname()
  local f = assert(io.open(path, "wb")); H.encode(f, "x", recs); f:close()
  f = assert(io.open(path, "rb")); local all = H.decode(f); f:close()
  os.remove(path)
  return all.x
end

-- copy deep-copies a list of records.
local function copy(recs)
  local out = {}
  for i, r in ipairs(recs) do
    local c = { n = r.n, err = r.err, d = {} }
    for j, d in pairs(r.d or {}) do c.d[j] = d end
    if r.err then c.d = nil end
    out[i] = c
  end
  return out
end

-- real LuaSocket results over a socketpair-like loopback connection
local srv = assert(socket.bind("127.0.0.1", 0))
local _, port = srv:getsockname()
local c = assert(socket.connect("127.0.0.1", port))
local s = assert(srv:accept())
s:send("line\r\n12345\0tail")
s:close()
local want = {
  H.record(nil, c:receive()),               -- "line", nil, nil
  H.record(nil, c:receive(5)),              -- "12345"
  H.record(nil, c:settimeout(1)),           -- 1 (float on 5.3+)
  H.record(nil, c:receive("*a")),           -- "\0tail"
  H.record(nil, c:receive("*l", "p")),      -- nil, "closed", "p"
  H.record(nil, c:send("abc", 2)),          -- nil, "closed", 1
  H.record(nil, socket.udp():getoption("broadcast")), -- false
  H.record(nil, 3, 2.5, "x\n\r\0\255", { a = 1 }, true, 0 / 0, -math.huge),
}
c:close(); srv:close()

local back = roundtrip(want)
expect(#H.compare("x", "same", want, back) == 0, "an encode/decode round trip changes nothing")
expect(#H.compare("x", "same", want, copy(want)) == 0, "identical results compare equal")
expect(want[1].d[1] == 'string:"line"' and want[1].n == 3, "receive() recorded as 3 values")
expect(want[4].d[1] == H.describe("\0tail"), "binary string kept")

-- alter applies f to a copy of the records; the comparator must object.
local function alter(what, f)
  local got = copy(want)
  f(got)
  local d = H.compare("x", "altered", want, got)
  expect(#d > 0, what .. " is reported")
  local d2 = H.compare("x", "altered", roundtrip(want), roundtrip(got))
  expect(#d2 > 0, what .. " is reported after encoding")
  if d[1] then print("ok, reported: " .. d[1]) end
end

alter("a swapped value", function(g) g[1].d[1], g[5].d[2] = g[5].d[2], g[1].d[1] end)
alter("a dropped trailing nil", function(g) g[1].n = 2; g[1].d[3] = nil end)
alter("an extra trailing nil", function(g) g[3].n = 2; g[3].d[2] = "nil" end)
alter("one changed byte", function(g) g[4].d[1] = H.describe("\0taiL") end)
alter("a missing call", function(g) g[#g] = nil end)
alter("an extra call", function(g) g[#g + 1] = H.record(nil) end)
alter("an error instead of values", function(g) g[2] = { err = "boom" } end)
alter("asok lacking a function", function(g) g[2] = { err = "asok lacks asok.receive", lacks = true } end)
alter("another number", function(g) g[8].d[2] = H.describe(2.25) end)
alter("string instead of number", function(g) g[8].d[1] = H.describe("3") end)
alter("a changed table field", function(g) g[8].d[4] = H.describe({ a = 2 }) end)
if math.type then
  -- 5.3+: an integer where LuaSocket returns a float (and vice versa)
  expect(want[3].d[1] == "float:1", "settimeout returns the float 1 on 5.3+")
  alter("a float changed to an integer", function(g) g[3].d[1] = H.describe(1) end)
  alter("an integer changed to a float", function(g) g[8].d[1] = H.describe(3.0) end)
  expect(H.describe(1) ~= H.describe(1.0), "1 and 1.0 differ")
else
  expect(H.describe(1) == "number:1", "numbers without subtypes before 5.3")
end
-- vary masks only the value, never the type
local a, b = H.record({ [3] = true }, nil, "timeout", 5.0), H.record({ [3] = true }, nil, "timeout", 7.0)
expect(H.same(a, b), "a varying index compares by type only")
if math.type then
  local i = H.record({ [3] = true }, nil, "timeout", 5)
  expect(not H.same(a, i), "a varying index still checks the subtype")
end

-- the peer's datagram sessions on a reused port: a client (plain
-- LuaSocket) takes a port, announces a scenario and closes before its
-- session is done; the next client bound to that very port must get its
-- own scenario's datagrams, none of the gone client's session (the
-- peer's "ip:port" keys once gave it the old session, a one-off
-- difference in the thirtieth round). gone: the gone client's scenario;
-- the new client runs udp_receive (one reply, "hello") and must then
-- get nothing more in wait seconds (the gone session's late reply).
do
  local R = require("runner")
  local env, stop = R.start_peer()
  local function reused(gone, wait)
    local a = assert(socket.udp())
    assert(a:setsockname("127.0.0.1", 0))
    local _, port = a:getsockname()
    assert(a:sendto(H.announce({ name = gone }), "127.0.0.1", env.udp))
    socket.sleep(0.05) -- the peer has started the session
    a:close()
    local b = assert(socket.udp())
    assert(b:setsockname("127.0.0.1", port))
    assert(b:sendto(H.announce({ name = "udp_receive" }), "127.0.0.1", env.udp))
    b:settimeout(2)
    local first = b:receive()
    b:settimeout(wait)
    local second, err = b:receive()
    b:close()
    expect(first == "hello", gone .. "'s port reused: the new client got " .. tostring(first)
      .. ", want hello")
    expect(second == nil and err == "timeout", gone .. "'s port reused: then got "
      .. tostring(second or err) .. ", want a timeout")
  end
  reused("udp_sendto_echo", 0.3)         -- its session waits for a datagram to echo
  reused("udp_timeout_then_data", 0.8)   -- its session replies "late" after 0.5 s
  stop()
end

-- end to end: the whole suite (reference against a second reference run)
-- reports 0 differences, and exactly the tampered result when one is altered
-- run executes test_differential.lua with env settings; returns its output.
local function run(envs)
  local lua = os.getenv("ASOK_DIFF_LUA") or arg[-1]
  local p = assert(io.popen(envs .. " ASOK_DIFF_SELFCHECK=1 ASOK_DIFF_ONLY=line_basic,udp_receive,send_ij_2 "
    .. lua .. " test_differential.lua 2>&1"))
  local out = p:read("*a"); p:close()
  return out
end
local clean = run("")
expect(clean:find("3 scenarios", 1, true) and clean:find(", 0 differences", 1, true),
  "the untouched suite reports 0 differences:\n" .. clean)
local tampered = run("ASOK_DIFF_TAMPER=1")
expect(tampered:find('DIFF line_basic [ref2] call 1: expected n=3 (string:"hello", nil, nil), got n=3 (string:"tampered", nil, nil)', 1, true)
  and tampered:find(", 1 differences", 1, true), "the suite reports a tampered result:\n" .. tampered)
print("end to end, tampered run said: " .. (tampered:match("DIFF[^\n]*") or "nothing"))

if failures > 0 then print(failures .. " harness checks failed"); os.exit(1) end
print("diff harness: all checks passed (" .. _VERSION .. ")")
