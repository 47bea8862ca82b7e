package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"

	v1 "k8s.io/api/core/v1"
	"k8s.io/kubernetes/third_party/forked/golang/expansion"
)

// startError is why a container could not start; reason is the Waiting reason a kubelet reports.
type startError struct{ reason, msg string }

func (e *startError) Error() string { return e.reason + ": " + e.msg }

// mountScript runs inside the pod's private mount namespace (which `ip netns exec` or `unshare`
// created): it bind-mounts the pod's volumes at their mount paths, enters the working directory
// and execs the container command. Everything it handles arrives as positional arguments, never
// as script text.
//
//	sh -c SCRIPT sh WORKDIR [MODE SOURCE TARGET]... -- COMMAND ARGS...
const mountScript = `set -e
dir=$1; shift
while [ "$1" != "--" ]; do
  mount --bind "$2" "$3"
  if [ "$1" = ro ]; then mount -o remount,bind,ro "$3"; fi
  shift 3
done
shift
cd "$dir"
exec "$@"`

// buildCommand resolves the image, the environment, the command line and the mounts of one
// container into a process to start.
func (w *podWorker) buildCommand(c *v1.Container) (*exec.Cmd, []string, error) {
	entry, known, err := w.a.images.lookup(c.Image)
	if err != nil {
		return nil, nil, &startError{"ErrImagePull", err.Error()}
	}
	if !known {
		return nil, nil, &startError{"ErrImagePull", fmt.Sprintf("image %q is not in the node agent's image table (%s); add it there to run it on this node", c.Image, w.a.opts.imageTable)}
	}
	pod := w.current()
	env, envMap, err := w.containerEnv(pod, c, entry)
	if err != nil {
		return nil, nil, &startError{"CreateContainerConfigError", err.Error()}
	}

	// Docker semantics: the pod's command replaces the entrypoint (and drops the image's args);
	// the pod's args replace the image's args.
	command, args := entry.Command, entry.Args
	if len(c.Command) > 0 {
		command, args = c.Command, nil
	}
	if len(c.Args) > 0 {
		args = c.Args
	}
	mapping := expansion.MappingFuncFor(envMap)
	var argv []string
	for _, s := range append(append([]string{}, command...), args...) {
		argv = append(argv, expansion.Expand(s, mapping))
	}
	if len(argv) == 0 {
		return nil, nil, &startError{"CreateContainerError", fmt.Sprintf("no command for image %q: neither the pod nor the image table gives one", c.Image)}
	}
	workDir := c.WorkingDir
	if workDir == "" {
		workDir = entry.WorkingDir
	}
	if workDir == "" {
		workDir = "/"
	}

	script := []string{"sh", "-c", mountScript, "sh", workDir}
	var created []string
	for _, m := range c.VolumeMounts {
		if m.SubPath != "" || m.SubPathExpr != "" {
			return nil, nil, &startError{"CreateContainerConfigError", fmt.Sprintf("volume mount %q: subPath is not supported by the node agent", m.Name)}
		}
		src := w.volumeDir(m.Name)
		if st, err := os.Stat(src); err != nil || !st.IsDir() {
			return nil, nil, &startError{"CreateContainerConfigError", fmt.Sprintf("volume %q is not ready", m.Name)}
		}
		if !filepath.IsAbs(m.MountPath) {
			return nil, nil, &startError{"CreateContainerConfigError", fmt.Sprintf("mount path %q is not absolute", m.MountPath)}
		}
		made, err := ensureMountpoint(m.MountPath)
		if err != nil {
			return nil, nil, &startError{"CreateContainerError", fmt.Sprintf("mount point %s: %v", m.MountPath, err)}
		}
		created = append(created, made...)
		mode := "rw"
		if m.ReadOnly {
			mode = "ro"
		}
		script = append(script, mode, src, m.MountPath)
	}
	if err := recordMountpoints(w.a.opts.dir, created); err != nil {
		return nil, nil, &startError{"CreateContainerError", err.Error()}
	}
	script = append(script, "--")
	script = append(script, argv...)

	var full []string
	if w.hostNetwork {
		full = append([]string{"unshare", "--mount", "--propagation", "slave"}, script...)
	} else {
		full = append([]string{"ip", "netns", "exec", w.netns}, script...)
	}
	path, err := exec.LookPath(full[0])
	if err != nil {
		return nil, nil, &startError{"RunContainerError", err.Error()}
	}
	cmd := &exec.Cmd{Path: path, Args: full, Env: env, Dir: "/"}
	// Own process group, so stopping reaches the container's children; SIGKILL if the agent dies.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	return cmd, env, nil
}

func (w *podWorker) volumeDir(name string) string {
	return filepath.Join(w.dir, "volumes", name)
}
