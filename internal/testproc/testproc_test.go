package testproc

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestStartKill(t *testing.T) {
	logs := new(LogBuffer)
	p, err := Start("sh", []string{"-c", "echo up; exec sleep 60"}, logs, 5*time.Second, func() error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	if p.Pid() <= 0 {
		t.Fatalf("pid %d", p.Pid())
	}
	p.Kill(5 * time.Second)
	select {
	case <-p.Done():
	default:
		t.Fatal("Kill returned before the process exited")
	}
}

func TestStartNeverReady(t *testing.T) {
	logs := new(LogBuffer)
	_, err := Start("sh", []string{"-c", "echo starting; exec sleep 60"}, logs, 100*time.Millisecond,
		func() error { return errors.New("not yet") })
	if err == nil || !strings.Contains(err.Error(), "not yet") || !strings.Contains(err.Error(), "starting") {
		t.Fatalf("err = %v, want the readiness error and the log", err)
	}
}

func TestStartExits(t *testing.T) {
	_, err := Start("sh", []string{"-c", "echo bye; exit 3"}, new(LogBuffer), 5*time.Second,
		func() error { return errors.New("not yet") })
	if err == nil || !strings.Contains(err.Error(), "exited") || !strings.Contains(err.Error(), "bye") {
		t.Fatalf("err = %v, want an exit during start-up with its log", err)
	}
}
