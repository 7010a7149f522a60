/*
Package server is the embedded plugin server: a Go plugin is its own
executable that serves Kong's MsgPack:1 protocol on a unix socket.

	func main() {
		server.StartServer(New, Version, Priority)
	}

Flags, as go-pdk's: -kong-prefix DIR (the socket is DIR/<name>.socket,
<name> being the executable's name, default /usr/local/kong), -dump (print
the plugin's info as the gateway's query command expects, then exit) and
-help.
*/
package server

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"syscall"
	"time"
)

// Protocol is what the server speaks, as named in -dump output.
const Protocol = "MsgPack:1"

// StartServer runs the plugin server for the plugin whose config struct
// constructor returns (a pointer to a fresh config). It returns after -dump
// or -help, or when the server stops (SIGTERM, SIGINT, or its parent — the
// gateway — exiting); errors are also logged.
func StartServer(constructor func() interface{}, version string, priority int) error {
	exe, err := os.Executable()
	if err != nil {
		log.Printf("cannot find the executable's name: %v", err)
		return err
	}
	err = run(filepath.Base(exe), os.Args[1:], os.Stdout, constructor, version, priority)
	if err != nil && err != flag.ErrHelp {
		log.Print(err)
	}
	return err
}

// run is StartServer for a plugin called name, with explicit arguments and
// output.
func run(name string, args []string, stdout io.Writer, constructor func() interface{}, version string, priority int) error {
	flags := flag.NewFlagSet(name, flag.ContinueOnError)
	prefix := flags.String("kong-prefix", "/usr/local/kong", "the gateway's prefix directory; the socket is `DIR`/"+name+".socket")
	dump := flags.Bool("dump", false, "print the plugin's info (JSON, for the gateway's query command) and exit")
	if err := flags.Parse(args); err != nil {
		return err
	}
	if flags.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", flags.Args())
	}
	p, err := newPlugin(name, constructor, version, priority)
	if err != nil {
		return err
	}
	socketPath := filepath.Join(*prefix, name+".socket")
	if *dump {
		return dumpInfo(stdout, p, socketPath)
	}
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(serverProcs(runtime.NumCPU()))
	}
	return listenAndServe(newServer(p), socketPath)
}

// serverProcs is the server's GOMAXPROCS unless the environment sets one:
// half the CPUs. The server shares them with the gateway's workers, which do
// the rest of every request's work, and each event's few PDK calls are
// round trips, not computation: with a thread per CPU, Go hands goroutines
// between threads and wakes them more than it gains (measured on 2 CPUs:
// GOMAXPROCS=1 halves the server's context switches and saves 15% of its
// CPU per request).
func serverProcs(cpus int) int {
	if cpus < 2 {
		return 1
	}
	return cpus / 2
}

// extensions are Sluice's extensions of MsgPack:1 this server handles,
// announced in -dump output so that a Sluice gateway uses them (Kong's
// ignores the field): "Deferred" calls and "RequestHeaders" with
// plugin.HandleEvent.
var extensions = []string{"Deferred", "RequestHeaders"}

// dumpInfo prints the query command's JSON in the object form Kong reads,
// {Protocol, SocketPath, Plugins}, naming MsgPack:1 explicitly, plus
// Extensions.
func dumpInfo(w io.Writer, p *plugin, socketPath string) error {
	out, err := json.Marshal(struct {
		Protocol   string
		SocketPath string
		Plugins    []pluginInfo
		Extensions []string
	}{Protocol, socketPath, []pluginInfo{p.info()}, extensions})
	if err != nil {
		return fmt.Errorf("encoding the plugin info: %w", err)
	}
	_, err = fmt.Fprintf(w, "%s\n", out)
	return err
}

// listenAndServe serves on socketPath, replacing a stale socket file, until
// a signal or the parent's exit; it removes the socket when done.
func listenAndServe(s *server, socketPath string) error {
	// Watch the parent and the signals before the socket exists, so that
	// neither can slip by unnoticed.
	parent := os.Getppid()
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(signals)

	if err := os.Remove(socketPath); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("removing %s: %w", socketPath, err)
	}
	l, err := net.Listen("unix", socketPath)
	if err != nil {
		return err
	}
	defer os.Remove(socketPath)
	log.Printf("Listening on socket: %s", socketPath)

	stop := make(chan struct{})
	defer close(stop)
	go s.reapEvents(stop)
	go func() {
		reason := waitForShutdown(stop, signals, parent)
		if reason != "" {
			log.Printf("%s, terminating", reason)
		}
		l.Close()
	}()
	return s.serve(l)
}

// waitForShutdown returns why the server should stop: a signal, or the
// parent process exiting (a plugin server must not outlive its gateway;
// Kong's servers watch their parent the same way). It returns "" when stop
// is closed.
func waitForShutdown(stop <-chan struct{}, signals <-chan os.Signal, parent int) string {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case sig := <-signals:
			return "got " + sig.String()
		case <-tick.C:
			if os.Getppid() != parent {
				return "parent process exited"
			}
		case <-stop:
			return ""
		}
	}
}
