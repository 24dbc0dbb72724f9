package main

import (
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
)

// startDebugServer serves pprof profiles for measuring the hot paths. It
// runs until the process exits.
func startDebugServer(addr string, logger *slog.Logger) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	logger.Info("serving pprof", "addr", ln.Addr().String())
	go http.Serve(ln, mux)
	return nil
}
