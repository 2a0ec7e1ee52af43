package messages

// Marker methods that protoactor looks for on user messages. They live here,
// beside the generated code, because generated files are never edited.

// IgnoreDeadLetterLogging keeps dead-letter logs quiet for input that a
// reader goroutine sends while its connection actor is already stopping: that
// race is expected and harmless.
func (*LineReceived) IgnoreDeadLetterLogging()      {}
func (*LineTooLong) IgnoreDeadLetterLogging()       {}
func (*InterruptReceived) IgnoreDeadLetterLogging() {}
func (*InputOverflow) IgnoreDeadLetterLogging()     {}
func (*NegotiationReply) IgnoreDeadLetterLogging()  {}
func (*InputClosed) IgnoreDeadLetterLogging()       {}
func (*OutputFailed) IgnoreDeadLetterLogging()      {}

// Deliveries to a connection are not activity of its user, so they must not
// postpone the connection's idle timeout. Only input lines do.
func (*MessagePosted) NotInfluenceReceiveTimeout()          {}
func (*MemberJoined) NotInfluenceReceiveTimeout()           {}
func (*MemberLeft) NotInfluenceReceiveTimeout()             {}
func (*MemberRenamed) NotInfluenceReceiveTimeout()          {}
func (*TopicChanged) NotInfluenceReceiveTimeout()           {}
func (*PrivateMessageReceived) NotInfluenceReceiveTimeout() {}
func (*NegotiationReply) NotInfluenceReceiveTimeout()       {}
func (*OutputFailed) NotInfluenceReceiveTimeout()           {}
func (*Shutdown) NotInfluenceReceiveTimeout()               {}
