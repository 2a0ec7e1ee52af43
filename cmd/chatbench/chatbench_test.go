package main

import (
	"context"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/actorchat/actorchat/actors"
)

// The benchmark is not a timed test: these smoke runs check that chatbench
// works end to end against chatd and that nothing is lost or reordered.

func startChatd(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := actors.DefaultConfig()
	cfg.Logger = slog.New(slog.DiscardHandler)
	cfg.FloodRate = 0
	cfg.MaxConnsPerIP = 0
	srv := actors.Start(ln, cfg)
	t.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
	return ln.Addr().String()
}

func smokeOptions(addr string) options {
	return options{addr: addr, conc: 10, size: 64, dialTimeout: 10 * time.Second, drain: 10 * time.Second}
}

func TestSmokeFanout(t *testing.T) {
	o := smokeOptions(startChatd(t))
	o.clients, o.senders, o.lines = 20, 3, 50
	res, err := fanout(o)
	if err != nil {
		t.Fatal(err)
	}
	if res.Loss != 0 || res.OutOfOrder != 0 || res.Deliveries != 19*3*50 {
		t.Errorf("deliveries %d (loss %d, out of order %d), want %d", res.Deliveries, res.Loss, res.OutOfOrder, 19*3*50)
	}
	if res.P50 <= 0 || res.Max < res.P99 {
		t.Errorf("latencies p50 %v p99 %v max %v", res.P50, res.P99, res.Max)
	}
}

func TestSmokePacedAndRooms(t *testing.T) {
	addr := startChatd(t)
	o := smokeOptions(addr)
	o.clients, o.senders, o.rate, o.duration = 10, 2, 50, 200*time.Millisecond
	res, err := fanout(o)
	if err != nil {
		t.Fatal(err)
	}
	if res.Loss != 0 || res.Deliveries != 9*2*10 {
		t.Errorf("paced: deliveries %d, loss %d", res.Deliveries, res.Loss)
	}
	o = smokeOptions(addr)
	o.rooms, o.members, o.lines = 3, 4, 5
	res, err = roomsBusy(o)
	if err != nil {
		t.Fatal(err)
	}
	if res.Loss != 0 || res.Deliveries != 12*3*5 {
		t.Errorf("rooms: deliveries %d, loss %d", res.Deliveries, res.Loss)
	}
}

func TestSmokeConnect(t *testing.T) {
	o := smokeOptions(startChatd(t))
	o.clients = 30
	res, err := connectStorm(o)
	if err != nil {
		t.Fatal(err)
	}
	if res.ConnsPerSec <= 0 {
		t.Errorf("connections/s %v", res.ConnsPerSec)
	}
}
