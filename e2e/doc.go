// Package e2e holds Strata's end-to-end tests of the two layers it steers but never sees: a
// real CDN (Varnish with examples/cdn/default.vcl, L3) and a real browser (headless Chromium
// driven over the DevTools protocol by chromedp, L4), both in front of the demo API
// (examples/chi), built and started by the tests on loopback.
//
// The tests skip with a message when varnishd, vmod_xkey or Chromium is missing, unless
// STRATA_REQUIRE_E2E=1 (set by .ci/run), where they fail instead. ./scripts/test installs
// them with apt where they are missing. The module is its own so that chromedp is a
// dependency of these tests only.
package e2e
