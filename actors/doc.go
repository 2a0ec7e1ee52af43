// Package actors is actorchat's chat server: its actors, and the Server that
// runs them. Every other part (telnet decoding, text, sockets, flood
// control) lives in a package of its own under internal/ that the actors
// use and that never calls into them.
//
// The actor tree, one file each:
//
//	ActorSystem
//	└── server              server.go: starts the children, owns the shutdown order; its accept
//	    │                   loops (plain, TLS, IRC) are acceptor.go; Server, what callers hold, facade.go
//	    ├── store           store.go: (with a store) takes posts, topics and rules; writes them in batches
//	    ├── registry        registry.go (+ registry_admin.go): nick -> member; unique nicks; who is
//	    │                   identified as what, who is an operator; k-lines
//	    ├── accounts        accounts.go: checks passwords (accounts', operators') on worker goroutines
//	    ├── rooms           rooms.go: spawns and finds room actors by name; stops empty ones
//	    │   ├── lobby-1     room.go (+ room_moderation.go): members, topic, history, rules; fans posts out
//	    │   └── <room>-N
//	    ├── connections     connections.go: supervises the connection actors (a panic stops one)
//	    │   └── conn-<id>   connection.go: one per TCP connection; its input (connection_input.go),
//	    │                   output (connection_output.go), rooms (connection_rooms.go), requests
//	    │                   (requests.go), commands (commands.go ...), cluster reclaim (connection_reclaim.go);
//	    │                   on an IRC port, IRC's commands (connection_irc.go, connection_irc_queries.go)
//	    │                   and codec (internal/irc)
//	    │         ^ reader goroutine (internal/netio): bytes -> telnet (IRC: plain) -> lines -> LineReceived
//	    │         v outbox: one non-blocking write per turn; a writer goroutine for the rest; closes the socket
//	    └── in a cluster:
//	        registry-router, rooms-router   cluster.go: forward to the coordinator's registry and rooms
//	        relay                           relay.go: hands a room's posts on to this node's members
//	        cluster                         cluster.go: the node in Proto.Actor's cluster; finds the coordinator
//
// Actors talk only in the protobuf messages of package messages. A request
// names who it is about by member id (unique across processes: the node's
// id and the connection's number) and where the answer goes (reply_to), so
// that no actor takes the transport's sender as proof of identity, and a
// room could be a grain on another node. supervision.go has the supervisor
// strategy and the props helper that adds the tests' fault injection
// (Config.Middleware, nil in production); docs/architecture.md says why
// things are the way they are.
package actors
