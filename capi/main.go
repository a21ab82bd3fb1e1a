// Command capi is the cgo layer of asok, built with -buildmode=c-shared into
// libasok.so. It only translates between the C API of include/asok.h and
// package core: handles, C types, error codes. No logic lives here.
package main

/*
#cgo CFLAGS: -I${SRCDIR}/../include -fvisibility=hidden
*/
import "C"

// main is required by -buildmode=c-shared and never runs.
func main() {}
