package messages

// The messages that carry a password are never logged as dead letters by
// protoactor (which logs a dead letter's content): they implement its
// IgnoreDeadLetterLogging marker. This file is not generated.

func (*RegisterAccount) IgnoreDeadLetterLogging()   {}
func (*IdentifyAccount) IgnoreDeadLetterLogging()   {}
func (*ChangePassword) IgnoreDeadLetterLogging()    {}
func (*UnregisterAccount) IgnoreDeadLetterLogging() {}
func (*OperLogin) IgnoreDeadLetterLogging()         {}
