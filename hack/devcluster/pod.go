package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

const (
	volumeResync     = time.Minute      // Secret/ConfigMap volumes also follow watch events at once
	shutdownGrace    = 5 * time.Second  // when the agent itself stops
	forceDeleteGrace = 2 * time.Second  // when the Pod object vanished without a graceful delete
	backoffMax       = 60 * time.Second // restart back-off cap (a kubelet uses 5 min; tests want less)
)

// ctr is one container of a pod: its spec, its current process and what the status reports.
type ctr struct {
	spec      v1.Container
	init      bool
	state     v1.ContainerState
	last      v1.ContainerState
	restarts  int32
	ready     bool
	started   bool
	ran       bool // started at least once (the next start counts as a restart)
	respec    bool // the pod's image for this container changed: restart it
	cmd       *exec.Cmd
	exited    chan struct{}
	runCancel context.CancelFunc
	env       []string
}

// podWorker runs one pod from binding to deletion.
type podWorker struct {
	a               *agent
	uid             types.UID
	namespace, name string
	dir             string
	netns, veth     string
	hostNetwork     bool

	mu           sync.Mutex
	pod          *v1.Pod
	ip           net.IP
	sandboxReady bool
	initDone     bool
	initFailed   bool
	inits, ctrs  []*ctr
	gone         bool // the object was deleted
	terminating  bool // containers are being stopped for good
	finalPhase   bool // stopped because of deletion: report a terminal phase
	problem      string
	startTime    *metav1.Time
	tokens       map[string]cachedToken

	wakeMu     sync.Mutex
	wakeCh     chan struct{} // closed (and replaced) on every wake-up: a broadcast
	dirtyCh    chan struct{}
	statusStop chan struct{}
	statusDone chan struct{}
	done       chan struct{}
}

func newPodWorker(a *agent, pod *v1.Pod) *podWorker {
	netns, veth := sandboxNames(string(pod.UID))
	w := &podWorker{
		a: a, uid: pod.UID, namespace: pod.Namespace, name: pod.Name,
		dir:   filepath.Join(a.opts.dir, "pods", fmt.Sprintf("%s_%s_%s", pod.Namespace, pod.Name, pod.UID)),
		netns: netns, veth: veth, hostNetwork: pod.Spec.HostNetwork,
		pod: pod, tokens: map[string]cachedToken{},
		wakeCh: make(chan struct{}), dirtyCh: make(chan struct{}, 1),
		statusStop: make(chan struct{}), statusDone: make(chan struct{}), done: make(chan struct{}),
	}
	for _, c := range pod.Spec.InitContainers {
		w.inits = append(w.inits, &ctr{spec: c, init: true, state: waiting("PodInitializing", "")})
	}
	reason := "ContainerCreating"
	if len(w.inits) > 0 {
		reason = "PodInitializing"
	}
	for _, c := range pod.Spec.Containers {
		w.ctrs = append(w.ctrs, &ctr{spec: c, state: waiting(reason, "")})
	}
	return w
}

func waiting(reason, msg string) v1.ContainerState {
	return v1.ContainerState{Waiting: &v1.ContainerStateWaiting{Reason: reason, Message: msg}}
}

func (w *podWorker) wake() {
	w.wakeMu.Lock()
	close(w.wakeCh)
	w.wakeCh = make(chan struct{})
	w.wakeMu.Unlock()
}

func (w *podWorker) woken() <-chan struct{} {
	w.wakeMu.Lock()
	defer w.wakeMu.Unlock()
	return w.wakeCh
}

func (w *podWorker) dirty() {
	select {
	case w.dirtyCh <- struct{}{}:
	default:
	}
}

// update takes a newer version of the object from the informer.
func (w *podWorker) update(pod *v1.Pod) {
	w.mu.Lock()
	w.pod = pod
	for _, c := range pod.Spec.Containers {
		for _, have := range w.ctrs {
			if have.spec.Name == c.Name && have.spec.Image != c.Image {
				have.spec.Image = c.Image
				have.respec = true
			}
		}
	}
	w.mu.Unlock()
	w.wake()
}

