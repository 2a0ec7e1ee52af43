// Package text is what users' text goes through: Sanitize cleans every input
// line before anyone sees it, Parse tells chat from commands, and the Append
// functions render the lines a user reads (docs/protocol.md is the
// reference). It knows nothing of actors or sockets.
package text
