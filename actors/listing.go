package actors

// maxListed bounds how many entries one listing (/who, /users, /rooms)
// shows: with thousands online, an 8-byte command must not be answered with
// a hundred kilobytes. The listing says how many more there are, and a
// pattern narrows it.
const maxListed = 50

// listingLinesPerLine is how many lines of a listing cost the user as much of
// their flood allowance as one line they send: a listing's output counts
// against the same budget as chat.
const listingLinesPerLine = 10
