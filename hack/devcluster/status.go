package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	v1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// statusLoop writes the pod status whenever the worker marks it dirty.
func (w *podWorker) statusLoop() {
	defer close(w.statusDone)
	for {
		select {
		case <-w.statusStop:
			return
		case <-w.dirtyCh:
			if w.a.ctx.Err() != nil {
				continue // the agent is stopping: leave the last reported status alone
			}
			w.writeStatus(w.a.ctx)
		}
	}
}

// writeStatus replaces the status we own on the latest version of the object; conflicts fetch
// the object again.
func (w *podWorker) writeStatus(ctx context.Context) {
	pods := w.a.client.CoreV1().Pods(w.namespace)
	for attempt := 0; attempt < 8; attempt++ {
		cur := w.current()
		st := w.buildStatus(cur)
		if apiequality.Semantic.DeepEqual(cur.Status, st) {
			return
		}
		p := cur.DeepCopy()
		p.Status = st
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		updated, err := pods.UpdateStatus(cctx, p, metav1.UpdateOptions{})
		cancel()
		switch {
		case err == nil:
			w.adopt(updated)
			return
		case apierrors.IsNotFound(err):
			return
		case apierrors.IsConflict(err):
			cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			fresh, gerr := pods.Get(cctx, w.name, metav1.GetOptions{})
			cancel()
			if gerr == nil && fresh.UID == w.uid {
				w.adopt(fresh)
			} else if apierrors.IsNotFound(gerr) || (gerr == nil && fresh.UID != w.uid) {
				return
			}
		default:
			if ctx.Err() != nil {
				return
			}
			logf("%s/%s: status: %v", w.namespace, w.name, err)
			time.Sleep(time.Second)
		}
	}
}

// adopt keeps the object we just wrote or read unless the informer already gave us something
// newer (resource versions are etcd revisions here, so they compare as numbers).
func (w *podWorker) adopt(p *v1.Pod) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if rvNumber(p.ResourceVersion) >= rvNumber(w.pod.ResourceVersion) {
		w.pod = p
	}
}

func rvNumber(rv string) uint64 {
	var n uint64
	fmt.Sscan(rv, &n)
	return n
}

// buildStatus is what a kubelet would report for the pod's current state.
func (w *podWorker) buildStatus(cur *v1.Pod) v1.PodStatus {
	w.mu.Lock()
	defer w.mu.Unlock()
	old := cur.Status
	st := v1.PodStatus{
		QOSClass:              old.QOSClass,
		NominatedNodeName:     old.NominatedNodeName,
		ResourceClaimStatuses: old.ResourceClaimStatuses,
		HostIP:                bridgeIP,
		HostIPs:               []v1.HostIP{{IP: bridgeIP}},
		StartTime:             w.startTime,
	}
	if w.ip != nil && w.sandboxReady {
		st.PodIP = w.ip.String()
		st.PodIPs = []v1.PodIP{{IP: st.PodIP}}
	}
	st.InitContainerStatuses = w.containerStatuses(w.inits, old.InitContainerStatuses)
	st.ContainerStatuses = w.containerStatuses(w.ctrs, old.ContainerStatuses)
	st.Phase = w.phase(cur)

	var notReady, notInit []string
	for _, c := range w.ctrs {
		if !c.ready {
			notReady = append(notReady, c.spec.Name)
		}
	}
	for _, c := range w.inits {
		restartable := c.spec.RestartPolicy != nil && *c.spec.RestartPolicy == v1.ContainerRestartPolicyAlways
		if !w.initDone && !(restartable && c.started) && !(c.state.Terminated != nil && c.state.Terminated.ExitCode == 0) {
			notInit = append(notInit, c.spec.Name)
		}
		if restartable && !c.ready {
			notReady = append(notReady, c.spec.Name)
		}
	}
	terminal := st.Phase == v1.PodSucceeded || st.Phase == v1.PodFailed

	conds := []v1.PodCondition{
		cond(v1.PodReadyToStartContainers, w.sandboxReady && !terminal, "", ""),
	}
	if w.initDone || len(w.inits) == 0 {
		conds = append(conds, cond(v1.PodInitialized, true, "", ""))
	} else {
		conds = append(conds, cond(v1.PodInitialized, false, "ContainersNotInitialized", fmt.Sprintf("containers with incomplete status: [%s]", strings.Join(notInit, " "))))
	}
	ready := len(notReady) == 0 && !terminal
	var containersReady v1.PodCondition
	switch {
	case terminal:
		containersReady = cond(v1.ContainersReady, false, "PodCompleted", "")
	case ready:
		containersReady = cond(v1.ContainersReady, true, "", "")
	default:
		containersReady = cond(v1.ContainersReady, false, "ContainersNotReady", fmt.Sprintf("containers with unready status: [%s]", strings.Join(notReady, " ")))
	}
	podReady := containersReady
	podReady.Type = v1.PodReady
	if ready {
		// Readiness gates: conditions other controllers set on the pod.
		var missing []string
		for _, g := range cur.Spec.ReadinessGates {
			ok := false
			for _, c := range old.Conditions {
				if c.Type == g.ConditionType && c.Status == v1.ConditionTrue {
					ok = true
				}
			}
			if !ok {
				missing = append(missing, string(g.ConditionType))
			}
		}
		if len(missing) > 0 {
			podReady = cond(v1.PodReady, false, "ReadinessGatesNotReady", fmt.Sprintf("corresponding condition of pod readiness gate %q does not exist.", strings.Join(missing, ", ")))
		}
	}
	conds = append(conds, podReady, containersReady, cond(v1.PodScheduled, true, "", ""))

	owned := map[v1.PodConditionType]bool{}
	for _, c := range conds {
		owned[c.Type] = true
	}
	for _, c := range old.Conditions {
		if !owned[c.Type] {
			conds = append(conds, c)
		}
	}
	now := metav1.Now()
	for i := range conds {
		conds[i].LastTransitionTime = now
		for _, o := range old.Conditions {
			if o.Type == conds[i].Type && o.Status == conds[i].Status {
				conds[i].LastTransitionTime = o.LastTransitionTime
				conds[i].LastProbeTime = o.LastProbeTime
			}
		}
	}
	st.Conditions = conds
	return st
}

