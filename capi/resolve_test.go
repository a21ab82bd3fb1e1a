package main

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/asok-lua/asok/core"
)

// asok.h codes appended after ASOK_EINTERNAL for name resolution.
const (
	eAINoName     = -9992
	eAIAgain      = -9991
	eAIFail       = -9990
	eAIAddrFamily = -9989
)

func TestResolveCode(t *testing.T) {
	tests := []struct {
		err  error
		want int
	}{
		{core.ErrNoName, eAINoName},
		{core.ErrAgain, eAIAgain},
		{core.ErrFail, eAIFail},
		{core.ErrFamily, eAIAddrFamily},
		{fmt.Errorf("lookup: %w", core.ErrNoName), eAINoName},
		{core.ErrWait, eWait},
		{core.ErrBusy, eBusy},
		{nil, 0},
	}
	for _, tt := range tests {
		if got := int(resolveCode(tt.err)); got != tt.want {
			t.Errorf("resolveCode(%v) = %d, want %d", tt.err, got, tt.want)
		}
	}
}

func TestFormatAddrs(t *testing.T) {
	addrs := []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("::1"),
		netip.MustParseAddr("fe80::1%eth0")}
	got := string(formatAddrs(addrs))
	if want := "127.0.0.1\x00::1\x00fe80::1%eth0\x00\x00"; got != want {
		t.Fatalf("formatAddrs = %q, want %q", got, want)
	}
	if got := string(formatAddrs(nil)); got != "\x00" {
		t.Fatalf("empty list = %q", got)
	}
}
