package main

import (
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/kubernetes/pkg/probe"
	grpcprobe "k8s.io/kubernetes/pkg/probe/grpc"
	httpprobe "k8s.io/kubernetes/pkg/probe/http"
	tcpprobe "k8s.io/kubernetes/pkg/probe/tcp"
)

var (
	httpProber = httpprobe.New(false)
	tcpProber  = tcpprobe.New()
	grpcProber = grpcprobe.New()
)

// probe runs the container's probes for one run of its process (ctx ends when it exits):
// startup first, then liveness and readiness. Without a readiness probe the container is ready
// once its first declared port accepts connections (at once if it declares none), so that an
// endpoint never points at a process that is still starting.
func (w *podWorker) probe(ctx context.Context, c *ctr, spec v1.Container) {
	if p := spec.StartupProbe; p != nil {
		if !w.probeUntil(ctx, c, &spec, p, "Startup") {
			return
		}
	}
	w.mu.Lock()
	c.started = true
	w.mu.Unlock()
	w.dirty()
	if p := spec.LivenessProbe; p != nil {
		go w.liveness(ctx, c, &spec, p)
	}
	if p := spec.ReadinessProbe; p != nil {
		w.readiness(ctx, c, &spec, p)
		return
	}
	if len(spec.Ports) > 0 {
		port := int(spec.Ports[0].ContainerPort)
		for {
			if ok, _ := w.tcpCheck(port, time.Second); ok {
				break
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(250 * time.Millisecond):
			}
		}
	}
	w.setReady(ctx, c, true)
}

func (w *podWorker) setReady(ctx context.Context, c *ctr, ready bool) {
	w.mu.Lock()
	changed := c.ready != ready && ctx.Err() == nil
	if changed {
		c.ready = ready
	}
	w.mu.Unlock()
	if changed {
		w.dirty()
	}
}

type probeTiming struct {
	delay, period, timeout time.Duration
	success, failure       int
}

func timing(p *v1.Probe) probeTiming {
	t := probeTiming{
		delay:   time.Duration(p.InitialDelaySeconds) * time.Second,
		period:  time.Duration(p.PeriodSeconds) * time.Second,
		timeout: time.Duration(p.TimeoutSeconds) * time.Second,
		success: int(p.SuccessThreshold), failure: int(p.FailureThreshold),
	}
	if t.period <= 0 {
		t.period = 10 * time.Second
	}
	if t.timeout <= 0 {
		t.timeout = time.Second
	}
	if t.success <= 0 {
		t.success = 1
	}
	if t.failure <= 0 {
		t.failure = 3
	}
	return t
}