func cond(t v1.PodConditionType, ok bool, reason, msg string) v1.PodCondition {
	s := v1.ConditionFalse
	if ok {
		s = v1.ConditionTrue
	}
	return v1.PodCondition{Type: t, Status: s, Reason: reason, Message: msg}
}

func (w *podWorker) containerStatuses(cs []*ctr, old []v1.ContainerStatus) []v1.ContainerStatus {
	if len(cs) == 0 {
		return nil
	}
	out := make([]v1.ContainerStatus, 0, len(cs))
	for _, c := range cs {
		state := c.state
		if state.Waiting != nil && state.Waiting.Reason == "ContainerCreating" && w.problem != "" {
			state = waiting("ContainerCreating", w.problem)
		}
		started := c.started
		s := v1.ContainerStatus{
			Name:                 c.spec.Name,
			Image:                c.spec.Image,
			ImageID:              imageID(c.spec.Image),
			State:                state,
			LastTerminationState: c.last,
			Ready:                c.ready,
			RestartCount:         c.restarts,
			Started:              &started,
		}
		if state.Running != nil || state.Terminated != nil {
			s.ContainerID = fmt.Sprintf("devcluster://%s-%s-%d", shortID(string(w.uid)), c.spec.Name, c.restarts)
		}
		if state.Terminated != nil && state.Terminated.ContainerID != "" {
			s.ContainerID = state.Terminated.ContainerID
		}
		// Timestamps only have second precision on the wire: keep the stored ones so an unchanged
		// state does not look changed.
		for _, o := range old {
			if o.Name == s.Name && apiequality.Semantic.DeepEqual(stripTimes(o.State), stripTimes(s.State)) {
				s.State = o.State
			}
		}
		out = append(out, s)
	}
	return out
}

func stripTimes(s v1.ContainerState) v1.ContainerState {
	c := *s.DeepCopy()
	if c.Running != nil {
		c.Running.StartedAt = metav1.Time{}
	}
	if c.Terminated != nil {
		c.Terminated.StartedAt, c.Terminated.FinishedAt = metav1.Time{}, metav1.Time{}
	}
	return c
}

func imageID(image string) string { return "devcluster-image-table://" + image }

// phase follows the kubelet's rules (pkg/kubelet/kubelet_pods.go getPhase), simplified.
func (w *podWorker) phase(pod *v1.Pod) v1.PodPhase {
	if w.initFailed {
		return v1.PodFailed
	}
	if !w.initDone && len(w.inits) > 0 {
		if w.finalPhase {
			return v1.PodFailed
		}
		return v1.PodPending
	}
	var running, waitingN, stopped, succeeded int
	for _, c := range w.ctrs {
		switch {
		case c.state.Running != nil:
			running++
		case c.state.Terminated != nil:
			stopped++
			if c.state.Terminated.ExitCode == 0 {
				succeeded++
			}
		case c.state.Waiting != nil:
			if c.last.Terminated != nil {
				stopped++
				if c.last.Terminated.ExitCode == 0 {
					succeeded++
				}
			} else {
				waitingN++
			}
		}
	}
	switch {
	case w.finalPhase:
		if stopped == succeeded && waitingN == 0 {
			return v1.PodSucceeded
		}
		return v1.PodFailed
	case waitingN > 0:
		return v1.PodPending
	case running > 0:
		return v1.PodRunning
	case stopped > 0:
		switch pod.Spec.RestartPolicy {
		case v1.RestartPolicyAlways:
			return v1.PodRunning
		case v1.RestartPolicyNever:
			if stopped == succeeded {
				return v1.PodSucceeded
			}
			return v1.PodFailed
		default:
			if stopped == succeeded {
				return v1.PodSucceeded
			}
			return v1.PodRunning
		}
	}
	return v1.PodPending
}
