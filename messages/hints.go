package messages

// Marker methods that protoactor looks for on user messages. They live here,
// beside the generated code, because generated files are never edited.

// IgnoreDeadLetterLogging keeps dead-letter logs quiet for what a
// connection's goroutines and timer send while its actor is already stopping:
// that race is expected and harmless.
func (*LineReceived) IgnoreDeadLetterLogging()      {}
func (*LineTooLong) IgnoreDeadLetterLogging()       {}
func (*InterruptReceived) IgnoreDeadLetterLogging() {}
func (*InputOverflow) IgnoreDeadLetterLogging()     {}
func (*NegotiationReply) IgnoreDeadLetterLogging()  {}
func (*InputClosed) IgnoreDeadLetterLogging()       {}
func (*OutputFailed) IgnoreDeadLetterLogging()      {}
func (*IdleCheck) IgnoreDeadLetterLogging()         {}
