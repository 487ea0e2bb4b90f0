package redistest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/strata-cache/strata/internal/testproc"
)

// proc is one started server.
type proc = testproc.Proc

// logBuffer keeps what a server wrote.
type logBuffer = testproc.LogBuffer

func newLogBuffer() *logBuffer { return new(testproc.LogBuffer) }

// startProc runs bin with args, sending its output to logs, and waits (at most waitLimit)
// until the server at network/addr answers PING.
func startProc(bin string, args []string, network, addr string, logs *logBuffer) (*proc, error) {
	return testproc.Start(bin, args, logs, waitLimit, func() error {
		reply, err := command(network, addr, 200*time.Millisecond, "PING")
		if err == nil && reply != "PONG" {
			err = fmt.Errorf("%s answered PING with %q", addr, reply)
		}
		return err
	})
}

// command sends one command over a fresh connection and returns the reply
// as a string: the text of a simple string, bulk string or integer. An error
// reply is returned as an error.
func command(network, addr string, timeout time.Duration, args ...string) (string, error) {
	conn, err := net.DialTimeout(network, addr, timeout)
	if err != nil {
		return "", err
	}
	defer func() { _ = conn.Close() }()
	_ = conn.SetDeadline(time.Now().Add(timeout))
	var b bytes.Buffer
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := conn.Write(b.Bytes()); err != nil {
		return "", err
	}
	r := bufio.NewReader(conn)
	line, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", errors.New("empty reply")
	}
	switch line[0] {
	case '+', ':':
		return line[1:], nil
	case '-':
		return "", errors.New(line[1:])
	case '$':
		n, err := strconv.Atoi(line[1:])
		if err != nil || n < 0 {
			return "", fmt.Errorf("bad bulk reply %q", line)
		}
		buf := make([]byte, n+2)
		if _, err := readFull(r, buf); err != nil {
			return "", err
		}
		return string(buf[:n]), nil
	}
	return "", fmt.Errorf("unexpected reply %q", line)
}

func readFull(r *bufio.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := r.Read(buf[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}
