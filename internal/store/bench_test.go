package store

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/actorchat/actorchat/internal/testkit"
)

// BenchmarkWrite writes batches of 800 posts (a 200 ms flush at 4000 posts
// a second, as in chatbench's fanout-1k-sat) to each backend; ns/op is per
// batch.
func BenchmarkWrite(b *testing.B) {
	var batch Batch
	for i := range 800 {
		batch.Posts = append(batch.Posts, Post{Room: "lobby", Nick: fmt.Sprintf("guest%d", i%10), Text: fmt.Sprintf("%0100d", i), At: time.Now()})
	}
	run := func(b *testing.B, db *DB) {
		b.ReportAllocs()
		for b.Loop() {
			if err := db.Write(context.Background(), batch); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(batch.Posts)), "ns/post")
	}
	b.Run("sqlite", func(b *testing.B) {
		db, err := OpenSQLite(context.Background(), b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		run(b, db)
	})
	b.Run("postgres", func(b *testing.B) {
		pg := testkit.StartPostgres(b)
		db, err := OpenPostgres(context.Background(), pg.URL())
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		run(b, db)
	})
}
