package core

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/strata-cache/strata/negative"
)

// TestDecide traces each storability and freshness rule to its RFC section.
func TestDecide(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	date := now.Format(http.TimeFormat)
	rules, _ := negative.Rules{}.Validate()
	type want struct {
		reason  Reason
		fresh   time.Duration
		initAge time.Duration
		swr     time.Duration
		sie     time.Duration
		noStale bool
		neg     bool
		strip   []string
	}
	tests := []struct {
		name   string
		rfc    string
		status int
		h      http.Header
		auth   bool
		want   want
	}{
		{"max-age", "9111 §5.2.2.1", 200, http.Header{"Cache-Control": {"max-age=60"}}, false, want{fresh: time.Minute}},
		{"s-maxage over max-age", "9111 §5.2.2.10, §4.2.1", 200, http.Header{"Cache-Control": {"max-age=10, s-maxage=60"}}, false, want{fresh: time.Minute}},
		{"Expires minus Date", "9111 §4.2.1, §5.3", 200, http.Header{"Date": {date}, "Expires": {now.Add(30 * time.Second).Format(http.TimeFormat)}}, false, want{fresh: 30 * time.Second}},
		{"max-age over Expires", "9111 §5.3", 200, http.Header{"Cache-Control": {"max-age=5"}, "Expires": {now.Add(time.Hour).Format(http.TimeFormat)}}, false, want{fresh: 5 * time.Second}},
		{"invalid Expires is expired", "9111 §5.3", 200, http.Header{"Expires": {"0"}}, false, want{reason: ReasonNoFreshness}},
		{"no freshness: not stored (no heuristics)", "9111 §4.2.2 (safe default)", 200, http.Header{"Content-Type": {"text/plain"}}, false, want{reason: ReasonNoFreshness}},
		{"max-age=0", "9111 §4.2.1", 200, http.Header{"Cache-Control": {"max-age=0"}}, false, want{reason: ReasonNoFreshness}},
		{"no-store", "9111 §5.2.2.5", 200, http.Header{"Cache-Control": {"max-age=60, no-store"}}, false, want{reason: ReasonNoStore}},
		{"private", "9111 §5.2.2.7", 200, http.Header{"Cache-Control": {"private, max-age=60"}}, false, want{reason: ReasonPrivate}},
		{"private=field strips it", "9111 §5.2.2.7", 200, http.Header{"Cache-Control": {`private="X-User", max-age=60`}}, false, want{fresh: time.Minute, strip: []string{"X-User"}}},
		{"no-cache: stored, stale at once, never served stale", "9111 §5.2.2.4", 200, http.Header{"Cache-Control": {"no-cache, max-age=60, stale-if-error=60"}}, false, want{noStale: true}},
		{"no-cache 404 is not a negative answer", "9111 §5.2.2.4", 404, http.Header{"Cache-Control": {"no-cache"}}, false, want{noStale: true}},
		{"no-cache=Set-Cookie stores without the cookie", "9111 §5.2.2.4", 200, http.Header{"Cache-Control": {`no-cache="Set-Cookie", max-age=60`}, "Set-Cookie": {"a=b"}}, false, want{fresh: time.Minute, strip: []string{"Set-Cookie"}}},
		{"Authorization without permission", "9111 §3.5", 200, http.Header{"Cache-Control": {"max-age=60"}}, true, want{reason: ReasonAuthorization}},
		{"Authorization with public", "9111 §3.5", 200, http.Header{"Cache-Control": {"public, max-age=60"}}, true, want{fresh: time.Minute}},
		{"Authorization with s-maxage", "9111 §3.5", 200, http.Header{"Cache-Control": {"s-maxage=60"}}, true, want{fresh: time.Minute}},
		{"Authorization with must-revalidate", "9111 §3.5", 200, http.Header{"Cache-Control": {"max-age=60, must-revalidate"}}, true, want{fresh: time.Minute, noStale: true}},
		{"Set-Cookie", "safe default", 200, http.Header{"Cache-Control": {"max-age=60"}, "Set-Cookie": {"sid=1"}}, false, want{reason: ReasonSetCookie}},
		{"Vary: *", "9111 §4.1", 200, http.Header{"Cache-Control": {"max-age=60"}, "Vary": {"Accept, *"}}, false, want{reason: ReasonVaryStar}},
		{"206 not stored", "9111 §3 (no range support)", 206, http.Header{"Cache-Control": {"max-age=60"}}, false, want{reason: ReasonStatus}},
		{"304 not stored", "9111 §3", 304, http.Header{"Cache-Control": {"max-age=60"}}, false, want{reason: ReasonStatus}},
		{"5xx with explicit freshness", "9111 §3", 503, http.Header{"Cache-Control": {"max-age=60"}}, false, want{fresh: time.Minute}},
		{"5xx with Expires", "9111 §3", 500, http.Header{"Date": {date}, "Expires": {now.Add(30 * time.Second).Format(http.TimeFormat)}}, false, want{fresh: 30 * time.Second}},
		{"5xx without explicit freshness never stored", "negative rules", 501, http.Header{"Cache-Control": {"public"}}, false, want{reason: ReasonStatus}},
		{"obsolete rfc850 Expires", "9110 §5.6.7", 200, http.Header{"Date": {date}, "Expires": {strings.Replace(now.Add(30*time.Second).Format(time.RFC850), "UTC", "GMT", 1)}}, false, want{fresh: 30 * time.Second}},
		{"obsolete asctime Expires", "9110 §5.6.7", 200, http.Header{"Date": {date}, "Expires": {now.Add(30 * time.Second).Format(time.ANSIC)}}, false, want{fresh: 30 * time.Second}},
		{"Expires with two spaces is expired", "9110 §5.6.7", 200, http.Header{"Expires": {"Sun, 06  Nov 2094 08:49:37 GMT"}}, false, want{reason: ReasonNoFreshness}},
		{"Expires with a one-digit hour is expired", "9110 §5.6.7", 200, http.Header{"Expires": {"Sun, 06 Nov 2094 8:49:37 GMT"}}, false, want{reason: ReasonNoFreshness}},
		{"Expires in lower-case gmt is expired", "9110 §5.6.7", 200, http.Header{"Expires": {"Sun, 06 Nov 2094 08:49:37 gmt"}}, false, want{reason: ReasonNoFreshness}},
		{"Expires day and month in any case", "9110 §5.6.7", 200, http.Header{"Date": {date}, "Expires": {strings.ToLower(now.Add(30 * time.Second).Format(http.TimeFormat)[:12]) + now.Add(30 * time.Second).Format(http.TimeFormat)[12:]}}, false, want{fresh: 30 * time.Second}},
		{"list-valued Age: the first member", "9111 §5.1", 200, http.Header{"Cache-Control": {"max-age=60"}, "Age": {"20, 5"}}, false, want{fresh: time.Minute, initAge: 20 * time.Second}},
		{"overflowing Age clamps to 2^31", "9111 §1.2.2", 200, http.Header{"Cache-Control": {"max-age=60"}, "Age": {"99999999999999999999999"}}, false, want{reason: ReasonNoFreshness, fresh: time.Minute, initAge: (1 << 31) * time.Second}},
		{"1xx never stored", "9111 §3 (final status)", 103, http.Header{"Cache-Control": {"max-age=60"}}, false, want{reason: ReasonStatus}},
		{"404 negative default", "9111 §4.2.2, 9110 §15.1", 404, http.Header{}, false, want{fresh: 10 * time.Second, neg: true}},
		{"404 explicit wins", "9111 §4.2.1", 404, http.Header{"Cache-Control": {"max-age=3"}}, false, want{fresh: 3 * time.Second}},
		{"404 no-store wins", "9111 §5.2.2.5", 404, http.Header{"Cache-Control": {"no-store"}}, false, want{reason: ReasonNoStore}},
		{"403 without freshness", "9111 §4.2.2", 403, http.Header{}, false, want{reason: ReasonNoFreshness}},
		{"301 with explicit freshness", "9111 §3", 301, http.Header{"Cache-Control": {"max-age=60"}}, false, want{fresh: time.Minute}},
		{"Age header counts", "9111 §4.2.3", 200, http.Header{"Cache-Control": {"max-age=60"}, "Age": {"20"}}, false, want{fresh: time.Minute, initAge: 20 * time.Second}},
		{"apparent age from Date", "9111 §4.2.3", 200, http.Header{"Cache-Control": {"max-age=60"}, "Date": {now.Add(-5 * time.Second).Format(http.TimeFormat)}}, false, want{fresh: time.Minute, initAge: 5 * time.Second}},
		{"already stale on arrival", "9111 §4.2.3", 200, http.Header{"Cache-Control": {"max-age=10"}, "Age": {"20"}}, false, want{reason: ReasonNoFreshness, fresh: 10 * time.Second, initAge: 20 * time.Second}},
		{"SWR and SIE windows", "5861 §3, §4", 200, http.Header{"Cache-Control": {"s-maxage=1, stale-while-revalidate=30, stale-if-error=60"}}, false, want{fresh: time.Second, swr: 30 * time.Second, sie: time.Minute}},
		{"must-revalidate forbids stale", "9111 §5.2.2.2", 200, http.Header{"Cache-Control": {"max-age=1, must-revalidate, stale-while-revalidate=30"}}, false, want{fresh: time.Second, noStale: true}},
		{"proxy-revalidate forbids stale", "9111 §5.2.2.8", 200, http.Header{"Cache-Control": {"max-age=1, proxy-revalidate, stale-if-error=30"}}, false, want{fresh: time.Second, noStale: true}},
		{"stale-only entry kept for SWR", "5861 §3", 200, http.Header{"Cache-Control": {"max-age=0, stale-while-revalidate=30"}}, false, want{swr: 30 * time.Second}},
		{"must-understand with an understood status ignores no-store", "9111 §5.2.2.3", 200, http.Header{"Cache-Control": {"max-age=60, no-store, must-understand"}}, false, want{fresh: time.Minute}},
		{"must-understand 203", "9111 §5.2.2.3", 203, http.Header{"Cache-Control": {"max-age=60, no-store, must-understand"}}, false, want{fresh: time.Minute}},
		{"must-understand 404 under the negative rules", "9111 §5.2.2.3, §4.2.2", 404, http.Header{"Cache-Control": {"no-store, must-understand"}}, false, want{fresh: 10 * time.Second, neg: true}},
		{"must-understand with a status not understood", "9111 §5.2.2.3", 302, http.Header{"Cache-Control": {"max-age=60, must-understand"}}, false, want{reason: ReasonStatus}},
		{"must-understand 599", "9111 §5.2.2.3", 599, http.Header{"Cache-Control": {"max-age=60, no-store, must-understand"}}, false, want{reason: ReasonStatus}},
		{"must-understand keeps private", "9111 §5.2.2.3, §5.2.2.7", 200, http.Header{"Cache-Control": {"max-age=60, private, no-store, must-understand"}}, false, want{reason: ReasonPrivate}},
		{"overflowing max-age clamps", "9111 §1.2.2", 200, http.Header{"Cache-Control": {"max-age=99999999999999999999"}}, false, want{fresh: (1 << 31) * time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := decide(tt.status, tt.h, tt.auth, rules, true, 0, 0, now, heuristic{})
			w := tt.want
			if got.reason != w.reason || got.fresh != w.fresh || got.initAge != w.initAge || got.swr != w.swr ||
				got.sie != w.sie || got.noStale != w.noStale || got.negative != w.neg || len(got.strip) != len(w.strip) {
				t.Fatalf("RFC %s: got %+v, want %+v", tt.rfc, got, w)
			}
			for i := range w.strip {
				if got.strip[i] != w.strip[i] {
					t.Fatalf("RFC %s: strip got %q, want %q", tt.rfc, got.strip, w.strip)
				}
			}
		})
	}
}

