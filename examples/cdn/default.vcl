vcl 4.1;

# Varnish (7.1 or later, with vmod_xkey from varnish-modules) as the CDN, L3, in front of the
# Strata demo: `go run ./examples/chi -forward-surrogate-key -cdn-purge http://127.0.0.1:6081`.
# See README.md next to this file. What it does:
#
#   - freshness: Varnish's own s-maxage > max-age > Expires rules (RFC 9111), except that a
#     CDN-Cache-Control field wins over Cache-Control when present (RFC 9213); an answer with no
#     explicit freshness is not stored (no heuristic TTL, as in Strata);
#   - never stored: private, no-cache, no-store, Set-Cookie, Vary: * answers, and requests with
#     Authorization or Cookie are passed (Varnish's builtin rules, kept below);
#   - tags: the Surrogate-Key field Strata forwards (-forward-surrogate-key) becomes vmod_xkey's
#     xkey, and neither reaches the client;
#   - purges, as core.HTTPPurger sends them (README, "Invalidation and purging"), from loopback
#     only: `PURGE /path` with the URL's Host purges that URL (every Vary variant);
#     `PURGE /` with `xkey-purge: t1 t2` purges every object tagged t1 or t2; `PURGE /` with
#     `X-Purge-All: 1` bans everything;
#   - Cache-Status (RFC 9211): Varnish appends its own member to Strata's, so one response
#     shows both layers: `Cache-Status: strata; fwd=uri-miss; stored, varnish; hit; ttl=57`.

import std;
import xkey;

# The demo (examples/chi). The end-to-end test (e2e/) writes a copy with its own port here.
backend default {
    .host = "127.0.0.1";
    .port = "8080";
}

# Who may purge. Strata's HTTPPurger runs in the demo, on this machine.
acl purgers {
    "127.0.0.1";
    "::1";
}

sub vcl_recv {
    if (req.method == "PURGE") {
        if (client.ip !~ purgers) {
            return (synth(403, "Forbidden"));
        }
        if (req.http.X-Purge-All == "1") {
            # core.HTTPPurger.PurgeAll: everything stored so far becomes unreachable.
            ban("req.url ~ .");
            return (synth(200, "Banned everything"));
        }
        if (req.http.xkey-purge || req.http.xkey) {
            # core.HTTPPurger.PurgeTags with TagHeader "xkey-purge" (space-separated tags);
            # vmod_xkey's own "xkey" field is accepted too.
            set req.http.n-gone = xkey.purge(req.http.xkey-purge + " " + req.http.xkey);
            return (synth(200, "Invalidated " + req.http.n-gone + " objects"));
        }
        # core.HTTPPurger.PurgeURLs: PURGE /path?query, every variant of that URL.
        return (purge);
    }
    # Everything else is Varnish's builtin vcl_recv: GET and HEAD are looked up; other methods
    # are passed; requests with Authorization or Cookie are passed, never looked up or stored.
}

sub vcl_hash {
    # The demo is one site whatever address it is reached on (its Config.Host is "demo"), so
    # objects are keyed by URL alone, and a URL purge finds them whichever Host it names. A
    # Varnish in front of several sites keeps the builtin hash (URL and Host) instead.
    hash_data(req.url);
    return (lookup);
}

sub vcl_hit {
    set req.http.x-cdn-status = "hit";
}

sub vcl_miss {
    set req.http.x-cdn-status = "fwd=uri-miss";
}

sub vcl_pass {
    set req.http.x-cdn-status = "fwd=bypass";
}

sub vcl_backend_fetch {
    # The status marker is Varnish's own; the origin never sees it.
    unset bereq.http.x-cdn-status;
}