func wait(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// probeUntil runs a startup probe until it succeeds; failureThreshold failures kill the container.
func (w *podWorker) probeUntil(ctx context.Context, c *ctr, spec *v1.Container, p *v1.Probe, kind string) bool {
	t := timing(p)
	if !wait(ctx, t.delay) {
		return false
	}
	fails := 0
	for {
		ok, msg := w.runProbe(ctx, c, spec, p, t.timeout)
		if ctx.Err() != nil {
			return false
		}
		if ok {
			return true
		}
		fails++
		w.a.recorder.Eventf(w.current(), v1.EventTypeWarning, "Unhealthy", "%s probe failed: %s", kind, msg)
		if fails >= t.failure {
			w.a.recorder.Eventf(w.current(), v1.EventTypeNormal, "Killing", "Container %s failed %s probe, will be restarted", spec.Name, strings.ToLower(kind))
			w.killForProbe(c, p)
			return false
		}
		if !wait(ctx, t.period) {
			return false
		}
	}
}

func (w *podWorker) liveness(ctx context.Context, c *ctr, spec *v1.Container, p *v1.Probe) {
	t := timing(p)
	if !wait(ctx, t.delay) {
		return
	}
	fails := 0
	for {
		ok, msg := w.runProbe(ctx, c, spec, p, t.timeout)
		if ctx.Err() != nil {
			return
		}
		if ok {
			fails = 0
		} else {
			fails++
			w.a.recorder.Eventf(w.current(), v1.EventTypeWarning, "Unhealthy", "Liveness probe failed: %s", msg)
			if fails >= t.failure {
				w.a.recorder.Eventf(w.current(), v1.EventTypeNormal, "Killing", "Container %s failed liveness probe, will be restarted", spec.Name)
				w.killForProbe(c, p)
				return
			}
		}
		if !wait(ctx, t.period) {
			return
		}
	}
}

func (w *podWorker) readiness(ctx context.Context, c *ctr, spec *v1.Container, p *v1.Probe) {
	t := timing(p)
	if !wait(ctx, t.delay) {
		return
	}
	succ, fails := 0, 0
	for {
		ok, msg := w.runProbe(ctx, c, spec, p, t.timeout)
		if ctx.Err() != nil {
			return
		}
		if ok {
			succ, fails = succ+1, 0
			if succ >= t.success {
				w.setReady(ctx, c, true)
			}
		} else {
			succ, fails = 0, fails+1
			w.a.recorder.Eventf(w.current(), v1.EventTypeWarning, "Unhealthy", "Readiness probe failed: %s", msg)
			if fails >= t.failure {
				w.setReady(ctx, c, false)
			}
		}
		if !wait(ctx, t.period) {
			return
		}
	}
}

// killForProbe stops the container's process; runContainer then restarts it per restartPolicy.
func (w *podWorker) killForProbe(c *ctr, p *v1.Probe) {
	grace := w.graceFor(p.TerminationGracePeriodSeconds)
	if p.TerminationGracePeriodSeconds == nil {
		grace = w.graceFor(w.current().Spec.TerminationGracePeriodSeconds)
	}
	go w.stopContainers([]*ctr{c}, grace)
}

// probeHost is where probes go: the pod address (or an explicit host, if it is one of ours).
func (w *podWorker) probeHost(explicit string) (string, error) {
	w.mu.Lock()
	ip := w.ip
	w.mu.Unlock()
	host := explicit
	if host == "" {
		if ip == nil {
			return "", fmt.Errorf("pod has no address yet")
		}
		host = ip.String()
	}
	if host == bridgeIP {
		return host, nil // the node's own address (hostNetwork pods)
	}
	if err := routesViaBridge(host); err != nil {
		return "", err
	}
	return host, nil
}

func (w *podWorker) tcpCheck(port int, timeout time.Duration) (bool, string) {
	host, err := w.probeHost("")
	if err != nil {
		return false, err.Error()
	}
	res, out, err := tcpProber.Probe(host, port, timeout)
	if err != nil {
		return false, err.Error()
	}
	return res == probe.Success, out
}

// runProbe performs one probe and reports success and, on failure, why.
func (w *podWorker) runProbe(ctx context.Context, c *ctr, spec *v1.Container, p *v1.Probe, timeout time.Duration) (bool, string) {
	h := p.ProbeHandler
	switch {
	case h.HTTPGet != nil:
		host, err := w.probeHost(h.HTTPGet.Host)
		if err != nil {
			return false, err.Error()
		}
		get := *h.HTTPGet
		get.Host = host
		req, err := httpprobe.NewRequestForHTTPGetAction(&get, spec, host, "probe")
		if err != nil {
			return false, err.Error()
		}
		res, out, err := httpProber.Probe(req, timeout)
		return probeOutcome(res, out, err)
	case h.TCPSocket != nil:
		host, err := w.probeHost(h.TCPSocket.Host)
		if err != nil {
			return false, err.Error()
		}
		port, err := probe.ResolveContainerPort(h.TCPSocket.Port, spec)
		if err != nil {
			return false, err.Error()
		}
		res, out, err := tcpProber.Probe(host, port, timeout)
		return probeOutcome(res, out, err)
	case h.GRPC != nil:
		host, err := w.probeHost("")
		if err != nil {
			return false, err.Error()
		}
		service := ""
		if h.GRPC.Service != nil {
			service = *h.GRPC.Service
		}
		res, out, err := grpcProber.Probe(host, service, int(h.GRPC.Port), timeout)
		return probeOutcome(res, out, err)
	case h.Exec != nil:
		return w.execProbe(ctx, c, h.Exec.Command, timeout)
	}
	return false, "probe has no handler"
}

func probeOutcome(res probe.Result, out string, err error) (bool, string) {
	if err != nil {
		return false, err.Error()
	}
	return res == probe.Success || res == probe.Warning, out
}

// execProbe runs the command inside the container's network and mount namespaces, with its env.
func (w *podWorker) execProbe(ctx context.Context, c *ctr, command []string, timeout time.Duration) (bool, string) {
	w.mu.Lock()
	var pid int
	if c.cmd != nil && c.cmd.Process != nil {
		pid = c.cmd.Process.Pid
	}
	env := c.env
	w.mu.Unlock()
	if pid == 0 || len(command) == 0 {
		return false, "container is not running"
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	args := append([]string{"-t", strconv.Itoa(pid), "-n", "-m", "--"}, command...)
	cmd := exec.CommandContext(cctx, "nsenter", args...)
	cmd.Env = env
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := cmd.CombinedOutput()
	if cctx.Err() == context.DeadlineExceeded {
		return false, fmt.Sprintf("command timed out after %s", timeout)
	}
	if err != nil {
		return false, fmt.Sprintf("%v: %s", err, strings.TrimSpace(string(out)))
	}
	return true, string(out)
}