// §4.2.3: the time the handler took (response_delay) ages the answer, in whole seconds; a
// handler's milliseconds do not.
func TestDecideResponseDelay(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	rules, _ := negative.Rules{}.Validate()
	h := http.Header{"Cache-Control": {"max-age=4"}}
	for _, tt := range []struct {
		delay, want time.Duration
	}{
		{2 * time.Second, 2 * time.Second},
		{2500 * time.Millisecond, 2 * time.Second},
		{30 * time.Millisecond, 0},
	} {
		if got := decide(200, h, false, rules, true, 0, tt.delay, now, heuristic{}); got.initAge != tt.want || got.reason != ReasonNone {
			t.Errorf("delay %v: initAge %v (%q), want %v", tt.delay, got.initAge, got.reason, tt.want)
		}
	}
	h = http.Header{"Cache-Control": {"max-age=4"}, "Age": {"1"}}
	if got := decide(200, h, false, rules, true, 0, 2*time.Second, now, heuristic{}); got.initAge != 3*time.Second {
		t.Errorf("Age 1 + delay 2s: initAge %v, want 3s", got.initAge)
	}
}

// §4.2.2: heuristic freshness, when the cache is configured for it, is a fraction of the time
// since Last-Modified, capped, for heuristically cacheable statuses without explicit freshness.
func TestDecideHeuristic(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	rules, _ := negative.Rules{}.Validate()
	on := heuristic{fraction: 0.1, max: 24 * time.Hour}
	lm := func(ago time.Duration) string { return now.Add(-ago).Format(http.TimeFormat) }
	date := now.Format(http.TimeFormat)
	for _, tt := range []struct {
		name   string
		heur   heuristic
		status int
		h      http.Header
		reason Reason
		fresh  time.Duration
		neg    bool
	}{
		{"off by default", heuristic{}, 200, http.Header{"Last-Modified": {lm(10 * time.Hour)}}, ReasonNoFreshness, 0, false},
		{"a tenth of the time since Last-Modified", on, 200, http.Header{"Date": {date}, "Last-Modified": {lm(10 * time.Hour)}}, ReasonNone, time.Hour, false},
		{"from now without Date", on, 203, http.Header{"Last-Modified": {lm(100 * time.Second)}}, ReasonNone, 10 * time.Second, false},
		{"capped", on, 200, http.Header{"Last-Modified": {lm(100 * 24 * time.Hour)}}, ReasonNone, 24 * time.Hour, false},
		{"no Last-Modified", on, 200, http.Header{"Content-Type": {"text/plain"}}, ReasonNoFreshness, 0, false},
		{"Last-Modified in the future", on, 200, http.Header{"Last-Modified": {lm(-time.Hour)}}, ReasonNoFreshness, 0, false},
		{"explicit freshness wins", on, 200, http.Header{"Cache-Control": {"max-age=5"}, "Last-Modified": {lm(10 * time.Hour)}}, ReasonNone, 5 * time.Second, false},
		{"Expires wins", on, 200, http.Header{"Date": {date}, "Expires": {now.Add(7 * time.Second).Format(http.TimeFormat)}, "Last-Modified": {lm(10 * time.Hour)}}, ReasonNone, 7 * time.Second, false},
		{"not a heuristically cacheable status", on, 302, http.Header{"Last-Modified": {lm(10 * time.Hour)}}, ReasonNoFreshness, 0, false},
		{"404 heuristic", on, 404, http.Header{"Last-Modified": {lm(10 * time.Hour)}}, ReasonNone, time.Hour, false},
		{"no-store still wins", on, 200, http.Header{"Cache-Control": {"no-store"}, "Last-Modified": {lm(10 * time.Hour)}}, ReasonNoStore, 0, false},
		{"private still wins", on, 200, http.Header{"Cache-Control": {"private"}, "Last-Modified": {lm(10 * time.Hour)}}, ReasonPrivate, 0, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			negOK := tt.status != 404 // the negative rule, where it applies, wins: see below
			got := decide(tt.status, tt.h, false, rules, negOK, 0, 0, now, tt.heur)
			if got.reason != tt.reason || (tt.reason == ReasonNone && got.fresh != tt.fresh) || got.negative != tt.neg {
				t.Fatalf("got %+v, want reason %q fresh %v negative %v", got, tt.reason, tt.fresh, tt.neg)
			}
		})
	}
	h := http.Header{"Last-Modified": {lm(10 * time.Hour)}}
	if got := decide(404, h, false, rules, true, 0, 0, now, on); got.fresh != 10*time.Second || !got.negative {
		t.Fatalf("a 404 under a negative rule: got %+v, want the rule's 10s", got)
	}
}

func TestHeuristicConfig(t *testing.T) {
	if cfg, err := (Config{}).withDefaults(); err != nil || cfg.HeuristicFreshness != 0 || cfg.HeuristicMax != 0 {
		t.Fatalf("default: %v, %v %v; want off", err, cfg.HeuristicFreshness, cfg.HeuristicMax)
	}
	if cfg, err := (Config{HeuristicFreshness: 0.1}).withDefaults(); err != nil || cfg.HeuristicMax != 24*time.Hour {
		t.Fatalf("fraction set: %v, max %v; want 24h", err, cfg.HeuristicMax)
	}
	for _, bad := range []Config{{HeuristicFreshness: -0.1}, {HeuristicFreshness: 1.5}, {HeuristicFreshness: 0.1, HeuristicMax: -time.Second}} {
		if _, err := bad.withDefaults(); err == nil {
			t.Fatalf("%+v: no error", bad)
		}
	}
}
