package haproxy

import "strings"

// framing is how a CLI marks the end of each reply in prompt mode, and what
// each command line must start with.
//
// A worker's CLI prints "\n> " after every reply (the "\n" ends the reply).
// The master CLI (`haproxy -W -S <socket>`) prints "master> " instead, with
// nothing before the first one, and runs a line on the current worker only
// when it starts with "@1 " (else on the master itself). Every forwarded
// line runs in a session of its own on the worker, so no session setting
// would hold there; nothing here needs one.
type framing struct {
	prefix    string // put before every command line
	prompt    string // printed after every reply
	bareFirst bool   // the first prompt comes without the newline
	quitEcho  bool   // `quit` is answered with one more bare prompt
}

var (
	workerCLI = framing{prompt: "> "}
	masterCLI = framing{prefix: "@1 ", prompt: "master> ", bareFirst: true, quitEcho: true}
)

// mark separates replies: the reply's terminating newline and the prompt.
func (f framing) mark() string { return "\n" + f.prompt }

// lines puts the prefix before each command line.
func (f framing) lines(lines []string) []string {
	if f.prefix == "" {
		return lines
	}
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = f.prefix + l
	}
	return out
}

// whole turns the reply of a whole exchange (`prompt`, the commands,
// `quit`) into the worker CLI's shape: a mark before every reply and after
// the last, nothing else.
func (f framing) whole(reply string) string {
	if f.quitEcho {
		reply = strings.TrimSuffix(reply, f.prompt)
	}
	return f.lead() + reply
}

// lead is what makes a whole prompt-mode reply start with a mark, as the
// worker CLI's does: the master prints its first prompt bare.
func (f framing) lead() string {
	if f.bareFirst {
		return "\n"
	}
	return ""
}

// framed is implemented by transports whose CLI frames replies differently
// from a worker's.
type framed interface{ cliFraming() framing }

func framingOf(t Transport) framing {
	if f, ok := t.(framed); ok {
		return f.cliFraming()
	}
	return workerCLI
}

// masterTransport reaches the current worker through the master CLI, over
// any transport: one stable socket across reloads.
type masterTransport struct{ Transport }

func (m masterTransport) String() string      { return "master+" + m.Transport.String() }
func (m masterTransport) cliFraming() framing { return masterCLI }
