-- diff/scenarios_udp.lua: UDP send/receive/receivefrom/sendto, truncation,
-- timeouts. proto "udp" is unconnected (the client announced itself with
-- sendto), "udpc" is connected with setpeername to the peer.
local L = {}

-- S adds one scenario.
local function S(name, proto, peer, client, opt)
  local s = opt or {}
  s.family, s.name, s.proto, s.peer, s.client = "udp", name, proto, peer, client
  L[#L + 1] = s
end

local hello = { { "reply", "hello" } }
local hundred = { { "reply", string.rep("0123456789", 10) } }
S("udp_receive", "udp", hello, { { "receive" } }, { main = true })
S("udp_receive_connected", "udpc", hello, { { "receive" } })
S("udp_truncate", "udp", hundred, { { "receive", 10 } })
S("udp_truncate_connected", "udpc", hundred, { { "receive", 10 }, { "settimeout", 0.1 }, { "receive" } })
S("udp_receivefrom", "udp", hello, { { "receivefrom" } }, { main = true })
S("udp_receivefrom_truncate", "udp", hundred, { { "receivefrom", 5 } })
S("udp_receivefrom_connected", "udpc", hello, { { "receivefrom" } })
S("udp_timeout_then_data", "udp", { { "pause", 500 }, { "reply", "late" } },
  { { "settimeout", 0.1 }, { "receive" }, { "settimeout", 3 }, { "receive" } })
S("udp_timeout_receivefrom", "udp", { { "pause", 500 }, { "reply", "late" } },
  { { "settimeout", 0.1 }, { "receivefrom" }, { "settimeout", 3 }, { "receivefrom" } })
S("udp_total_timeout", "udpc", { { "pause", 500 }, { "reply", "late" } },
  { { "settimeout", 0.1, "t" }, { "receive" }, { "settimeout", -1, "t" }, { "receive" } })
S("udp_zero_timeout", "udpc", { { "pause", 300 }, { "reply", "z" } },
  { { "settimeout", 0 }, { "receive" }, { "settimeout", 2 }, { "receive" } })
S("udp_send_echo", "udpc", { { "echo" }, { "echo" } },
  { { "send", "ping" }, { "receive" }, { "send", "" }, { "receive" } }, { main = true })
S("udp_sendto_echo", "udp", { { "echo" } },
  { { "sendto", "ping", "127.0.0.1", "$UDP" }, { "receivefrom" } })
S("udp_sendto_string_port", "udp", { { "echo" } },
  { { "sendto", "pong", "127.0.0.1", "$UDPSTR" }, { "receive" } })
S("udp_empty_datagram", "udp", { { "reply", "" }, { "reply", "x" } },
  { { "receive" }, { "receivefrom" } })
S("udp_big_default_size", "udpc", { { "replybig", 60000 } }, { { "receive" } })
S("udp_big_explicit_size", "udpc", { { "replybig", 60000 } }, { { "receive", 65535 } })
S("udp_big_receivefrom", "udp", { { "replybig", 20000 } }, { { "receivefrom", 30000 } })
S("udp_order", "udp", { { "reply", "a" }, { "reply", "bb" }, { "reply", "ccc" } },
  { { "receive" }, { "receive", 1 }, { "receivefrom" } })
S("udp_fraction_size", "udpc", { { "reply", "abcdef" }, { "reply", "ghijkl" } },
  { { "receive", 3.9 }, { "receive", "2" } })
S("udp_zero_size", "udp", { { "reply", "abc" } }, { { "receive", 0 } })
S("udp_receivefrom_zero", "udp", { { "reply", "abc" } },
  { { "receivefrom", 0 }, { "settimeout", 0.1 }, { "receive" }, { "receivefrom", 0 } })
S("udp_send_big", "udpc", { { "echo" } },
  { { "send", { big = 9000 } }, { "receive", 9000 } })
S("udp_sendto_on_connected", "udpc", { { "reply", "x" } },
  { { "receive" }, { "sendto", "no", "127.0.0.1", "$UDP" } })
S("udp_send_on_unconnected", "udp", { { "reply", "x" } },
  { { "receive" }, { "send", "no" } })

-- unix datagram sockets (socket.unix.dgram): proto "unixdg" is unconnected
-- (bound to a path of its own, announced with sendto), "unixdgc" connected
local function U(name, proto, peer, client, opt)
  S(name, proto, peer, client, opt)
  L[#L].family = "unixdg"
end

U("unixdg_receive", "unixdg", hello, { { "receive" } }, { main = true })
U("unixdg_receive_connected", "unixdgc", hello, { { "receive" } })
U("unixdg_truncate", "unixdg", hundred, { { "receive", 10 }, { "settimeout", 0.1 }, { "receive" } })
U("unixdg_receivefrom", "unixdg", hello, { { "receivefrom" } }, { main = true })
U("unixdg_receivefrom_truncate", "unixdg", hundred, { { "receivefrom", 5 } })
U("unixdg_receivefrom_connected", "unixdgc", hello, { { "receivefrom" } })
U("unixdg_timeout_then_data", "unixdg", { { "pause", 500 }, { "reply", "late" } },
  { { "settimeout", 0.1 }, { "receive" }, { "settimeout", 3 }, { "receive" } })
U("unixdg_timeout_receivefrom", "unixdg", { { "pause", 500 }, { "reply", "late" } },
  { { "settimeout", 0.1 }, { "receivefrom" }, { "settimeout", 3 }, { "receivefrom" } })
U("unixdg_zero_timeout", "unixdgc", { { "pause", 300 }, { "reply", "z" } },
  { { "settimeout", 0 }, { "receive" }, { "settimeout", 2 }, { "receive" } })
U("unixdg_send_echo", "unixdgc", { { "echo" }, { "echo" } },
  { { "send", "ping" }, { "receive" }, { "send", "" }, { "receive" } }, { main = true })
U("unixdg_sendto_echo", "unixdg", { { "echo" } },
  { { "sendto", "ping", "$UNIXDG" }, { "receivefrom" } }, { main = true })
U("unixdg_empty_datagram", "unixdg", { { "reply", "" }, { "reply", "x" } },
  { { "receive" }, { "receivefrom" } })
U("unixdg_big_default_size", "unixdgc", { { "replybig", 60000 } }, { { "receive" } })
U("unixdg_big_explicit_size", "unixdgc", { { "replybig", 60000 } }, { { "receive", 65535 } })
U("unixdg_big_receivefrom", "unixdg", { { "replybig", 20000 } }, { { "receivefrom", 30000 } })
U("unixdg_order", "unixdg", { { "reply", "a" }, { "reply", "bb" }, { "reply", "ccc" } },
  { { "receive" }, { "receive", 1 }, { "receivefrom" } })
U("unixdg_fraction_size", "unixdgc", { { "reply", "abcdef" }, { "reply", "ghijkl" } },
  { { "receive", 3.9 }, { "receive", "2" } })
U("unixdg_zero_size", "unixdg", { { "reply", "abc" } }, { { "receive", 0 } })
U("unixdg_receivefrom_zero", "unixdg", { { "reply", "abc" } },
  { { "receivefrom", 0 }, { "settimeout", 0.1 }, { "receive" }, { "receivefrom", 0 } })
U("unixdg_send_big", "unixdgc", { { "echo" } },
  { { "send", { big = 9000 } }, { "receive", 9000 } })
U("unixdg_sendto_errors", "unixdg", { { "reply", "x" } },
  { { "receive" }, { "sendto", "no", "$NOPATH" }, { "sendto", "no", "$LONGPATH" },
    { "sendto", 42, "$UNIXDG" } })
U("unixdg_sendto_on_connected", "unixdgc", { { "reply", "x" } },
  { { "receive" }, { "sendto", "no", "$UNIXDG" } })
U("unixdg_send_on_unconnected", "unixdg", { { "reply", "x" } },
  { { "receive" }, { "send", "no" } })
U("unixdg_bad_size", "unixdg", { { "reply", "x" } },
  { { "receive" }, { "receive", {} } })

return L
