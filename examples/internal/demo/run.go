package demo

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// Main is every example's main: it parses the flags, builds the cache and the demo, warms the
// cache when asked, prints the banner and serves until SIGINT or SIGTERM.
func Main(framework string, router func(*Setup, *App) http.Handler) {
	flags := ParseFlags()
	setup, err := NewSetup(flags)
	if err != nil {
		log.Fatal(err)
	}
	defer func() { _ = setup.Close() }()
	app, err := NewApp(setup.Cache, flags)
	if err != nil {
		log.Fatal(err)
	}
	defer func() { _ = app.Close() }()
	handler := router(setup, app)
	if err := setup.Warm(flags, handler); err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{Addr: flags.Addr, Handler: handler, ReadHeaderTimeout: 5 * time.Second}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	fmt.Print(Banner(framework, flags, app.AdminToken))
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
}
