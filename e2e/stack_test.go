package e2e

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// adminToken is the demo's STRATA_ADMIN_TOKEN in these tests (POST /admin/purge).
const adminToken = "e2e-admin"

// stack is the demo, the tap in front of it and, when asked for, Varnish in front of the
// tap: client → [Varnish →] tap → demo (Strata in front of the demo's handlers).
type stack struct {
	demo    *demo
	tap     *tap
	varnish *varnish // nil without Varnish
}

// front is where clients (the test's HTTP client, the browser) send requests: Varnish when
// it runs, else the tap.
func (s *stack) front() string {
	if s.varnish != nil {
		return s.varnish.URL
	}
	return s.tap.URL
}

// newStack starts the stack. With Varnish, the demo forwards Surrogate-Key and sends every
// purge to Varnish (-forward-surrogate-key -cdn-purge), as examples/cdn/README.md runs it.
func newStack(t *testing.T, withVarnish bool) *stack {
	t.Helper()
	var varnishd string
	if withVarnish {
		varnishd = varnishBinary(t)
	}
	bin := demoBinary(t)
	s := &stack{tap: newTap(t)}
	var args []string
	if withVarnish {
		s.varnish = startVarnish(t, varnishd, s.tap.addr)
		args = append(args, "-forward-surrogate-key", "-cdn-purge", s.varnish.URL)
	}
	s.demo = startDemo(t, bin, args...)
	s.tap.setTarget(s.demo.URL)
	return s
}

// --- the tap: a counting reverse proxy in front of the demo ---

// hit is one request that reached the demo process, and its answer.
type hit struct {
	Method, URI string
	IfNoneMatch string // the request's If-None-Match
	Auth        bool   // the request carried Authorization
	Status      int
	CacheStatus string // the answer's Cache-Status (Strata's)
	ETag        string
	// SurrogateKey is the answer's Surrogate-Key, which the demo forwards to a CDN.
	SurrogateKey string
}

// tap is a reverse proxy on loopback that records every request reaching the demo, so the
// tests can say that a request never got there (served by Varnish or the browser cache)
// even when Strata would have answered it without running a handler.
type tap struct {
	URL    string
	addr   string // host:port
	target atomic.Pointer[url.URL]
	mu     sync.Mutex
	hits   []hit
}

func newTap(t *testing.T) *tap {
	tp := &tap{}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(tp.target.Load())
			pr.Out.Host = pr.In.Host // what the client (or Varnish) sent
		},
		ModifyResponse: func(resp *http.Response) error {
			r := resp.Request
			tp.record(hit{Method: r.Method, URI: r.URL.RequestURI(), IfNoneMatch: r.Header.Get("If-None-Match"),
				Auth: r.Header.Get("Authorization") != "", Status: resp.StatusCode,
				CacheStatus: resp.Header.Get("Cache-Status"), ETag: resp.Header.Get("Etag"),
				SurrogateKey: resp.Header.Get("Surrogate-Key")})
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			tp.record(hit{Method: r.Method, URI: r.URL.RequestURI(), Status: http.StatusBadGateway})
			http.Error(w, "e2e tap: "+err.Error(), http.StatusBadGateway)
		},
	}
	srv := httptest.NewServer(rp) // 127.0.0.1:0
	t.Cleanup(srv.Close)
	tp.URL = srv.URL
	tp.addr = strings.TrimPrefix(srv.URL, "http://")
	return tp
}

func (tp *tap) setTarget(raw string) {
	u, err := url.Parse(raw)
	if err != nil {
		panic(err)
	}
	tp.target.Store(u)
}

func (tp *tap) record(h hit) {
	tp.mu.Lock()
	tp.hits = append(tp.hits, h)
	tp.mu.Unlock()
}

// gets returns the GET requests for uri that reached the demo, in order.
func (tp *tap) gets(uri string) []hit {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	var out []hit
	for _, h := range tp.hits {
		if h.Method == http.MethodGet && h.URI == uri {
			out = append(out, h)
		}
	}
	return out
}

// --- the demo process ---

type demo struct {
	URL  string
	proc *proc
}

// startDemo starts the demo binary on a free loopback port, L1 only (REDIS_URL and DB_URL
// cleared: the catalogue in memory), with adminToken, and waits until it answers.
func startDemo(t *testing.T, bin string, args ...string) *demo {
	t.Helper()
	var lastErr error
	for range 3 {
		addr := "127.0.0.1:" + strconv.Itoa(freePort(t))
		a := append([]string{"-addr", addr}, args...)
		p, err := start(t, "demo", bin, a, []string{"REDIS_URL=", "DB_URL=", "STRATA_CDN_PURGE=",
			"STRATA_FORWARD_SURROGATE_KEY=", "STRATA_ADMIN_TOKEN=" + adminToken})
		if err != nil {
			t.Fatal(err)
		}
		d := &demo{URL: "http://" + addr, proc: p}
		err = p.waitReady(func() error {
			resp, err := client.Get(d.URL + "/debug/origin")
			if err != nil {
				return err
			}
			_ = resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("GET /debug/origin: %s", resp.Status)
			}
			return nil
		})
		if err == nil {
			return d
		}
		lastErr = err
		p.stop()
		if !p.logs.contains("address already in use") {
			break
		}
	}
	t.Fatalf("e2e: demo: %v", lastErr)
	return nil
}

// origin returns the demo's handler runs by route pattern (GET /debug/origin, asked directly).
func (d *demo) origin(t *testing.T) map[string]int {
	t.Helper()
	r := call(t, http.MethodGet, d.URL+"/debug/origin", "")
	var m map[string]int
	if err := json.Unmarshal([]byte(r.body), &m); err != nil {
		t.Fatalf("e2e: /debug/origin: %v: %q", err, r.body)
	}
	return m
}

