-- diff/scenarios_misc.lua: IPv6, unix sockets, wrapper methods, connect,
-- main-thread calls.
local L = {}

-- S adds one scenario.
local function S(family, name, proto, peer, client, opt)
  local s = opt or {}
  s.family, s.name, s.proto, s.peer, s.client = family, name, proto, peer, client
  L[#L + 1] = s
end

-- the first piece must arrive within the 0.3 s timeout and the second
-- well after it: margins wider than the reactor's worst lag under the
-- whole suite (tens of ms while 8 MiB scenarios run)
local late = { { "send", "ab" }, { "pause", 1000 }, { "send", "cd\n" }, { "close" } }
local echo = { { "echo", "*a" }, { "close" } }
local reset3 = { { "send", "abc" }, { "pause", 300 }, { "reset" } }

-- IPv6 (::1)
S("ipv6", "ipv6_line", "tcp6", { { "send", "v6\r\nline\nx" }, { "close" } },
  { { "receive" }, { "receive" }, { "receive" } }, { main = true })
S("ipv6", "ipv6_count_all", "tcp6", { { "send", "123456" }, { "close" } },
  { { "receive", 2 }, { "receive", "*a" }, { "receive", 1 } })
S("ipv6", "ipv6_timeout", "tcp6", late,
  { { "settimeout", 0.3 }, { "receive" }, { "settimeout", 2 }, { "receive", "*l", "$P" } })
S("ipv6", "ipv6_send_echo", "tcp6", echo,
  { { "send", "abcdef", 2, -2 }, { "shutdown", "send" }, { "receive", "*a" } })
S("ipv6", "ipv6_reset", "tcp6", reset3, { { "receive", "*a" } })
S("ipv6", "ipv6_connect", "master6", { { "send", "hi6\n" }, { "close" } },
  { { "connect", "::1", "$TCP6" }, { "send", "$NAME\n" }, { "receive" }, { "receive" } })
S("ipv6", "ipv6_getpeername", "tcp6", { { "close" } },
  { { "getpeername" } }, { styles = { "wrap" } })

-- unix stream sockets (socket.unix)
S("unix", "unix_line", "unix", { { "send", "u1\r\nu2\nu3" }, { "close" } },
  { { "receive" }, { "receive" }, { "receive" } })
S("unix", "unix_count_all", "unix", { { "send", "123456" }, { "close" } },
  { { "receive", 4 }, { "receive", "*a" }, { "receive", "*a" } })
S("unix", "unix_timeout", "unix", late,
  { { "settimeout", 0.3 }, { "receive", 3 }, { "settimeout", 2 }, { "receive", 5, "$P" } })
S("unix", "unix_send_echo", "unix", echo,
  { { "send", "abcdef", -3 }, { "send", { big = 300000 } }, { "shutdown", "send" }, { "receive", 9 } })
S("unix", "unix_slow_reader", "unix", { { "slowread", 4194304, 131072, 5 }, { "send", "ok\n" }, { "read", "*a" } },
  { { "send", { big = 4194304 } }, { "receive" } })

-- wrapper methods (run on asok.wrap objects; the reference is the raw socket)
local W = { styles = { "wrap" } }
-- wopt copies W with extra fields.
local function wopt(t) t.styles = W.styles; return t end
S("wrapper", "wrap_getpeername", "tcp", { { "close" } },
  { { "getpeername" }, { "getfamily" } }, wopt({}))
S("wrapper", "wrap_options", "tcp", { { "close" } },
  { { "setoption", "tcp-nodelay", true }, { "getoption", "tcp-nodelay" },
    { "setoption", "keepalive", true }, { "getoption", "keepalive" },
    { "setoption", "linger", { on = true, timeout = 3 } }, { "getoption", "linger" },
    { "getoption", "reuseaddr" } }, wopt({}))
S("wrapper", "wrap_bad_option", "tcp", { { "close" } }, { { "getoption", "bogus" } }, wopt({}))
S("wrapper", "wrap_close_then_io", "tcp", { { "send", "zz\n" }, { "close" } },
  { { "close" }, { "receive" }, { "send", "x" }, { "close" } }, wopt({}))
S("wrapper", "wrap_dirty_getstats", "tcp", { { "send", "abcd" }, { "pause", 200 }, { "close" } },
  { { "receive", 2 }, { "dirty" }, { "getstats" }, { "receive", 2 }, { "dirty" } },
  wopt({ vary = { [3] = { [3] = true } } }))
S("wrapper", "wrap_gettimeout", "tcp", { { "close" } },
  { { "gettimeout" }, { "settimeout", 0.5 }, { "gettimeout" }, { "settimeout", 2, "t" },
    { "gettimeout" } }, wopt({}))
S("wrapper", "wrap_shutdown_both", "tcp", { { "pause", 200 }, { "close" } },
  { { "shutdown", "both" }, { "receive" }, { "send", "x" } }, wopt({}))
S("wrapper", "wrap_shutdown_bad", "tcp", { { "close" } }, { { "shutdown", "x" } }, wopt({}))
S("wrapper", "wrap_setstats", "tcp", { { "echo", 3 }, { "close" } },
  { { "setstats", 10, 20, 30 }, { "send", "abc" }, { "receive", 3 }, { "getstats" } },
  wopt({ vary = { [4] = { [3] = true } } }))
S("wrapper", "wrap_udp_methods", "udpc", { { "reply", "x" } },
  { { "getpeername" }, { "getoption", "broadcast" }, { "setoption", "broadcast", true },
    { "getoption", "broadcast" }, { "receive" }, { "close" }, { "close" } }, wopt({}))
S("wrapper", "wrap_getsockname", "tcp", { { "close" } }, { { "getsockname" } },
  wopt({ vary = { [1] = { [2] = true } } }))

-- connect (asok.connect / wrapper connect on an unconnected master)
S("connect", "connect_ok", "master", { { "send", "hi\n" }, { "close" } },
  { { "connect", "127.0.0.1", "$TCP4" }, { "send", "$NAME\n" }, { "receive" }, { "receive" } })
S("connect", "connect_refused", "master", {}, { { "connect", "127.0.0.1", "$DEADPORT" } })
S("connect", "connect_then_timeout", "master", { { "pause", 500 }, { "send", "x\n" }, { "close" } },
  { { "connect", "127.0.0.1", "$TCP4" }, { "send", "$NAME\n" }, { "settimeout", 0.1 },
    { "receive" }, { "settimeout", 2 }, { "receive" } })
-- a zero block timeout: LuaSocket's connect returns 'timeout' as soon as
-- the kernel says "in progress" (socket_connect's zero-timeout case),
-- without looking for the outcome; a later connect finds it
S("connect", "connect_zero_timeout_refused", "master", {},
  { { "settimeout", 0 }, { "connect", "127.0.0.1", "$DEADPORT" }, { "sleep", 0.3 },
    { "getoption", "error" }, { "connect", "127.0.0.1", "$DEADPORT" } })
S("connect", "connect_zero_timeout_ok", "master", { { "send", "hi\n" }, { "close" } },
  { { "settimeout", 0 }, { "connect", "127.0.0.1", "$TCP4" }, { "sleep", 0.3 },
    { "connect", "127.0.0.1", "$TCP4" }, { "settimeout", 2 }, { "send", "$NAME\n" },
    { "receive" } })
-- Linux answers the first connect(2) after a non-blocking connect completed
-- with success, later ones with EISCONN: LuaSocket's connect waits without
-- calling connect again, so the user's next connect returns 1 once
S("connect", "connect_twice", "master", { { "send", "hi\n" }, { "close" } },
  { { "connect", "127.0.0.1", "$TCP4" }, { "connect", "127.0.0.1", "$TCP4" },
    { "connect", "127.0.0.1", "$TCP4" }, { "send", "$NAME\n" }, { "receive" } })

-- main-thread calls (also run from the main thread while coroutines run)
S("main", "main_line_wait", "tcp", { { "pause", 300 }, { "send", "waited\n" }, { "close" } },
  { { "receive" }, { "receive" } }, { main = true })
S("main", "main_sleep_then_all", "tcp", { { "send", "a" }, { "pause", 100 }, { "send", "b" }, { "close" } },
  { { "sleep", 0.3 }, { "receive", "*a" } }, { main = true })
S("main", "main_udp_timeout", "udp", { { "pause", 500 }, { "reply", "u" } },
  { { "settimeout", 0.1 }, { "receive" }, { "settimeout", 2 }, { "receivefrom" } }, { main = true })
S("main", "main_send_echo", "tcp", echo,
  { { "send", "main", 2 }, { "shutdown", "send" }, { "receive", "*a" } }, { main = true })

return L
