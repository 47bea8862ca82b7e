// Command devcluster runs a real Kubernetes control plane for local development and tests:
// embedded etcd, kube-apiserver and kube-controller-manager, built from the Go module proxy.
//
//	devcluster serve --dir .devcluster      supervise etcd + apiserver + controller-manager
//	devcluster kube-apiserver [flags]       the stock kube-apiserver command (used as a child)
//	devcluster kube-controller-manager ...  the stock kube-controller-manager command (child)
//
// The apiserver and the controller-manager run as child processes of the same binary because
// each registers process-global signal handlers, flags and metrics.
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
		fmt.Fprintln(os.Stderr, "usage: devcluster serve|kube-apiserver|kube-controller-manager [flags]")
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
	default:
		fmt.Fprintf(os.Stderr, "devcluster: unknown command %q\n", sub)
		os.Exit(2)
	}
}
