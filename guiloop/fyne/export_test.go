package fyneloop

// Goid exposes the goroutine id the pump uses, so that tests can check
// where callbacks run.
var Goid = goid

// Millis exposes the timeout rounding.
var Millis = millis

// Polls is how many times the pump goroutine has woken from its poll.
func (p *Pump) Polls() int64 { return p.polls.Load() }
