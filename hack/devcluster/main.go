// Command devcluster runs a real Kubernetes control plane for local development and tests:
// embedded etcd, kube-apiserver and kube-controller-manager, built from the Go module proxy, plus
// a node agent that runs pods on simulated nodes.
//
//	devcluster serve --dir .devcluster      supervise etcd + apiserver + controller-manager + node agent
//	devcluster kube-apiserver [flags]       the stock kube-apiserver command (used as a child)
//	devcluster kube-controller-manager ...  the stock kube-controller-manager command (child)
//	devcluster node-agent [flags]           the simulated nodes (child; see nodeagent.go)
//	devcluster service-lb [flags]           LoadBalancer Services on 127.0.1.N (child; servicelb.go)
//	devcluster cleanup --dir .devcluster    remove pod networks and processes a killed run left
//
// The apiserver, the controller-manager and the node agent run as child processes of the same
// binary because each registers process-global signal handlers, flags and metrics.
package main

import (
	"fmt"
	"os"

	"k8s.io/component-base/cli"
	apiserver "k8s.io/kubernetes/cmd/kube-apiserver/app"
	kcm "k8s.io/kubernetes/cmd/kube-controller-manager/app"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: devcluster serve|kube-apiserver|kube-controller-manager|node-agent|service-lb|cleanup [flags]")
		os.Exit(2)
	}
	sub, rest := os.Args[1], os.Args[2:]
	switch sub {
	case "serve":
		os.Exit(serve(rest))
	case "kube-apiserver":
		cmd := apiserver.NewAPIServerCommand()
		cmd.SetArgs(rest)
		os.Exit(cli.Run(cmd))
	case "kube-controller-manager":
		cmd := kcm.NewControllerManagerCommand()
		cmd.SetArgs(rest)
		os.Exit(cli.Run(cmd))
	case "node-agent":
		os.Exit(nodeAgentCmd(rest))
	case "service-lb":
		os.Exit(serviceLB(rest))
	case "cleanup":
		os.Exit(cleanupCmd(rest))
	default:
		fmt.Fprintf(os.Stderr, "devcluster: unknown command %q\n", sub)
		os.Exit(2)
	}
}
