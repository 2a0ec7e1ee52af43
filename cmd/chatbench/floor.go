package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"strconv"
)

// floorServer is the least a server of this protocol can do per connection:
// accept, write one welcome line, and read the connection (a goroutine per
// connection, blocked in read) until the client closes it. It answers
// nothing and relays nothing. Compared in the same run with the others
// (compare -servers ...,floor), it shows what the kernel, Go's runtime and
// the benchmark client cost on their own: no server speaking this protocol
// in Go can connect clients faster or hold them in less memory. It serves
// the connect and idle workloads only.
//
// With -read=false (compare's "floor-noread") it does not even read: it
// accepts, writes the welcome from the accepting goroutine and keeps the
// socket, open until the process ends. No server that notices its clients'
// input can do less.
func runFloor(args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("floor", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:7669", "address to listen on")
	read := fs.Bool("read", true, "read each connection until the client closes it (false: write the welcome and keep the socket)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	return serveFloor(ln, *read)
}

// serveFloor accepts on ln until it is closed.
func serveFloor(ln net.Listener, read bool) error {
	var guests uint64
	var kept []net.Conn // without read: every socket, so that none is closed by its finalizer
	defer func() {
		for _, c := range kept {
			c.Close()
		}
	}()
	for {
		conn, err := ln.Accept()
		if errors.Is(err, net.ErrClosed) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("accept: %w", err)
		}
		guests++
		welcome := []byte("*** Welcome to the floor. You are guest" + strconv.FormatUint(guests, 10) + ".\r\n")
		if !read {
			_, _ = conn.Write(welcome)
			kept = append(kept, conn)
			continue
		}
		go func() {
			defer conn.Close()
			if _, err := conn.Write(welcome); err != nil {
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

// floorServer reports whether a server is one of the floors.
func floorServer(name string) bool { return name == "floor" || name == "floor-noread" }

// floorServes reports whether the floor servers can run workload.
func floorServes(workload string) bool { return workload == "connect" || workload == "idle" }