// --- varnishd ---

type varnish struct {
	URL  string
	proc *proc
}

// varnishBinary finds varnishd (Debian installs it in /usr/sbin, often not on a user's PATH).
func varnishBinary(t *testing.T) string {
	t.Helper()
	bin, ok := findBinary([]string{"varnishd"}, "/usr/sbin", "/usr/local/sbin")
	if !ok {
		missing(t, "varnishd", "apt-get install varnish varnish-modules")
	}
	return bin
}

// startVarnish starts varnishd in the foreground on a free loopback port with a copy of
// examples/cdn/default.vcl whose backend is backendAddr (127.0.0.1:port), and waits until
// it answers. A VCL that does not compile for want of vmod_xkey is "missing" (skip, or
// failure under STRATA_REQUIRE_E2E=1).
func startVarnish(t *testing.T, bin, backendAddr string) *varnish {
	t.Helper()
	_, port, _ := strings.Cut(backendAddr, ":")
	src, err := os.ReadFile(filepath.Join(repoRoot(t), "examples", "cdn", "default.vcl"))
	if err != nil {
		t.Fatal(err)
	}
	const portLine = `.port = "8080";`
	if n := strings.Count(string(src), portLine); n != 1 {
		t.Fatalf("e2e: examples/cdn/default.vcl has %d backend lines %q, want 1", n, portLine)
	}
	dir := t.TempDir()
	vcl := filepath.Join(dir, "default.vcl")
	if err := os.WriteFile(vcl, []byte(strings.Replace(string(src), portLine, `.port = "`+port+`";`, 1)), 0o644); err != nil { //nolint:gosec // G306: varnishd compiles the VCL as its own unprivileged user, which must read it
		t.Fatal(err)
	}
	var lastErr error
	for i := range 3 {
		addr := "127.0.0.1:" + strconv.Itoa(freePort(t))
		v := &varnish{URL: "http://" + addr}
		args := []string{
			"-F",         // foreground: the test owns the process and ends it by PID
			"-j", "none", // no privilege separation: works as root and as a user alike
			"-a", addr,
			"-T", "none", // no management port
			"-f", vcl,
			"-n", filepath.Join(dir, "n"+strconv.Itoa(i)), // its working directory
			"-s", "malloc,64m",
			"-p", "thread_pools=1", "-p", "thread_pool_min=10",
		}
		p, err := start(t, "varnishd", bin, args, nil)
		if err != nil {
			t.Fatal(err)
		}
		v.proc = p
		err = p.waitReady(func() error {
			// A PURGE of a URL nothing is stored under: answered by vcl_recv alone, so the
			// backend sees nothing.
			r, err := do("PURGE", v.URL+"/__e2e_ready", "")
			if err != nil {
				return err
			}
			if r.status != http.StatusOK {
				return fmt.Errorf("PURGE: %d", r.status)
			}
			return nil
		})
		if err == nil {
			return v
		}
		lastErr = err
		p.stop()
		if p.logs.contains("Could not find VMOD xkey") || p.logs.contains("libvmod_xkey") {
			missing(t, "vmod_xkey (Varnish's xkey module)", "apt-get install varnish-modules")
		}
		if !p.logs.contains("Address already in use") && !p.logs.contains("address already in use") {
			break
		}
	}
	t.Fatalf("e2e: varnishd: %v", lastErr)
	return nil
}

// --- HTTP ---

type reply struct {
	status int
	h      http.Header
	body   string
}

var client = &http.Client{Timeout: 10 * time.Second}

func do(method, u, body string, hdr ...string) (reply, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		return reply{}, err
	}
	for _, kv := range hdr {
		k, v, _ := strings.Cut(kv, ":")
		req.Header.Set(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	resp, err := client.Do(req)
	if err != nil {
		return reply{}, err
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return reply{}, err
	}
	return reply{resp.StatusCode, resp.Header, string(b)}, nil
}

// call sends one request ("Name: value" header strings) and fails the test on a transport error.
func call(t *testing.T, method, u, body string, hdr ...string) reply {
	t.Helper()
	r, err := do(method, u, body, hdr...)
	if err != nil {
		t.Fatalf("e2e: %s %s: %v", method, u, err)
	}
	return r
}

// xvarnish returns the ids in an X-Varnish field: one on a miss or pass (this request's), two
// on a hit (this request's and the one that stored the object).
func xvarnish(h http.Header) []string { return strings.Fields(h.Get("X-Varnish")) }

var errNoMember = errors.New("no member")

// cacheStatus returns the Cache-Status member of cache name ("strata", "varnish"): its
// parameters as written, e.g. "hit; ttl=57".
func cacheStatus(field, name string) (string, error) {
	for m := range strings.SplitSeq(field, ",") {
		m = strings.TrimSpace(m)
		if rest, ok := strings.CutPrefix(m, name+";"); ok {
			return strings.TrimSpace(rest), nil
		}
		if m == name {
			return "", nil
		}
	}
	return "", errNoMember
}

// param returns a Cache-Status member's parameter (ttl in "hit; ttl=57") and whether it is there.
func param(member, name string) (string, bool) {
	for p := range strings.SplitSeq(member, ";") {
		p = strings.TrimSpace(p)
		if p == name {
			return "", true
		}
		if v, ok := strings.CutPrefix(p, name+"="); ok {
			return v, true
		}
	}
	return "", false
}
