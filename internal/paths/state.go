package paths

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"github.com/hushnet/hush/protocol/snapshot"
)

// stateVersion is the layout of the state file.
const stateVersion = 1

// state is the state file: public node keys and addresses only, so it
// needs no encryption, but it is written 0600 because guards, kept for
// months, are a fingerprint of the client.
type state struct {
	Version       int        `json:"version"`
	Guards        []HopInfo  `json:"guards"`
	Paths         []PathInfo `json:"paths"`
	ClockOffsetMs int64      `json:"clock_offset_ms"`
	BadNodes      []BadNode  `json:"bad_nodes,omitempty"`
}

func loadState(file string) (*state, error) {
	b, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		return &state{Version: stateVersion}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("paths: %w", err)
	}
	var st state
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("paths: state file %s: %w", file, err)
	}
	if st.Version != stateVersion {
		return nil, fmt.Errorf("paths: state file %s: unknown version %d", file, st.Version)
	}
	return &st, nil
}

// ReadReport returns the paths and bad nodes saved in a state file, for
// `hush path` in a process that sends nothing.
func ReadReport(file string) (Report, error) {
	st, err := loadState(file)
	if err != nil {
		return Report{}, err
	}
	return Report{Paths: st.Paths, BadNodes: st.BadNodes}, nil
}

// ReadPaths returns the paths saved in a state file.
func ReadPaths(file string) ([]PathInfo, error) {
	st, err := loadState(file)
	if err != nil {
		return nil, err
	}
	return st.Paths, nil
}

func (m *Manager) fromState(st *state) {
	for _, g := range st.Guards {
		m.guards = append(m.guards, g.Ed25519)
	}
	for _, p := range st.Paths {
		if len(p.Hops) != Relays {
			continue
		}
		q := &path{}
		for _, h := range p.Hops {
			q.nodes = append(q.nodes, snapshot.Node{Ed25519: h.Ed25519, Address: h.Address})
		}
		if p.LastOK != nil {
			q.lastOK = *p.LastOK
		}
		m.paths = append(m.paths, q)
	}
	m.bad = st.BadNodes
}

// save writes the state file atomically (write, sync, rename). Failing to
// save costs only a new guard selection on the next start, so errors are
// logged rather than returned.
func (m *Manager) save() {
	if m.opts.StateFile == "" {
		return
	}
	m.saveMu.Lock()
	defer m.saveMu.Unlock()
	off := m.ClockOffset()
	m.mu.Lock()
	st := state{Version: stateVersion, ClockOffsetMs: off.Milliseconds(), BadNodes: slices.Clone(m.bad)}
	for _, g := range m.guards {
		h := HopInfo{Ed25519: g}
		for _, p := range m.paths {
			if p.nodes[0].Ed25519 == g {
				h.Address = p.nodes[0].Address
			}
		}
		st.Guards = append(st.Guards, h)
	}
	m.savedAt, m.unsaved = m.opts.Clock(), false
	m.mu.Unlock()
	st.Paths = m.Paths()
	if err := writeFile(m.opts.StateFile, &st); err != nil {
		m.opts.Logger.Warn("could not save onion paths", "err", err)
	}
}

func writeFile(file string, st *state) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(file), ".paths-*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), file)
}

// Flush writes the state file if a request succeeded since the last write,
// so a short-lived command leaves `hush path` an accurate last_ok.
func (m *Manager) Flush() {
	m.mu.Lock()
	unsaved := m.unsaved
	m.mu.Unlock()
	if unsaved {
		m.save()
	}
}
