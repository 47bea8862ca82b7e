package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"time"
)

// imageEntry is what an "image" means on a simulated node: a local command line. Pod `command`
// replaces Command and pod `args` replace Args, as with a container image's entrypoint and cmd.
type imageEntry struct {
	Command    []string          `json:"command"`
	Args       []string          `json:"args"`
	Env        map[string]string `json:"env"`
	WorkingDir string            `json:"workingDir"`
}

type imageTableFile struct {
	Images map[string]imageEntry `json:"images"`
}

// imageTable loads the table file and reloads it when it changes, so adding an entry needs no
// restart. ${REPO} and ${NODE} are expanded in the table's own strings, never in pod specs.
type imageTable struct {
	path, repo string
	mu         sync.Mutex
	mtime      time.Time
	size       int64
	images     map[string]imageEntry
	loadErr    error
}

var tableVar = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

func newImageTable(path, repo string) *imageTable { return &imageTable{path: path, repo: repo} }

// lookup returns the expanded entry for image, whether it is known, and an error when the table
// itself cannot be read.
func (t *imageTable) lookup(image string) (imageEntry, bool, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	st, err := os.Stat(t.path)
	if err != nil {
		return imageEntry{}, false, fmt.Errorf("image table %s: %w", t.path, err)
	}
	if t.images == nil || !st.ModTime().Equal(t.mtime) || st.Size() != t.size {
		t.mtime, t.size = st.ModTime(), st.Size()
		t.images, t.loadErr = loadImageTable(t.path, t.repo)
	}
	if t.loadErr != nil {
		return imageEntry{}, false, t.loadErr
	}
	e, ok := t.images[image]
	return e, ok, nil
}

func loadImageTable(path, repo string) (map[string]imageEntry, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("image table: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var f imageTableFile
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("image table %s: %w", path, err)
	}
	vars := map[string]string{
		"REPO": repo,
		"NODE": filepath.Join(repo, "node_modules", ".bin", "node"),
	}
	var bad error
	expand := func(s string) string {
		return tableVar.ReplaceAllStringFunc(s, func(m string) string {
			name := tableVar.FindStringSubmatch(m)[1]
			v, ok := vars[name]
			if !ok {
				bad = fmt.Errorf("image table %s: unknown variable ${%s} (known: ${REPO}, ${NODE})", path, name)
			}
			return v
		})
	}
	out := make(map[string]imageEntry, len(f.Images))
	for name, e := range f.Images {
		x := imageEntry{WorkingDir: expand(e.WorkingDir), Env: map[string]string{}}
		for _, c := range e.Command {
			x.Command = append(x.Command, expand(c))
		}
		for _, a := range e.Args {
			x.Args = append(x.Args, expand(a))
		}
		for k, v := range e.Env {
			x.Env[k] = expand(v)
		}
		out[name] = x
	}
	if bad != nil {
		return nil, bad
	}
	return out, nil
}
