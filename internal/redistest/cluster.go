package redistest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Cluster is a Redis Cluster of masters only, formed by redis-cli.
type Cluster struct {
	addrs []string
	nodes []*clusterNode
}

type clusterNode struct {
	addr string
	proc *proc
	logs *logBuffer
}

// StartCluster starts masters redis-server processes (0 means 3, the least
// that redis-cli accepts) in cluster mode on free loopback ports, joins them
// with `redis-cli --cluster create ... --cluster-replicas 0` and waits until
// every node reports cluster_state:ok and knows all others. Everything is
// stopped by tb.Cleanup. Skips like Start when redis-server or redis-cli is
// missing.
func StartCluster(tb testing.TB, masters int) *Cluster {
	tb.Helper()
	if masters == 0 {
		masters = 3
	}
	if masters < 3 {
		tb.Fatalf("redistest: a cluster needs at least 3 masters, got %d", masters)
		return nil
	}
	server, ok := lookPath(tb, "redis-server")
	if !ok {
		return nil
	}
	cli, ok := lookPath(tb, "redis-cli")
	if !ok {
		return nil
	}
	dir := tb.TempDir()
	c := &Cluster{}
	tb.Cleanup(func() {
		for _, n := range c.nodes {
			n.proc.Kill(waitLimit)
		}
		if tb.Failed() {
			for _, n := range c.nodes {
				tb.Logf("redistest: cluster node %s log:\n%s", n.addr, n.logs.String())
			}
		}
	})

	for i := range masters {
		n, err := startClusterNode(server, filepath.Join(dir, strconv.Itoa(i)))
		if err != nil {
			tb.Fatalf("redistest: cluster node %d: %v", i, err)
			return nil
		}
		c.nodes = append(c.nodes, n)
		c.addrs = append(c.addrs, n.addr)
	}

	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	args := append([]string{"--cluster", "create"}, c.addrs...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	out, err := exec.CommandContext(ctx, cli, args...).CombinedOutput()
	if err != nil {
		tb.Fatalf("redistest: redis-cli %s: %v\n%s", strings.Join(args, " "), err, out)
		return nil
	}
	if err := c.waitOK(masters); err != nil {
		tb.Fatalf("redistest: %v\nredis-cli output:\n%s", err, out)
		return nil
	}
	return c
}

func startClusterNode(bin, dir string) (*clusterNode, error) {
	var lastErr error
	for range startAttempts {
		port, err := pickPort(true)
		if err != nil {
			return nil, err
		}
		n := &clusterNode{addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), logs: newLogBuffer()}
		nodeDir := dir + "-" + strconv.Itoa(port)
		if err := os.MkdirAll(nodeDir, 0o700); err != nil {
			return nil, err
		}
		args := []string{
			"--bind", "127.0.0.1", "--port", strconv.Itoa(port),
			"--save", "", "--appendonly", "no", "--dir", nodeDir,
			"--cluster-enabled", "yes",
			"--cluster-config-file", filepath.Join(nodeDir, "nodes.conf"),
			"--cluster-node-timeout", "2000",
		}
		p, err := startProc(bin, args, "tcp", n.addr, n.logs)
		if err == nil {
			n.proc = p
			return n, nil
		}
		lastErr = err
		if !isAddrInUse(err) {
			break
		}
	}
	return nil, lastErr
}

// waitOK polls CLUSTER INFO on every node until each one reports an ok state,
// all 16384 slots assigned and ok, and knows every node.
func (c *Cluster) waitOK(masters int) error {
	deadline := time.Now().Add(waitLimit)
	want := []string{
		"cluster_state:ok",
		"cluster_slots_assigned:16384",
		"cluster_slots_ok:16384",
		"cluster_known_nodes:" + strconv.Itoa(masters),
	}
	for {
		var bad string
		for _, a := range c.addrs {
			info, err := command("tcp", a, time.Second, "CLUSTER", "INFO")
			if err != nil {
				bad = fmt.Sprintf("%s: %v", a, err)
				break
			}
			for _, w := range want {
				if !strings.Contains(info, w+"\r\n") && !strings.HasSuffix(strings.TrimSpace(info), w) {
					bad = fmt.Sprintf("%s: CLUSTER INFO lacks %q:\n%s", a, w, info)
					break
				}
			}
			if bad != "" {
				break
			}
		}
		if bad == "" {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("cluster not ready within %s: %s", waitLimit, bad)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Addrs returns the nodes' "127.0.0.1:port" addresses.
func (c *Cluster) Addrs() []string { return append([]string(nil), c.addrs...) }

// Options returns go-redis cluster options for this cluster, with
// ContextTimeoutEnabled set so that context deadlines bound each call.
func (c *Cluster) Options() *redis.ClusterOptions {
	return &redis.ClusterOptions{Addrs: c.Addrs(), ContextTimeoutEnabled: true}
}

// Client returns a new cluster client (see Options), closed by tb.Cleanup.
func (c *Cluster) Client(tb testing.TB) *redis.ClusterClient {
	tb.Helper()
	cc := redis.NewClusterClient(c.Options())
	tb.Cleanup(func() { _ = cc.Close() })
	return cc
}