func (w *podWorker) objectGone() {
	w.mu.Lock()
	w.gone = true
	w.mu.Unlock()
	w.wake()
}

func (w *podWorker) current() *v1.Pod {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.pod
}

// stopping reports why the pod must stop: "" (keep running), "agent", "gone" or "deleted".
func (w *podWorker) stopping() string {
	if w.a.ctx.Err() != nil {
		return "agent"
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case w.gone:
		return "gone"
	case w.pod.DeletionTimestamp != nil:
		return "deleted"
	}
	return ""
}

// sleep waits d and reports whether the pod may go on; it returns false as soon as the pod must
// stop. With early set, any wake-up (the pod or a Secret/ConfigMap changed) ends the wait too.
func (w *podWorker) sleep(d time.Duration, early bool) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		if w.stopping() != "" {
			return false
		}
		select {
		case <-t.C:
			return w.stopping() == ""
		case <-w.woken():
			if early {
				return w.stopping() == ""
			}
		case <-w.a.ctx.Done():
			return false
		}
	}
}

func (w *podWorker) run() {
	defer close(w.done)
	go w.statusLoop()
	deleted := w.lifecycle()
	w.mu.Lock()
	gone := w.gone
	w.mu.Unlock()
	w.a.workerDone(w.uid, deleted && !gone)
}

// lifecycle returns true when it deleted the Pod object itself.
func (w *podWorker) lifecycle() bool {
	// Whole seconds: what the API stores, so the next comparison sees no change.
	now := metav1.NewTime(time.Now().Truncate(time.Second))
	w.mu.Lock()
	if w.pod.Status.StartTime != nil {
		now = *w.pod.Status.StartTime
	}
	w.startTime = &now
	w.mu.Unlock()
	w.dirty()

	if w.prepare() && w.runInits() {
		for _, c := range w.ctrs {
			go w.runContainer(c)
		}
		resync := time.NewTicker(volumeResync)
		defer resync.Stop()
		for w.stopping() == "" {
			select {
			case <-w.woken():
				w.syncVolumesReport()
				w.restartRespecced()
			case <-resync.C:
				w.syncVolumesReport()
			case <-w.a.ctx.Done():
			}
		}
	}
	return w.finish()
}

// prepare sets up the network sandbox and the volumes, retrying until both work or the pod must
// stop.
func (w *podWorker) prepare() bool {
	backoff := time.Second
	for {
		if w.stopping() != "" {
			return false
		}
		err := w.setupNetwork()
		if err == nil {
			break
		}
		w.setProblem(fmt.Sprintf("pod sandbox: %v", err))
		w.a.recorder.Eventf(w.current(), v1.EventTypeWarning, "FailedCreatePodSandBox", "%v", err)
		if !w.sleep(backoff, false) {
			return false
		}
		backoff = min(2*backoff, backoffMax)
	}
	backoff = time.Second
	for {
		err := w.syncVolumes()
		if err == nil {
			break
		}
		w.setProblem(err.Error())
		w.a.recorder.Eventf(w.current(), v1.EventTypeWarning, "FailedMount", "%v", err)
		if !w.sleep(backoff, true) {
			return false
		}
		backoff = min(2*backoff, 10*time.Second)
	}
	w.setProblem("")
	return true
}

func (w *podWorker) setProblem(msg string) {
	w.mu.Lock()
	w.problem = msg
	w.mu.Unlock()
	w.dirty()
}

