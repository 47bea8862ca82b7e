package main

import (
	"context"
	"runtime"
	"syscall"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/component-base/version"
)

const (
	leaseDuration     = 40 * time.Second
	heartbeatInterval = 10 * time.Second
	nodeStatusEvery   = time.Minute
)

func goarch() string { return runtime.GOARCH }

func kernelVersion() string {
	var u syscall.Utsname
	if syscall.Uname(&u) != nil {
		return ""
	}
	b := make([]byte, 0, len(u.Release))
	for _, c := range u.Release {
		if c == 0 {
			break
		}
		b = append(b, byte(c))
	}
	return string(b)
}

// Capacity is generous on purpose: the simulated node never refuses a pod for resources.
var nodeCapacity = v1.ResourceList{
	v1.ResourceCPU:              resource.MustParse("64"),
	v1.ResourceMemory:           resource.MustParse("256Gi"),
	v1.ResourcePods:             resource.MustParse("1000"),
	v1.ResourceEphemeralStorage: resource.MustParse("1Ti"),
}

func (a *agent) nodeStatus(name string, now metav1.Time) v1.NodeStatus {
	cond := func(t v1.NodeConditionType, s v1.ConditionStatus, reason, msg string) v1.NodeCondition {
		return v1.NodeCondition{Type: t, Status: s, Reason: reason, Message: msg, LastHeartbeatTime: now, LastTransitionTime: now}
	}
	return v1.NodeStatus{
		Capacity:    nodeCapacity,
		Allocatable: nodeCapacity,
		Phase:       v1.NodeRunning,
		Conditions: []v1.NodeCondition{
			cond(v1.NodeMemoryPressure, v1.ConditionFalse, "KubeletHasSufficientMemory", "node agent has sufficient memory available"),
			cond(v1.NodeDiskPressure, v1.ConditionFalse, "KubeletHasNoDiskPressure", "node agent has no disk pressure"),
			cond(v1.NodePIDPressure, v1.ConditionFalse, "KubeletHasSufficientPID", "node agent has sufficient PID available"),
			cond(v1.NodeReady, v1.ConditionTrue, "KubeletReady", "node agent is posting ready status"),
		},
		Addresses: []v1.NodeAddress{{Type: v1.NodeInternalIP, Address: bridgeIP}, {Type: v1.NodeHostName, Address: name}},
		NodeInfo: v1.NodeSystemInfo{
			KubeletVersion:          version.Get().GitVersion,
			ContainerRuntimeVersion: "devcluster://" + version.Get().GitVersion,
			OperatingSystem:         "linux",
			Architecture:            runtime.GOARCH,
			OSImage:                 "devcluster simulated node",
			KernelVersion:           kernelVersion(),
		},
	}
}

// registerNodes creates the Node objects, or takes over existing ones (a restarted agent).
func (a *agent) registerNodes(ctx context.Context) error {
	for _, name := range a.nodes {
		now := metav1.Now()
		node := &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: a.nodeLabels(name)}}
		created, err := a.client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			created, err = a.client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
			if err == nil {
				for k, v := range a.nodeLabels(name) {
					if created.Labels == nil {
						created.Labels = map[string]string{}
					}
					created.Labels[k] = v
				}
				created.Spec.Unschedulable = false
				created, err = a.client.CoreV1().Nodes().Update(ctx, created, metav1.UpdateOptions{})
			}
		}
		if err != nil {
			return err
		}
		created.Status = a.nodeStatus(name, now)
		if _, err := a.client.CoreV1().Nodes().UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
			return err
		}
		if err := a.renewLease(ctx, name); err != nil {
			return err
		}
	}
	return nil
}

// heartbeat renews each node's Lease every 10 s and refreshes the Ready condition every minute,
// the way a kubelet keeps its node fresh.
func (a *agent) heartbeat(ctx context.Context) {
	lease := time.NewTicker(heartbeatInterval)
	defer lease.Stop()
	lastStatus := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-lease.C:
		}
		for _, name := range a.nodes {
			node, err := a.client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				// Someone deleted the node: register it again.
				if err := a.registerNodes(ctx); err != nil && ctx.Err() == nil {
					logf("re-register nodes: %v", err)
				}
				break
			}
			if err != nil {
				continue
			}
			if err := a.renewLease(ctx, name); err != nil && ctx.Err() == nil {
				logf("renew lease %s: %v", name, err)
			}
			if time.Since(lastStatus) >= nodeStatusEvery {
				now := metav1.Now()
				fresh := a.nodeStatus(name, now)
				for i, c := range node.Status.Conditions {
					for _, f := range fresh.Conditions {
						if f.Type == c.Type {
							if f.Status == c.Status {
								f.LastTransitionTime = c.LastTransitionTime
							}
							node.Status.Conditions[i] = f
						}
					}
				}
				if _, err := a.client.CoreV1().Nodes().UpdateStatus(ctx, node, metav1.UpdateOptions{}); err != nil && ctx.Err() == nil {
					logf("node status %s: %v", name, err)
				}
			}
		}
		if time.Since(lastStatus) >= nodeStatusEvery {
			lastStatus = time.Now()
		}
	}
}

func (a *agent) renewLease(ctx context.Context, name string) error {
	leases := a.client.CoordinationV1().Leases(v1.NamespaceNodeLease)
	now := metav1.NewMicroTime(time.Now())
	dur := int32(leaseDuration.Seconds())
	l, err := leases.Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		node, err := a.client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		_, err = leases.Create(ctx, &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{
				Name: name, Namespace: v1.NamespaceNodeLease,
				OwnerReferences: []metav1.OwnerReference{{APIVersion: "v1", Kind: "Node", Name: name, UID: node.UID}},
			},
			Spec: coordinationv1.LeaseSpec{HolderIdentity: &name, LeaseDurationSeconds: &dur, RenewTime: &now},
		}, metav1.CreateOptions{})
		return err
	}
	if err != nil {
		return err
	}
	l.Spec.HolderIdentity, l.Spec.LeaseDurationSeconds, l.Spec.RenewTime = &name, &dur, &now
	_, err = leases.Update(ctx, l, metav1.UpdateOptions{})
	return err
}
