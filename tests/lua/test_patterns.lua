-- test_patterns.lua: for the same byte sequences (sent in pieces by a
-- peer), asok.receive and wrapper:receive return exactly what plain
-- blocking LuaSocket returns: values, their count, types and, on 5.3+,
-- integer/float subtypes.
local T = dofile("asoktest.lua")
local asok = require "asok"

local big = ("0123456789abcdef"):rep(8192) -- 128 KiB
local bigline = ("L"):rep(70000)

-- cases: chunks sent in order by the peer (then closed if close), and the
-- receive calls made one after the other: {pattern, prefix, npassed}.
local cases = {
  { name = "lines", chunks = { "hel", "lo\r\nwor", "ld\n", "ta", "il" }, close = true,
    calls = { { "*l" }, { "*l" }, { "*l" }, { "*l" } } },
  { name = "default pattern", chunks = { "a\r\r\nb\rc\n", "\n" }, close = true,
    calls = { { nil, nil, 0 }, { nil }, { nil }, { nil, nil, 0 } } },
  { name = "line prefixes", chunks = { "one\n", "two", "\nthree" }, close = true,
    calls = { { "*l", "pre-" }, { "*line", "" }, { "*l", "p:" } } },
  { name = "all", chunks = { "abc", "def", "\n\r\n" }, close = true,
    calls = { { "*a" }, { "*a" }, { "*all", "x" } } },
  { name = "all prefix", chunks = { "z" }, close = true, calls = { { "*a", "pre" } } },
  { name = "counts", chunks = { "0123456789", "abcdef", "ghij" }, close = true,
    calls = { { 3 }, { "4" }, { 0 }, { 2.7 }, { 5, "pre" }, { 2, "longprefix" },
      { 3, "abc" }, { 4, "" }, { " 2 " }, { 100 }, { 1 } } },
  { name = "zero on close", chunks = {}, close = true, calls = { { 0 }, { 0, "p" } } },
  { name = "big count", chunks = { big:sub(1, 1000), big:sub(1001, 70000), big:sub(70001) },
    close = true, calls = { { #big }, { "*a" } } },
  { name = "big line", chunks = { bigline:sub(1, 30000), bigline:sub(30001) .. "\nrest" },
    close = true, calls = { { "*l" }, { "*l" } } },
  { name = "timeout line", chunks = { "no newline" }, close = false,
    calls = { { "*l" }, { 3 } } },
  { name = "timeout count", chunks = { "abc" }, close = false, calls = { { 5, "pre" } } },
}

local TIMEOUT = 0.3

-- call performs one receive call with exactly the arguments given
-- (c[3] == 0: no pattern argument at all).
local function call(f, sok, c)
  if c[3] == 0 then return T.pack(f(sok)) end
  if c[2] ~= nil then return T.pack(f(sok, c[1], c[2])) end
  return T.pack(f(sok, c[1]))
end

-- reference runs a case with blocking LuaSocket (all chunks sent first).
local function reference(case)
  local peer, reader = T.pair()
  for _, chunk in ipairs(case.chunks) do assert(peer:send(chunk)) end
  if case.close then peer:close() end
  reader:settimeout(TIMEOUT)
  local out = {}
  for i, c in ipairs(case.calls) do
    out[i] = call(function(s, ...) return s:receive(...) end, reader, c)
  end
  reader:close()
  if not case.close then peer:close() end
  return out
end

-- through runs a case through asok, the peer sending chunk by chunk from
-- a coroutine while the reader coroutine waits; style: "fn" or "wrapper".
local function through(case, style, results)
  local peer, reader = T.pair()
  T.spawn(function()
    for _, chunk in ipairs(case.chunks) do
      asok.sleep(0.005)
      T.check(asok.send(peer, chunk), "peer send")
    end
    if case.close then asok.close(peer) end
  end)
  T.spawn(function()
    local out = {}
    if style == "wrapper" then
      local w = asok.wrap(reader, TIMEOUT)
      for i, c in ipairs(case.calls) do
        out[i] = call(function(s, ...) return s:receive(...) end, w, c)
      end
    else
      asok.settimeout(reader, TIMEOUT)
      for i, c in ipairs(case.calls) do out[i] = call(asok.receive, reader, c) end
    end
    asok.close(reader)
    if not case.close then asok.close(peer) end
    results[case.name .. "/" .. style] = out
  end)
end

local want, got = {}, {}
for _, case in ipairs(cases) do want[case.name] = reference(case) end
for _, case in ipairs(cases) do
  through(case, "fn", got)
  through(case, "wrapper", got)
end
T.check(T.run(function()
  for _, case in ipairs(cases) do
    if not got[case.name .. "/fn"] or not got[case.name .. "/wrapper"] then return false end
  end
  return true
end, 20), "all cases finished")
for _, case in ipairs(cases) do
  for _, style in ipairs({ "fn", "wrapper" }) do
    local out = got[case.name .. "/" .. style] or {}
    for i = 1, #case.calls do
      T.same(out[i] or T.pack(), want[case.name][i], case.name .. "/" .. style .. " call " .. i)
    end
  end
end
T.done("test_patterns")