func (w *podWorker) setupNetwork() error {
	w.mu.Lock()
	ready := w.sandboxReady
	w.mu.Unlock()
	if ready {
		return nil
	}
	if w.hostNetwork {
		w.mu.Lock()
		w.ip, w.sandboxReady = net.ParseIP(bridgeIP), true
		w.mu.Unlock()
		w.dirty()
		return nil
	}
	ip, err := w.a.ips.allocate()
	if err != nil {
		return err
	}
	if err := setupSandbox(w.netns, w.veth, ip); err != nil {
		w.a.ips.release(ip)
		return err
	}
	if err := routesViaBridge(ip.String()); err != nil {
		teardownSandbox(w.netns, w.veth)
		w.a.ips.release(ip)
		return err
	}
	if err := os.MkdirAll(w.dir, 0o700); err != nil {
		return err
	}
	_ = os.WriteFile(filepath.Join(w.dir, "netns"), []byte(w.netns+"\n"), 0o600)
	logf("%s: sandbox %s, ip %s", podKey(w.current()), w.netns, ip)
	w.mu.Lock()
	w.ip, w.sandboxReady = ip, true
	w.mu.Unlock()
	w.dirty()
	return nil
}

// runInits runs init containers in order; a restartable one (a sidecar) only needs to start.
func (w *podWorker) runInits() bool {
	for _, c := range w.inits {
		if c.spec.RestartPolicy != nil && *c.spec.RestartPolicy == v1.ContainerRestartPolicyAlways {
			go w.runContainer(c)
			for {
				w.mu.Lock()
				started := c.started
				w.mu.Unlock()
				if started {
					break
				}
				if !w.sleep(200*time.Millisecond, false) {
					return false
				}
			}
			continue
		}
		backoff := time.Second
		for {
			if w.stopping() != "" {
				return false
			}
			code, err := w.startAndWait(c)
			if err == nil && code == 0 {
				break
			}
			if w.current().Spec.RestartPolicy == v1.RestartPolicyNever && err == nil {
				w.mu.Lock()
				w.initFailed = true
				w.mu.Unlock()
				w.dirty()
				return w.waitForever()
			}
			w.backoffState(c, err, backoff)
			if !w.sleep(backoff, err != nil) {
				return false
			}
			backoff = min(2*backoff, backoffMax)
		}
	}
	w.mu.Lock()
	w.initDone = true
	for _, c := range w.ctrs {
		if c.state.Waiting != nil && c.state.Waiting.Reason == "PodInitializing" {
			c.state = waiting("ContainerCreating", "")
		}
	}
	w.mu.Unlock()
	w.dirty()
	return true
}

// waitForever idles until the pod must stop (a failed pod stays until it is deleted).
func (w *podWorker) waitForever() bool {
	for w.sleep(time.Hour, false) {
	}
	return false
}

// runContainer keeps one container running as its restart policy says.
func (w *podWorker) runContainer(c *ctr) {
	backoff := time.Second
	for w.stopping() == "" {
		began := time.Now()
		code, err := w.startAndWait(c)
		if w.stopping() != "" {
			return
		}
		w.mu.Lock()
		respec := c.respec
		c.respec = false
		w.mu.Unlock()
		if err == nil && !respec && !shouldRestart(w.current(), c, code) {
			return
		}
		if time.Since(began) > 10*time.Minute || respec {
			backoff = time.Second
		}
		if !respec {
			w.backoffState(c, err, backoff)
			if !w.sleep(backoff, err != nil) {
				return
			}
			backoff = min(2*backoff, backoffMax)
		}
	}
}

func shouldRestart(pod *v1.Pod, c *ctr, code int) bool {
	policy := pod.Spec.RestartPolicy
	if c.spec.RestartPolicy != nil {
		policy = v1.RestartPolicy(*c.spec.RestartPolicy)
	}
	switch policy {
	case v1.RestartPolicyNever:
		return false
	case v1.RestartPolicyOnFailure:
		return code != 0
	}
	return true
}

// backoffState shows why the container waits: its start error, or CrashLoopBackOff after an exit.
func (w *podWorker) backoffState(c *ctr, err error, backoff time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err != nil {
		return // startAndWait already set the Waiting reason for the error
	}
	if c.state.Terminated != nil {
		c.last = c.state
	}
	c.state = waiting("CrashLoopBackOff", fmt.Sprintf("back-off %s restarting failed container=%s pod=%s_%s(%s)", backoff, c.spec.Name, w.name, w.namespace, w.uid))
	w.dirty()
}