sub vcl_backend_response {
    # Surrogate keys: Strata's Surrogate-Key (space-separated) is what vmod_xkey indexes.
    if (beresp.http.Surrogate-Key && !beresp.http.xkey) {
        set beresp.http.xkey = beresp.http.Surrogate-Key;
    }
    if (bereq.uncacheable) {
        return (deliver);
    }
    if (beresp.http.CDN-Cache-Control) {
        call cdn_cache_control;
    }
    # No explicit freshness (no s-maxage, max-age or Expires): not stored. Varnish would
    # otherwise keep it for default_ttl (120 s), a heuristic RFC 9111 §4.2.2 leaves to caches
    # and Strata never applies.
    if (!beresp.http.Expires && beresp.http.Cache-Control !~ "(?i)(^|[\s,])(s-maxage|max-age)\s*=") {
        call vcl_beresp_hitmiss;
    }
    # Varnish's builtin rules: no-store / private / no-cache, Set-Cookie, Vary: * and a TTL
    # of zero are not stored (hit-for-miss).
}

# RFC 9213: CDN-Cache-Control is meant for CDNs and, when present, they follow it instead of
# Cache-Control (which then only steers the browser). Its freshness (s-maxage, else max-age)
# becomes the object's TTL, its stale-while-revalidate the grace; private, no-cache and
# no-store keep the answer out. Statuses Varnish never caches by itself are left alone.
sub cdn_cache_control {
    if (beresp.status != 200 && beresp.status != 203 && beresp.status != 204 &&
        beresp.status != 300 && beresp.status != 301 && beresp.status != 302 &&
        beresp.status != 304 && beresp.status != 307 && beresp.status != 308 &&
        beresp.status != 404 && beresp.status != 410 && beresp.status != 414) {
        return;
    }
    if (beresp.http.CDN-Cache-Control ~ "(?i)(^|[\s,])(private|no-cache|no-store)([\s,=]|$)") {
        call vcl_beresp_hitmiss;
    }
    if (beresp.http.CDN-Cache-Control ~ "(?i)(^|[\s,])s-maxage\s*=\s*\d+") {
        set beresp.ttl = std.duration(regsub(beresp.http.CDN-Cache-Control,
            "(?i)^(.*[\s,])?s-maxage\s*=\s*(\d+).*$", "\2") + "s", 0s);
    } elsif (beresp.http.CDN-Cache-Control ~ "(?i)(^|[\s,])max-age\s*=\s*\d+") {
        set beresp.ttl = std.duration(regsub(beresp.http.CDN-Cache-Control,
            "(?i)^(.*[\s,])?max-age\s*=\s*(\d+).*$", "\2") + "s", 0s);
    } else {
        return;
    }
    if (beresp.http.CDN-Cache-Control ~ "(?i)(^|[\s,])stale-while-revalidate\s*=\s*\d+") {
        set beresp.grace = std.duration(regsub(beresp.http.CDN-Cache-Control,
            "(?i)^(.*[\s,])?stale-while-revalidate\s*=\s*(\d+).*$", "\2") + "s", 0s);
    }
    if (beresp.ttl <= 0s || beresp.http.Set-Cookie || beresp.http.Vary == "*") {
        call vcl_beresp_hitmiss;
    }
    # Stored for the CDN-Cache-Control lifetime: the builtin rules, which read Cache-Control
    # (a "private, max-age=10" for browsers, say), are not run.
    return (deliver);
}

sub vcl_deliver {
    # Tags are for this CDN only, as Fastly strips Surrogate-Key.
    unset resp.http.xkey;
    unset resp.http.Surrogate-Key;
    # RFC 9211: caches append their member, the origin's cache first, the client's last.
    if (req.http.x-cdn-status == "hit") {
        set req.http.x-cdn-status = "hit; ttl=" + std.integer(duration=obj.ttl, fallback=0);
    } elsif (req.http.x-cdn-status == "fwd=uri-miss" && !obj.uncacheable) {
        set req.http.x-cdn-status = "fwd=uri-miss; stored; ttl=" + std.integer(duration=obj.ttl, fallback=0);
    }
    if (resp.http.Cache-Status) {
        set resp.http.Cache-Status = resp.http.Cache-Status + ", varnish; " + req.http.x-cdn-status;
    } else {
        set resp.http.Cache-Status = "varnish; " + req.http.x-cdn-status;
    }
    unset req.http.x-cdn-status;
}
