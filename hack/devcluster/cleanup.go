package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
)

// The bridge and the namespace names are machine-wide, so one node agent runs per machine. It
// holds this lock while it runs; cleanup refuses to touch anything while another agent holds it.
const agentLockPath = "/run/lock/sluice-node-agent.lock"

// podMarkerEnv is set in every pod process so that leftovers of a killed run are found even when
// they run outside a pod network namespace (hostNetwork pods, or children that changed namespace).
const podMarkerEnv = "SLUICE_DEVCLUSTER_POD"

func acquireAgentLock() (*os.File, error) {
	if err := os.MkdirAll(filepath.Dir(agentLockPath), 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(agentLockPath, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder, _ := os.ReadFile(agentLockPath)
		f.Close()
		return nil, fmt.Errorf("another node agent is running (pid %s); stop its cluster first", strings.TrimSpace(string(holder)))
	}
	_ = f.Truncate(0)
	_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return f, nil
}

// cleanupCmd is `devcluster cleanup --dir D`: removes what a killed cluster left behind.
func cleanupCmd(args []string) int {
	fs := flag.NewFlagSet("cleanup", flag.ContinueOnError)
	dir := fs.String("dir", ".devcluster", "state directory of the cluster")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	abs, err := filepath.Abs(*dir)
	if err != nil {
		return fail(err)
	}
	lock, err := acquireAgentLock()
	if err != nil {
		return fail(err)
	}
	defer lock.Close()
	n := cleanupStale(abs)
	if n > 0 {
		fmt.Printf("devcluster: removed %d leftover(s) of an earlier run\n", n)
	}
	return 0
}

// cleanupStale kills leftover pod processes and removes our network namespaces, veths, the
// bridge and the mount points we created. The caller holds the agent lock. It returns how many
// things it removed.
func cleanupStale(dir string) int {
	n := killMarkedProcesses()
	out, _ := ipTool("netns", "list")
	for _, line := range strings.Split(out, "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 || !strings.HasPrefix(fields[0], netnsPrefix) {
			continue
		}
		killNetnsProcesses(fields[0])
		if _, err := ipTool("netns", "delete", fields[0]); err != nil {
			fmt.Fprintln(os.Stderr, "devcluster:", err)
		} else {
			n++
		}
	}
	out, _ = ipTool("-o", "link", "show")
	for _, line := range strings.Split(out, "\n") {
		// "12: sluvabc@if11: <...>"
		fields := strings.Fields(line)
		if len(fields) < 2 {
			continue
		}
		name, _, _ := strings.Cut(strings.TrimSuffix(fields[1], ":"), "@")
		if strings.HasPrefix(name, vethPrefix) || name == bridgeName {
			if _, err := ipTool("link", "delete", name); err == nil {
				n++
			}
		}
	}
	n += removeMountpoints(dir)
	return n
}

// killMarkedProcesses SIGKILLs every process that carries the pod marker in its environment.
func killMarkedProcesses() int {
	entries, _ := os.ReadDir("/proc")
	n := 0
	marker := []byte(podMarkerEnv + "=")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		env, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if err != nil {
			continue
		}
		for _, kv := range bytes.Split(env, []byte{0}) {
			if bytes.HasPrefix(kv, marker) {
				if syscall.Kill(pid, syscall.SIGKILL) == nil {
					n++
				}
				break
			}
		}
	}
	return n
}

// Mount points that did not exist on the host are created for bind mounts and recorded here, so
// they can be removed again (only while empty: a path someone else filled is left alone).
func mountpointsFile(dir string) string { return filepath.Join(dir, "node-agent", "mountpoints") }

func recordMountpoints(dir string, created []string) error {
	if len(created) == 0 {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(mountpointsFile(dir)), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(mountpointsFile(dir), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	for _, p := range created {
		if _, err := fmt.Fprintln(f, p); err != nil {
			return err
		}
	}
	return nil
}

func removeMountpoints(dir string) int {
	f, err := os.Open(mountpointsFile(dir))
	if err != nil {
		return 0
	}
	var paths []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if p := strings.TrimSpace(sc.Text()); filepath.IsAbs(p) {
			paths = append(paths, p)
		}
	}
	f.Close()
	// Deepest first, so parents we created become empty before we try them.
	slices.SortFunc(paths, func(a, b string) int {
		if len(a) != len(b) {
			return len(b) - len(a)
		}
		return strings.Compare(a, b)
	})
	paths = slices.Compact(paths)
	n := 0
	for _, p := range paths {
		if err := syscall.Rmdir(p); err == nil {
			n++
		} else if !errors.Is(err, syscall.ENOENT) && !errors.Is(err, syscall.ENOTEMPTY) && !errors.Is(err, syscall.EBUSY) {
			fmt.Fprintf(os.Stderr, "devcluster: rmdir %s: %v\n", p, err)
		}
	}
	_ = os.Remove(mountpointsFile(dir))
	return n
}

// ensureMountpoint creates a missing directory (and missing parents) for a bind mount and
// returns the directories it created, outermost first.
func ensureMountpoint(path string) ([]string, error) {
	var missing []string
	for p := filepath.Clean(path); p != "/"; p = filepath.Dir(p) {
		if _, err := os.Lstat(p); err == nil {
			break
		}
		missing = append(missing, p)
	}
	slices.Reverse(missing)
	for _, p := range missing {
		if err := os.Mkdir(p, 0o755); err != nil && !os.IsExist(err) {
			return nil, err
		}
	}
	return missing, nil
}
