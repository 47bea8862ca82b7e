package main

import (
	"io"
	"net"
	"sync"
	"time"
)

// forwardAPI makes the API server reachable from pods at the bridge address by relaying TCP
// connections to its loopback listener. TLS passes through untouched, so client certificates and
// tokens work as on a direct connection. We relay instead of binding kube-apiserver to 0.0.0.0 so
// that it never listens on the machine's outside interfaces.
func forwardAPI(listen, target string) (io.Closer, error) {
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return nil, err
	}
	f := &forwarder{ln: ln, conns: map[net.Conn]bool{}}
	go f.serve(target)
	return f, nil
}

type forwarder struct {
	ln    net.Listener
	mu    sync.Mutex
	conns map[net.Conn]bool
	done  bool
}

func (f *forwarder) serve(target string) {
	for {
		c, err := f.ln.Accept()
		if err != nil {
			return
		}
		go f.relay(c, target)
	}
}

func (f *forwarder) track(c net.Conn, add bool) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if add {
		if f.done {
			return false
		}
		f.conns[c] = true
	} else {
		delete(f.conns, c)
	}
	return true
}

func (f *forwarder) relay(in net.Conn, target string) {
	defer in.Close()
	out, err := net.DialTimeout("tcp", target, 5*time.Second)
	if err != nil {
		return
	}
	defer out.Close()
	if !f.track(in, true) || !f.track(out, true) {
		return
	}
	defer f.track(in, false)
	defer f.track(out, false)
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src)
		// Half-close so the other direction can finish its last bytes.
		if tc, ok := dst.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
		}
		done <- struct{}{}
	}
	go pipe(out, in)
	go pipe(in, out)
	<-done
	<-done
}

func (f *forwarder) Close() error {
	err := f.ln.Close()
	f.mu.Lock()
	f.done = true
	for c := range f.conns {
		_ = c.Close()
	}
	f.mu.Unlock()
	return err
}
