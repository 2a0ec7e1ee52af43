package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"time"

	"github.com/actorchat/actorchat/internal/store"
)

// kindKline is the kind of the store entries (room "") that hold k-lines.
const kindKline = "kline"

// runKline is "chatd kline list" and "chatd kline remove CIDR": the
// k-lines in the store, read and lifted without a running chatd, so that
// no k-line can lock the server's operators out for good. A running chatd
// keeps the k-lines it loaded at start until it restarts (use /unkline on
// it).
func runKline(args []string, lookupEnv func(string) (string, bool), stdout, stderr io.Writer) int {
	usage := "usage: chatd kline list [-store URL] [-data DIR], or chatd kline remove [-store URL] [-data DIR] CIDR"
	if len(args) == 0 || (args[0] != "list" && args[0] != "remove") {
		fmt.Fprintln(stderr, "chatd kline: "+usage)
		return exitUsage
	}
	verb := args[0]
	fs := flag.NewFlagSet("chatd kline "+verb, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	sc := storageConfig{}
	fs.StringVar(&sc.store, "store", "", "the store: sqlite (default) or a postgres:// URL (default: as chatd's -store, CHATD_STORE)")
	fs.StringVar(&sc.data, "data", "", "the data directory of the embedded store (default: as chatd's -data)")
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stdout, "Usage: chatd kline list [-store URL] [-data DIR]\n       chatd kline remove [-store URL] [-data DIR] CIDR\n\n"+
				"Lists or lifts the k-lines in chatd's store; run it while chatd is stopped (a running chatd\nkeeps its k-lines until it restarts: lift one there with /unkline).\n\nFlags:")
			fs.SetOutput(stdout)
			fs.PrintDefaults()
			return exitOK
		}
		fmt.Fprintf(stderr, "chatd kline: %v\n", err)
		return exitUsage
	}
	var target netip.Prefix
	switch {
	case verb == "list" && fs.NArg() == 0:
	case verb == "remove" && fs.NArg() == 1:
		p, err := netip.ParsePrefix(fs.Arg(0))
		if err != nil {
			if a, aerr := netip.ParseAddr(fs.Arg(0)); aerr == nil {
				p, err = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()), nil
			}
		}
		if err != nil {
			fmt.Fprintf(stderr, "chatd kline remove: %q is not an address or a CIDR range\n", fs.Arg(0))
			return exitUsage
		}
		target = p.Masked()
	default:
		fmt.Fprintln(stderr, "chatd kline: "+usage)
		return exitUsage
	}
	if sc.store == "" {
		sc.store, _ = lookupEnv(envName("store"))
	}
	if sc.store == "" {
		sc.store = storeEmbedded
	}
	if sc.data == "" {
		sc.data, _ = lookupEnv(envName("data"))
	}
	if sc.store == storeNone {
		fmt.Fprintln(stderr, "chatd kline: -store none keeps no k-lines")
		return exitUsage
	}
	ctx, cancel := context.WithTimeout(context.Background(), storeOpenTimeout)
	defer cancel()
	db, where, err := openStore(ctx, sc, lookupEnv)
	if err != nil {
		fmt.Fprintf(stderr, "chatd kline: %v\n", err)
		return exitRuntime
	}
	defer db.Close()
	entries, err := db.Entries(ctx, "", time.Now())
	if err != nil {
		fmt.Fprintf(stderr, "chatd kline: %v\n", err)
		return exitRuntime
	}
	if verb == "list" {
		n := 0
		for _, e := range entries {
			if e.Kind != kindKline {
				continue
			}
			n++
			until := ""
			if !e.Expires.IsZero() {
				until = " until " + e.Expires.UTC().Format("2006-01-02 15:04Z")
			}
			reason := ""
			if e.Reason != "" {
				reason = ": " + e.Reason
			}
			fmt.Fprintf(stdout, "%s by %s%s%s\n", e.Subject, e.By, until, reason)
		}
		fmt.Fprintf(stderr, "chatd kline: %d k-lined in %s\n", n, where)
		return exitOK
	}
	found := false
	for _, e := range entries {
		if p, err := netip.ParsePrefix(e.Subject); err == nil && e.Kind == kindKline && p == target {
			found = true
		}
	}
	if !found {
		fmt.Fprintf(stderr, "chatd kline remove: %s is not k-lined in %s\n", target, where)
		return exitRuntime
	}
	err = db.Write(ctx, store.Batch{Entries: []store.EntryChange{{Entry: store.Entry{Kind: kindKline, Subject: target.String()}, Delete: true}}})
	if err != nil {
		fmt.Fprintf(stderr, "chatd kline remove: %v\n", err)
		return exitRuntime
	}
	fmt.Fprintf(stdout, "chatd kline: lifted the k-line of %s in %s\n", target, where)
	return exitOK
}