// startAndWait starts the container's process and waits for it to exit. It returns the exit
// code, or an error when the process could not be started (the container then shows Waiting).
func (w *podWorker) startAndWait(c *ctr) (int, error) {
	w.mu.Lock()
	spec := c.spec
	w.mu.Unlock()
	cmd, env, err := w.buildCommand(&spec)
	if err != nil {
		se, ok := err.(*startError)
		if !ok {
			se = &startError{reason: "CreateContainerError", msg: err.Error()}
		}
		w.mu.Lock()
		c.state = waiting(se.reason, se.msg)
		w.mu.Unlock()
		w.dirty()
		w.a.recorder.Eventf(w.current(), v1.EventTypeWarning, "Failed", "Error: %s: %s", se.reason, se.msg)
		return 0, se
	}
	logPath := filepath.Join(w.dir, spec.Name+".log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return 0, w.startFailed(c, err)
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	w.mu.Lock()
	if w.terminating {
		w.mu.Unlock()
		logFile.Close()
		return 0, &startError{reason: "ContainerCreating", msg: "pod is terminating"}
	}
	err = cmd.Start()
	logFile.Close()
	if err != nil {
		w.mu.Unlock()
		return 0, w.startFailed(c, err)
	}
	if c.ran {
		c.restarts++
		if c.state.Terminated != nil {
			c.last = c.state
		}
	}
	c.ran = true
	startedAt := metav1.Now()
	id := fmt.Sprintf("devcluster://%s-%s-%d", shortID(string(w.uid)), spec.Name, c.restarts)
	c.state = v1.ContainerState{Running: &v1.ContainerStateRunning{StartedAt: startedAt}}
	c.cmd, c.exited, c.env = cmd, make(chan struct{}), env
	runCtx, cancel := context.WithCancel(w.a.ctx)
	c.runCancel = cancel
	exited := c.exited
	w.mu.Unlock()
	w.dirty()
	w.a.recorder.Eventf(w.current(), v1.EventTypeNormal, "Started", "Started container %s", spec.Name)
	go w.probe(runCtx, c, spec)

	waitErr := cmd.Wait()
	cancel()
	code := exitCode(cmd, waitErr)
	reason := "Completed"
	if code != 0 {
		reason = "Error"
	}
	w.mu.Lock()
	close(exited)
	c.cmd = nil
	c.ready, c.started = false, false
	c.state = v1.ContainerState{Terminated: &v1.ContainerStateTerminated{
		ExitCode: int32(code), Reason: reason, StartedAt: startedAt, FinishedAt: metav1.Now(), ContainerID: id,
	}}
	w.mu.Unlock()
	w.dirty()
	return code, nil
}

func (w *podWorker) startFailed(c *ctr, err error) error {
	se := &startError{reason: "RunContainerError", msg: err.Error()}
	w.mu.Lock()
	c.state = waiting(se.reason, se.msg)
	w.mu.Unlock()
	w.dirty()
	return se
}

func shortID(uid string) string {
	uid = strings.ReplaceAll(uid, "-", "")
	if len(uid) > 12 {
		return uid[:12]
	}
	return uid
}

func exitCode(cmd *exec.Cmd, err error) int {
	if cmd.ProcessState == nil {
		return 128
	}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	if code := cmd.ProcessState.ExitCode(); code >= 0 {
		return code
	}
	if err != nil {
		return 1
	}
	return 0
}

// restartRespecced restarts containers whose image changed in the pod spec.
func (w *podWorker) restartRespecced() {
	w.mu.Lock()
	var changed []*ctr
	for _, c := range w.ctrs {
		if c.respec && c.cmd != nil {
			changed = append(changed, c)
		}
	}
	w.mu.Unlock()
	for _, c := range changed {
		w.a.recorder.Eventf(w.current(), v1.EventTypeNormal, "Killing", "Container %s definition changed, will be restarted", c.spec.Name)
		w.stopContainers([]*ctr{c}, w.graceFor(nil))
	}
}

// graceFor is the termination grace: the delete's, else the pod spec's, else 30 s.
func (w *podWorker) graceFor(override *int64) time.Duration {
	p := w.current()
	switch {
	case override != nil:
		return time.Duration(*override) * time.Second
	case p.DeletionGracePeriodSeconds != nil:
		return time.Duration(*p.DeletionGracePeriodSeconds) * time.Second
	case p.Spec.TerminationGracePeriodSeconds != nil:
		return time.Duration(*p.Spec.TerminationGracePeriodSeconds) * time.Second
	}
	return 30 * time.Second
}

// stopContainers sends SIGTERM to each container's process group, waits up to grace (less if the
// delete is repeated with a shorter grace or the agent stops), then sends SIGKILL.
func (w *podWorker) stopContainers(cs []*ctr, grace time.Duration) {
	type running struct {
		c      *ctr
		pid    int
		exited chan struct{}
	}
	var rs []running
	w.mu.Lock()
	for _, c := range cs {
		if c.cmd != nil && c.cmd.Process != nil {
			rs = append(rs, running{c, c.cmd.Process.Pid, c.exited})
		}
	}
	w.mu.Unlock()
	for _, r := range rs {
		_ = syscall.Kill(-r.pid, syscall.SIGTERM)
	}
	began := time.Now()
	deadline := time.NewTimer(grace)
	defer deadline.Stop()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
wait:
	for _, r := range rs {
		for {
			select {
			case <-r.exited:
			case <-deadline.C:
				break wait
			case <-tick.C:
				// A repeated delete may shorten the grace; the agent stopping shortens it too.
				limit := w.graceFor(nil)
				if w.a.ctx.Err() != nil {
					limit = min(limit, shutdownGrace)
				}
				if time.Since(began) >= limit {
					break wait
				}
				continue
			}
			break
		}
	}
	for _, r := range rs {
		select {
		case <-r.exited:
		default:
			_ = syscall.Kill(-r.pid, syscall.SIGKILL)
		}
	}
	for _, r := range rs {
		select {
		case <-r.exited:
		case <-time.After(10 * time.Second):
			logf("%s/%s: container %s did not exit after SIGKILL", w.namespace, w.name, r.c.spec.Name)
		}
	}
}

// finish stops every container and removes the sandbox. After a graceful delete it reports the
// final status and removes the Pod object, as a kubelet does; it returns true then.
func (w *podWorker) finish() bool {
	why := w.stopping()
	w.mu.Lock()
	w.terminating = true
	all := append(append([]*ctr{}, w.inits...), w.ctrs...)
	w.mu.Unlock()
	var grace time.Duration
	switch why {
	case "agent":
		grace = min(w.graceFor(nil), shutdownGrace)
	case "gone":
		grace = forceDeleteGrace
	default:
		grace = w.graceFor(nil)
		w.a.recorder.Eventf(w.current(), v1.EventTypeNormal, "Killing", "Stopping pod (grace period %s)", grace)
	}
	w.stopContainers(all, grace)
	for _, c := range all {
		w.mu.Lock()
		if c.runCancel != nil {
			c.runCancel()
		}
		w.mu.Unlock()
	}
	if !w.hostNetwork {
		w.mu.Lock()
		ip, ready := w.ip, w.sandboxReady
		w.mu.Unlock()
		if ready {
			teardownSandbox(w.netns, w.veth)
			w.a.ips.release(ip)
		}
	}
	_ = os.RemoveAll(filepath.Join(w.dir, "volumes"))
	close(w.statusStop)
	<-w.statusDone
	if why != "deleted" {
		return false
	}
	w.mu.Lock()
	w.finalPhase = true
	for _, c := range all {
		c.ready = false
		if c.state.Terminated == nil {
			c.state = v1.ContainerState{Terminated: &v1.ContainerStateTerminated{
				ExitCode: 137, Reason: "ContainerStatusUnknown", Message: "The container could not be located when the pod was terminated",
				FinishedAt: metav1.Now(),
			}}
		}
	}
	w.mu.Unlock()
	w.writeStatus(context.Background())
	w.a.deletePodObject(w.current())
	return true
}
