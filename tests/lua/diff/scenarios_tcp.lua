-- diff/scenarios_tcp.lua: TCP receive patterns: line, all, count, prefix.
local L = {}

-- S adds one scenario.
local function S(family, name, peer, client, opt)
  local s = opt or {}
  s.family, s.name, s.peer, s.client = family, name, peer, client
  L[#L + 1] = s
end

-- line ('*l', the default pattern)
S("line", "line_basic", { { "send", "hello\nworld\n" }, { "close" } },
  { { "receive" }, { "receive", "*l" }, { "receive", "*l" } }, { main = true })
S("line", "line_cr_dropped", { { "send", "a\r\nb\r\r\nc\rd\n\r\n" }, { "close" } },
  { { "receive" }, { "receive" }, { "receive" }, { "receive" }, { "receive" } })
S("line", "line_partial_at_close", { { "send", "abc" }, { "close" } },
  { { "receive" }, { "receive" } })
S("line", "line_empty_lines", { { "send", "\n\n\nx\n" }, { "close" } },
  { { "receive" }, { "receive" }, { "receive" }, { "receive" }, { "receive" } })
S("line", "line_in_pieces", { { "send", "he" }, { "pause", 40 }, { "send", "llo wo" },
  { "pause", 40 }, { "send", "rld\r" }, { "pause", 40 }, { "send", "\nnext" }, { "close" } },
  { { "receive" }, { "receive" } })
S("line", "line_with_prefix", { { "send", "hello\n" }, { "close" } },
  { { "receive", "*l", "pre-" }, { "receive", "*l", "x" } })
S("line", "line_half_close", { { "send", "x\ny" }, { "shutdown" }, { "pause", 100 }, { "read", "*a" } },
  { { "receive" }, { "receive" }, { "send", "bye" }, { "receive" } })
S("line", "line_long", { { "big", 200000 }, { "close" } },
  { { "receive" }, { "receive", "*l" }, { "receive", 70 }, { "receive", "*l" } })
S("line", "line_then_count_then_all", { { "send", "line\n12345rest" }, { "close" } },
  { { "receive", "*l" }, { "receive", 5 }, { "receive", "*a" } }, { main = true })
S("line", "line_bad_pattern", { { "send", "x\n" }, { "close" } },
  { { "receive", "xyz" } })
S("line", "line_nil_pattern_prefix", { { "send", "tail\n" }, { "close" } },
  { { "receive", nil, "head-", n = 3 } })
S("line", "line_star_l_suffix", { { "send", "ab\ncd\n" }, { "close" } },
  { { "receive", "*line" }, { "receive", "*lx" } })

-- all ('*a')
S("all", "all_basic", { { "send", "abc" }, { "close" } },
  { { "receive", "*a" }, { "receive", "*a" } }, { main = true })
S("all", "all_empty", { { "close" } }, { { "receive", "*a" }, { "receive" } })
S("all", "all_in_pieces", { { "send", "a\r\n" }, { "pause", 40 }, { "send", "b" },
  { "pause", 40 }, { "send", "c\n" }, { "close" } }, { { "receive", "*a" } })
S("all", "all_with_prefix", { { "send", "abc" }, { "close" } },
  { { "receive", "*a", "pre" } })
S("all", "all_1mib", { { "big", 1048576 }, { "close" } }, { { "receive", "*a" } })
S("all", "all_half_close_then_send", { { "send", "data" }, { "shutdown" }, { "read", "*l" }, { "close" } },
  { { "receive", "*a" }, { "send", "ping\n" }, { "receive", "*l" }, { "receive", "*a" } })
S("all", "all_star_all_word", { { "send", "xyz" }, { "close" } },
  { { "receive", "*all" } })
S("all", "all_after_line", { { "send", "l1\nl2\nrest" }, { "close" } },
  { { "receive" }, { "receive", "*a" }, { "receive", "*l" } })

-- count (a number of bytes)
S("count", "count_basic", { { "send", "1234567890" }, { "close" } },
  { { "receive", 3 }, { "receive", 0 }, { "receive", 4 }, { "receive", 5 }, { "receive", 1 } },
  { main = true })
S("count", "count_fraction", { { "send", "123456" }, { "close" } },
  { { "receive", 2.7 }, { "receive", 0.5 }, { "receive", 3.99 } })
S("count", "count_string_number", { { "send", "123456" }, { "close" } },
  { { "receive", "5" }, { "receive", " 1 " } })
S("count", "count_negative", { { "send", "123456" }, { "close" } },
  { { "receive", -1 } })
S("count", "count_in_pieces", { { "send", "ab" }, { "pause", 40 }, { "send", "cde" },
  { "pause", 40 }, { "send", "fghij" }, { "close" } }, { { "receive", 10 } })
S("count", "count_crlf_kept", { { "send", "a\r\nb\r\n" }, { "close" } },
  { { "receive", 6 } })
S("count", "count_exact_then_closed", { { "send", "abcd" }, { "close" } },
  { { "receive", 4 }, { "receive", 1 }, { "receive", 0 } })
S("count", "count_8mib", { { "big", 8388608 }, { "close" } },
  { { "receive", 8388608 }, { "receive", 1 } })
S("count", "count_huge_float", { { "send", "ab" }, { "close" } },
  { { "receive", 1e10 } })
-- from 2^64 up LuaSocket's size_t cast is undefined; on amd64 it gives 0
S("count", "count_2e64_and_inf", { { "send", "ab" }, { "pause", 40 }, { "close" } },
  { { "receive", math.huge }, { "receive", 2 ^ 64, "p" }, { "receive", 2 ^ 70 }, { "receive", "*a" } })

-- prefix (the third argument, incl. accumulating partial results)
S("prefix", "prefix_longer_than_count", { { "send", "xyz" }, { "close" } },
  { { "receive", 2, "abcd" }, { "receive", 3, "abc" }, { "receive", 5, "ab" } })
S("prefix", "prefix_empty_count_zero", { { "send", "xyz" }, { "close" } },
  { { "receive", 0, "" }, { "receive", 0, "p" }, { "receive", 1, "" } })
S("prefix", "prefix_accumulate_partial", { { "send", "abc" }, { "pause", 1000 },
  { "send", "defgh\n" }, { "close" } },
  { { "settimeout", 0.3 }, { "receive", 8 }, { "settimeout", 2 }, { "receive", 8, "$P" },
    { "receive", "*l" } })
S("prefix", "prefix_number_prefix", { { "send", "abc\n" }, { "close" } },
  { { "receive", "*l", 42 }, { "receive", "*a", 1.5 } })
S("prefix", "prefix_with_closed", { { "send", "ab" }, { "close" } },
  { { "receive", 5, "12" }, { "receive", "*l", "z" } })

-- LuaSocket's buffer reads 8,192 bytes at a time (BUF_SIZE), and only when
-- it is empty: what it holds after a call (dirty(), what a receive after
-- close still returns, the bytes left in the kernel, which make close send
-- a reset) is the rest of the last such read (found by test_diffuzz.lua)
local big9000 = { { "big", 9000 }, { "pause", 1000 }, { "close" } }
S("chunk", "chunk_count_then_close", big9000,
  { { "sleep", 0.3 }, { "receive", 2 }, { "close" }, { "receive", 100000 }, { "getstats" },
    { "dirty" } }, { vary = { [5] = { [3] = true } }, main = true })
S("chunk", "chunk_line_then_close", big9000,
  { { "sleep", 0.3 }, { "receive", "*l" }, { "close" }, { "receive", "*a" } })
S("chunk", "chunk_count_exact_not_dirty", big9000,
  { { "sleep", 0.3 }, { "receive", 8192 }, { "dirty" }, { "receive", 10 }, { "dirty" },
    { "close" }, { "receive", 10000 } })
S("chunk", "chunk_count_zero", big9000,
  { { "sleep", 0.3 }, { "receive", 0 }, { "dirty" }, { "close" }, { "receive", "*a" } })
S("chunk", "chunk_count_rounds_up", { { "big", 30000 }, { "pause", 1000 }, { "close" } },
  { { "sleep", 0.3 }, { "receive", 16385 }, { "close" }, { "receive", 100000 } })

-- long lines (docs/reliability.md item 59: on TCP a line past its first
-- read is read by a peek and a discard of what LuaSocket's 8 KiB reads
-- would take): lines ending just before, at and after 8,192*k, up to
-- 70,000 bytes; what stays buffered (dirty(), getstats' received, a
-- receive after close or after the peer's reset) is LuaSocket's.
-- (Each scenario's bytes, at most about 100 KiB, are all in the client's
-- queue when it starts reading: its reads never find it empty early.)
local function lines(...)
  local t = {}
  for i, n in ipairs({ ... }) do t[i] = string.rep(string.char(96 + i), n) .. "\n" end
  return table.concat(t)
end
local function recvdirty(k)
  local c = { { "sleep", 0.3 } }
  for _ = 1, k do c[#c + 1] = { "receive" }; c[#c + 1] = { "dirty" } end
  return c
end
local function finish(c, ...)
  for _, x in ipairs({ ... }) do c[#c + 1] = x end
  return c
end
S("chunk", "chunk_longline_ends",
  { { "send", lines(8191, 8192, 8193, 16383, 16384, 16385) .. "rest" }, { "pause", 1000 }, { "close" } },
  finish(recvdirty(6), { "getstats" }, { "close" }, { "receive", "*a" }),
  { vary = { [14] = { [3] = true } } })
S("chunk", "chunk_longline_24k_64k",
  { { "send", lines(24575, 65535) .. string.rep("z", 5000) }, { "pause", 1000 }, { "close" } },
  finish(recvdirty(2), { "getstats" }, { "receive", 10 }, { "dirty" }, { "close" }, { "receive", "*a" }),
  { vary = { [6] = { [3] = true } } })
S("chunk", "chunk_longline_64k_exact",
  { { "send", lines(16384, 65535, 8191) }, { "pause", 1000 }, { "close" } },
  finish(recvdirty(3), { "getstats" }, { "receive" }),
  { vary = { [8] = { [3] = true } } })
S("chunk", "chunk_longline_70k_then_reset",
  { { "send", lines(70000) .. string.rep("t", 9000) }, { "pause", 1000 }, { "reset" } },
  finish(recvdirty(1), { "getstats" }, { "sleep", 1.2 }, { "receive", 100 }, { "receive" }, { "receive" }),
  { vary = { [4] = { [3] = true } } })
S("chunk", "chunk_longline_close_unread",
  { { "send", lines(40000, 30000) }, { "pause", 1000 }, { "close" } },
  finish(recvdirty(1), { "close" }, { "receive", "*a" }, { "receive" }))
S("chunk", "chunk_longline_pieces",
  { { "send", string.rep("p", 20000) }, { "pause", 600 }, { "send", lines(3, 20000) }, { "pause", 1000 }, { "close" } },
  { { "settimeout", 3 }, { "receive" }, { "dirty" }, { "receive" }, { "dirty" }, { "receive" }, { "getstats" },
    { "receive" } },
  { vary = { [7] = { [3] = true } } })

return L
