package peers

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// healthEndpoint serves a node's health as a peer would.
func healthEndpoint(t *testing.T, n node) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/_health" {
			http.NotFound(w, r)
			return
		}
		_ = json.NewEncoder(w).Encode(n)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// TestCheck: the members are the peers that answered for this cluster; a
// peer of another cluster, one that is down and one that answers nonsense
// are not members; when no peer answers at all (not even this node) nothing
// is known, and the member list is left as it is.
func TestCheck(t *testing.T) {
	a := healthEndpoint(t, node{ID: "a", Address: "127.0.0.1", Port: 7701, ClusterName: "chat", Kinds: []string{}})
	b := healthEndpoint(t, node{ID: "b", Address: "127.0.0.1", Port: 7702, ClusterName: "chat"})
	other := healthEndpoint(t, node{ID: "x", Address: "127.0.0.1", Port: 7703, ClusterName: "another"})
	garbage := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("<html>")) }))
	defer garbage.Close()
	down := httptest.NewServer(http.NotFoundHandler())
	downAddr := strings.TrimPrefix(down.URL, "http://")
	down.Close()

	p := New(Config{Peers: []string{a, b, other, strings.TrimPrefix(garbage.URL, "http://"), downAddr}, Refresh: time.Second})
	members := p.check("chat")
	got := map[string]int32{}
	for _, m := range members {
		got[m.Id] = m.Port
	}
	if len(got) != 2 || got["a"] != 7701 || got["b"] != 7702 {
		t.Errorf("members %v, want a (7701) and b (7702)", got)
	}

	p = New(Config{Peers: []string{downAddr}, Refresh: time.Second})
	if members := p.check("chat"); members != nil {
		t.Errorf("no peer answered, yet members %v: the list would be emptied", members)
	}
	p = New(Config{Peers: []string{other}, Refresh: time.Second})
	if members := p.check("chat"); members == nil || len(members) != 0 {
		t.Errorf("a peer of another cluster answered: members %v, want an empty list", members)
	}
}
