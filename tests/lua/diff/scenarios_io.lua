-- diff/scenarios_io.lua: timeouts ('b', 't', 'r'), sends with i/j, resets,
-- 8 MiB transfers to a slow reader.
local L = {}
local MIB8 = 8388608

-- S adds one scenario.
local function S(family, name, peer, client, opt)
  local s = opt or {}
  s.family, s.name, s.peer, s.client = family, name, peer, client
  L[#L + 1] = s
end

-- timeouts: each races a timeout against a pause >= 0.2 s longer or shorter.
-- Note: 3.1.0 counts the 'b' timeout from the start of the call, so a large
-- transfer under a 'b' timeout needs a limit far above its duration.
-- pieces arrive at 0, 0.6, 1.2 and 1.8 s; every timeout below falls 0.3 s
-- from the nearest piece (the reactor may lag ~0.1 s while 8 MiB scenarios
-- run beside these)
local pieces = { { "send", "p1" }, { "pause", 600 }, { "send", "p2" }, { "pause", 600 },
  { "send", "p3" }, { "pause", 600 }, { "send", "p4\n" }, { "close" } }
-- the first piece must arrive within the 0.3 s timeout and the second
-- well after it: margins wider than the reactor's worst lag under the
-- whole suite (tens of ms while 8 MiB scenarios run)
local late = { { "send", "ab" }, { "pause", 1000 }, { "send", "cd\n" }, { "close" } }
S("timeout", "to_line_block", late,
  { { "settimeout", 0.3 }, { "receive" }, { "settimeout", 2 }, { "receive", "*l", "$P" } },
  { main = true })
S("timeout", "to_count_block", late,
  { { "settimeout", 0.3 }, { "receive", 4 }, { "receive", 4 }, { "settimeout", -1 },
    { "receive", 3, "$P" }, { "receive", 1 } })
S("timeout", "to_all_block", late,
  { { "settimeout", 0.3 }, { "receive", "*a" }, { "settimeout", nil, n = 2 }, { "receive", "*a" } })
S("timeout", "to_zero", { { "pause", 400 }, { "send", "x\n" }, { "close" } },
  { { "settimeout", 0 }, { "receive" }, { "receive", 5 }, { "receive", "*a" },
    { "settimeout", 3 }, { "receive" } }, { main = true })
-- a NaN timeout: LuaSocket keeps it (gettimeout shows it) and times out at once
S("timeout", "to_nan", { { "pause", 400 }, { "send", "x\n" }, { "pause", 600 }, { "send", "y\n" }, { "close" } },
  { { "settimeout", 0 / 0 }, { "receive" }, { "settimeout", 3 }, { "receive" },
    { "settimeout", -1 }, { "settimeout", 0 / 0, "t" }, { "receive" } })
S("timeout", "to_total_partial", pieces,
  { { "settimeout", 0.9, "t" }, { "receive" }, { "settimeout", -1, "t" }, { "receive", "*l", "$P" } })
-- LuaSocket 3.1.0 measures the 'b' timeout from the start of the call
-- (timeout_getretry), not per wait: pieces 0.6 s apart still time out at 0.9
S("timeout", "to_block_from_call_start", pieces,
  { { "settimeout", 0.9, "b" }, { "receive" }, { "settimeout", -1 }, { "receive", "*l", "$P" } })
S("timeout", "to_block_complete", pieces,
  { { "settimeout", 2.1, "b" }, { "receive" }, { "receive" } })
S("timeout", "to_block_and_total", pieces,
  { { "settimeout", 0.9, "b" }, { "settimeout", 1.5, "t" }, { "receive", 9 },
    { "settimeout", -1, "b" }, { "settimeout", -1, "t" }, { "receive", 9, "$P" } })
S("timeout", "to_r_mode", pieces,
  { { "settimeout", 0.9, "r" }, { "receive", "*a" }, { "settimeout", 5, "r" }, { "receive", "*a" } })
S("timeout", "to_bad_mode", { { "close" } }, { { "settimeout", 1, "x" } })
S("timeout", "to_then_closed", { { "pause", 500 }, { "close" } },
  { { "settimeout", 0.1 }, { "receive" }, { "settimeout", 3 }, { "receive" } })
S("timeout", "to_return_values", { { "close" } },
  { { "settimeout", 1 }, { "settimeout", nil, n = 2 }, { "settimeout", 0.5, "t" },
    { "settimeout", 2.5, "b" }, { "settimeout", "0.25" } })
S("timeout", "to_send_full_buffer", { { "pause", 1500 }, { "read", "*a" } },
  { { "settimeout", 0.2 }, { "send", { big = MIB8 } } }, { vary = { [2] = { [3] = true } } })
S("timeout", "to_line_zero_with_buffered", { { "send", "a\nb" }, { "pause", 500 }, { "close" } },
  { { "sleep", 0.2 }, { "settimeout", 0 }, { "receive" }, { "receive" }, { "receive", 1, "$P" } })

-- sends with i/j: the peer echoes everything after the client's half-close
local sends = {
  { "abcdef" }, { "abcdef", 2 }, { "abcdef", 2, 4 }, { "abcdef", -2 }, { "abcdef", -10, -3 },
  { "abcdef", 5, 2 }, { "abcdef", 0, 100 }, { "abcdef", 1.9, 3.2 }, { "", 1, -1 },
  { "abc", 10 }, { "abc", -0.5 }, { "abc", 2, -0.5 }, { 123 }, { "abcdef", "2", "4" },
  { "abcdef", -1, -1 }, { "abcdef", 4, 4 }, { "abcdef", 7 }, { "abc", nil, 2, n = 3 },
  { 12.5 }, { "abc", -3.7, -1.2 }, { "abcdef", 3, 0 }, { "abcdef", 1e10, -1e10 },
}
for k, a in ipairs(sends) do
  local call = { "send", n = (a.n or #a) + 1 }
  for i = 1, call.n - 1 do call[i + 1] = a[i] end
  S("send", "send_ij_" .. k, { { "echo", "*a" }, { "close" } },
    { call, { "send", "|" }, { "shutdown", "send" }, { "receive", "*a" } }, { main = (k == 4) })
end
S("send", "send_bad_data", { { "close" } }, { { "send", nil, n = 2 } })
S("send", "send_table_data", { { "close" } }, { { "send", {} } })

-- resets (linger 0 + close) and hang-ups in the middle of I/O
local reset3 = { { "send", "abc" }, { "pause", 300 }, { "reset" } }
S("reset", "reset_mid_line", reset3, { { "receive" }, { "receive" } }, { main = true })
S("reset", "reset_mid_count", reset3, { { "receive", 10 }, { "receive", 1 } })
S("reset", "reset_mid_all", reset3, { { "receive", "*a" }, { "receive", "*a" } })
S("reset", "reset_immediately", { { "reset" } },
  { { "sleep", 0.2 }, { "receive" }, { "receive", 1 }, { "receive", "*a" } })
S("reset", "reset_mid_send", { { "slowread", 262144, 65536, 10 }, { "reset" } },
  { { "send", { big = MIB8 } }, { "receive" } }, { vary = { [1] = { [3] = true } } })
S("reset", "reset_then_send", { { "reset" } },
  { { "sleep", 0.3 }, { "send", "x" }, { "send", "y", 1 }, { "receive" } })
S("reset", "close_then_send", { { "close" } },
  { { "sleep", 0.3 }, { "send", "x" }, { "sleep", 0.3 }, { "send", "yz" }, { "receive" } })
-- a send longer than LuaSocket's 8192-byte step to a peer that has closed:
-- the first step goes, the peer's reset fails the next ('closed', 8192)
S("reset", "close_then_send_big", { { "close" } },
  { { "sleep", 0.3 }, { "send", { big = 600000 } }, { "receive" } }, { main = true })
S("reset", "close_then_send_step_plus_one", { { "close" } },
  { { "sleep", 0.3 }, { "send", { big = 8193 } }, { "send", "x" } })
S("reset", "close_then_send_big_ij", { { "close" } },
  { { "sleep", 0.3 }, { "send", { big = 30000 }, 100, 20000 } })
S("reset", "halfclose_then_send_big", { { "shutdown" }, { "read", "*a" } },
  { { "sleep", 0.3 }, { "send", { big = 100000 } }, { "receive" } })
S("reset", "reset_after_fin", { { "send", "abc" }, { "shutdown" }, { "pause", 300 }, { "reset" } },
  { { "receive", "*a" }, { "sleep", 0.5 }, { "send", "x" }, { "receive" } })

-- 8 MiB transfers to a slow reader
S("slow", "slow_send_8mib", { { "slowread", MIB8, 262144, 5 }, { "send", "ok\n" }, { "read", "*a" } },
  { { "send", { big = MIB8 } }, { "receive" } }, { main = true })
S("slow", "slow_send_8mib_ij", { { "slowread", 7999000, 262144, 5 }, { "send", "ok\n" }, { "read", "*a" } },
  { { "send", { big = MIB8 }, 1001, 8000000 }, { "receive" } })
S("slow", "slow_send_block_timeout", { { "slowread", MIB8, 131072, 5 }, { "send", "ok\n" }, { "read", "*a" } },
  { { "settimeout", 5 }, { "send", { big = MIB8 } }, { "receive" } })
S("slow", "slow_send_total_timeout", { { "slowread", MIB8, 65536, 20 }, { "read", "*a" } },
  { { "settimeout", 0.3, "t" }, { "send", { big = MIB8 } } }, { vary = { [2] = { [3] = true } } })
S("slow", "slow_two_sends", { { "slowread", MIB8 - 1, 262144, 5 }, { "send", "ok\n" }, { "read", "*a" } },
  { { "send", { big = 4194304 } }, { "send", { big = 4194304 }, 2 }, { "receive" } })
S("slow", "slow_receive_8mib_all", { { "big", MIB8 }, { "close" } },
  { { "receive", "*a" } })

return L
