package netlookup

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestResolve(t *testing.T) {
	state := t.TempDir()
	devnetFile := filepath.Join(state, "hush", "devnet", DevnetFile)
	tests := []struct {
		name    string
		flag    string
		env     string
		devnet  bool // a default devnet's network file exists
		want    string
		wantErr error
	}{
		{name: "flag first", flag: "f.json", env: "e.json", devnet: true, want: "f.json"},
		{name: "then the environment", env: "e.json", devnet: true, want: "e.json"},
		{name: "then the default devnet", devnet: true, want: devnetFile},
		{name: "nothing", wantErr: ErrNoNetwork},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("XDG_STATE_HOME", state)
			t.Setenv(Env, tt.env)
			os.RemoveAll(filepath.Join(state, "hush"))
			if tt.devnet {
				os.MkdirAll(filepath.Dir(devnetFile), 0o700)
				if err := os.WriteFile(devnetFile, []byte("{}"), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			got, err := Resolve(tt.flag)
			if got != tt.want || !errors.Is(err, tt.wantErr) || (err != nil) != (tt.wantErr != nil) {
				t.Fatalf("Resolve(%q) = %q, %v; want %q, %v", tt.flag, got, err, tt.want, tt.wantErr)
			}
		})
	}
}
