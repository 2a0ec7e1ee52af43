package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync/atomic"
)

// floorServer is the least a server of this protocol can do per connection:
// accept, write one welcome line, and read the connection (a goroutine per
// connection, blocked in read) until the client closes it. It answers
// nothing and relays nothing. Compared in the same run with the others
// (compare -servers ...,floor), it shows what the kernel, Go's runtime and
// the benchmark client cost on their own: no server speaking this protocol
// in Go can connect clients faster or hold them in less memory. It serves
// the connect and idle workloads only.
func runFloor(args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("floor", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:7669", "address to listen on")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	return serveFloor(ln)
}

// serveFloor accepts on ln until it is closed.
func serveFloor(ln net.Listener) error {
	var guests atomic.Uint64
	for {
		conn, err := ln.Accept()
		if errors.Is(err, net.ErrClosed) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("accept: %w", err)
		}
		go func() {
			defer conn.Close()
			welcome := "*** Welcome to the floor. You are guest" + strconv.FormatUint(guests.Add(1), 10) + ".\r\n"
			if _, err := conn.Write([]byte(welcome)); err != nil {
				return
			}
			buf := make([]byte, 512)
			for {
				if _, err := conn.Read(buf); err != nil {
					return
				}
			}
		}()
	}
}

// floorServes reports whether the floor server can run workload.
func floorServes(workload string) bool { return workload == "connect" || workload == "idle" }
