// Package actors is actorchat's chat server: its actors, and the Server that
// runs them. Every other part (telnet decoding, text, sockets, flood
// control) lives in a package of its own under internal/ that the actors
// use and that never calls into them.
//
// The actor tree, one file each:
//
//	ActorSystem
//	└── server              server.go: starts the children, runs the accept loop, owns shutdown
//	    ├── registry        registry.go: nick -> member; unique nicks; watches every connection
//	    ├── rooms           rooms.go: spawns and finds room actors by name; stops empty ones
//	    │   ├── lobby-1     room.go: members, topic, history; fans posts out
//	    │   └── <room>-N
//	    └── connections     connections.go: supervises the connection actors (a panic stops one)
//	        └── conn-<id>   connection.go (+ commands.go, replywait.go): one per TCP connection
//	              ^ reader goroutine (internal/netio): bytes -> telnet -> lines -> LineReceived
//	              v writer goroutine (internal/netio): outbox -> one write per burst; closes the socket
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
